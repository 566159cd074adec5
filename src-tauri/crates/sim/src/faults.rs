//! PLACEHOLDER: fault injection and request recording.
use axum::Router;

use crate::{Shared, SystemKind};

#[derive(Clone, Debug, Default)]
pub struct Faults {}

pub fn wrap(router: Router, _shared: Shared, _system: SystemKind) -> Router {
    router
}
