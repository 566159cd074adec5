//! Keeping secrets out of every log line, error and trace.
//!
//! Two nets: the secrets a client holds are replaced wherever they appear (raw or URL-encoded),
//! and any `api_key=`, `client_secret=` or `access_token=` value is blanked even when the secret
//! is not one this client knows (a server echoing a URL back, for instance).

use std::fmt;
use zeroize::Zeroizing;

pub const REDACTED: &str = "[redacted]";

/// Query or form parameters whose value is a credential (`sig=` signs a download link).
const SECRET_PARAMS: &[&str] = &["api_key=", "client_secret=", "access_token=", "sig="];

/// A credential (API key, client secret, token). Never printed: `Debug` shows `[redacted]`.
#[derive(Clone, Default)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// The secret itself, for the one place that puts it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret::new(s)
    }
}

/// Scrubs the secrets of one client from any text before it is logged or kept in an error.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<Secret>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    pub fn new() -> Self {
        Redactor::default()
    }

    pub fn add(&mut self, secret: &Secret) {
        // Very short values would blank ordinary words; they are no secret worth the name.
        if secret.expose().len() >= 4 {
            self.secrets.push(secret.clone());
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = blank_secret_params(text);
        for s in &self.secrets {
            let raw = s.expose();
            out = out.replace(raw, REDACTED);
            let encoded: String = url::form_urlencoded::byte_serialize(raw.as_bytes()).collect();
            if encoded != raw {
                out = out.replace(&encoded, REDACTED);
            }
        }
        out
    }
}

/// Blanks the value of every secret-bearing query or form parameter.
pub fn blank_secret_params(text: &str) -> String {
    // ASCII lower-casing keeps byte offsets, so positions found in `lower` index `text`.
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let next = SECRET_PARAMS
            .iter()
            .filter_map(|p| lower[i..].find(p).map(|pos| (i + pos, p.len())))
            .min_by_key(|(start, _)| *start);
        let Some((start, len)) = next else {
            out.push_str(&text[i..]);
            break;
        };
        let value_at = start + len;
        out.push_str(&text[i..value_at]);
        let end = text[value_at..]
            .find(|c: char| matches!(c, '&' | '"' | '\'' | ')' | ';') || c.is_whitespace())
            .map_or(text.len(), |e| value_at + e);
        if end > value_at {
            out.push_str(REDACTED);
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_known_secrets_and_secret_parameters() {
        let mut r = Redactor::new();
        r.add(&Secret::new("23-34-d315a3421"));
        let text =
            "GET http://h/api/get_version?api_key=23-34-d315a3421&page=2 and again 23-34-d315a3421";
        let out = r.redact(text);
        assert!(!out.contains("d315a3421"), "{out}");
        assert!(out.contains("page=2"), "{out}");

        let other = blank_secret_params("x?API_KEY=zzz&client_secret=s3cr%2Bt&b=1");
        assert_eq!(other, "x?API_KEY=[redacted]&client_secret=[redacted]&b=1");
    }

    #[test]
    fn url_encoded_secrets_are_caught() {
        let mut r = Redactor::new();
        r.add(&Secret::new("a+b/c=d"));
        assert_eq!(r.redact("v=a%2Bb%2Fc%3Dd;"), "v=[redacted];");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let s = Secret::new("fsis_secret_abc");
        assert_eq!(format!("{s:?}"), "[redacted]");
    }
}
