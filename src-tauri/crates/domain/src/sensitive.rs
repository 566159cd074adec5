use serde_json::Value;

/// Fields that must never be stored, logged or exported, wherever they appear in a payload
/// (Matrix user info carries both).
pub const NEVER_STORED: &[&str] = &["password", "ssn"];

/// Removes every never-stored field from a JSON value, at any depth.
pub fn strip_never_stored(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !NEVER_STORED.iter().any(|f| k.eq_ignore_ascii_case(f)));
            map.values_mut().for_each(strip_never_stored);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_never_stored),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strips_at_every_depth_and_keeps_the_rest() {
        let mut v = json!({"id": 1, "password": "x", "SSN": "123",
            "nested": [{"ssn": "9", "last_name": "Smith"}]});
        strip_never_stored(&mut v);
        assert_eq!(v, json!({"id": 1, "nested": [{"last_name": "Smith"}]}));
    }
}
