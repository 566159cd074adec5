//! Cross-crate suites live in `tests/`; the real app's end-to-end test in `e2e/`.
