//! Demo mode (being written by the lead).
