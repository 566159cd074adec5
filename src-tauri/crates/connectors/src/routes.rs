//! Route templates. Each client keeps every route it uses in one const table (see its
//! `ROUTES`), so a district whose server differs is served by changing one place.

use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
}

impl Verb {
    pub fn as_reqwest(self) -> reqwest::Method {
        match self {
            Verb::Get => reqwest::Method::GET,
            Verb::Post => reqwest::Method::POST,
        }
    }

    pub fn is_read(self) -> bool {
        matches!(self, Verb::Get)
    }
}

/// One route: a name for logs, a method and a path template with `{name}` placeholders,
/// relative to the system's prefix (`/__api/v1`, `/api/v1`, `/api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub name: &'static str,
    pub method: Verb,
    pub path: &'static str,
}

impl Route {
    pub const fn get(name: &'static str, path: &'static str) -> Route {
        Route {
            name,
            method: Verb::Get,
            path,
        }
    }

    pub const fn post(name: &'static str, path: &'static str) -> Route {
        Route {
            name,
            method: Verb::Post,
            path,
        }
    }

    /// The path with each `{name}` replaced by its value, percent-encoded as a path segment.
    pub fn fill(&self, params: &[(&str, &str)]) -> String {
        let mut out = String::with_capacity(self.path.len() + 16);
        let mut rest = self.path;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            let key = &rest[open + 1..open + close];
            match params.iter().find(|(k, _)| *k == key) {
                Some((_, v)) => push_segment(&mut out, v),
                None => out.push_str(&rest[open..=open + close]),
            }
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        out
    }
}

fn push_segment(out: &mut String, value: &str) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_placeholders_and_encodes_values() {
        let r = Route::get("x", "/deliverytargets/{id}/getbatches/{date}{auto}");
        assert_eq!(
            r.fill(&[("id", "7"), ("date", "2026-09-01"), ("auto", "")]),
            "/deliverytargets/7/getbatches/2026-09-01"
        );
        let r = Route::get("x", "/persons/{id}");
        assert_eq!(r.fill(&[("id", "a/b c")]), "/persons/a%2Fb%20c");
    }
}
