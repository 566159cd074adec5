//! PLACEHOLDER: the deterministic district generator.
#[derive(Debug, Clone, Default)]
pub struct District {}

pub fn generate(_seed: u64, _students: usize) -> District {
    District::default()
}
