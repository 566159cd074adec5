//! PLACEHOLDER: replaced by the simulator of this system.
use axum::Router;
use std::sync::Arc;

use crate::{District, Shared};

#[derive(Clone, Debug, Default)]
pub struct Config {}

/// Test controls for this simulator.
#[derive(Clone, Debug, Default)]
pub struct Admin {}

pub fn build(_shared: Shared, _district: Arc<District>, _config: Config) -> (Router, Admin) {
    (Router::new(), Admin::default())
}
