//! Every way talking to a school system can fail, each with a message an office worker can act
//! on, whether trying again can help, and the technical detail for IT.
//!
//! No variant ever holds a secret: details pass through [`crate::redact::Redactor`] and
//! transport errors are stripped of their URL before they get here.

use schooldesk_domain::System;
use std::time::Duration;

/// Why a system refused the credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthProblem {
    /// The key or secret is not one the system knows (or is mistyped).
    Unknown,
    /// The key does not have the shape the system expects.
    Malformed,
    /// An administrator revoked the key.
    Revoked,
    /// The key passed its expiry date.
    Expired,
    /// A token expired again right after being renewed.
    TokenRejected,
}

/// Why a reply could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyProblem {
    /// Not the JSON shape the document describes.
    Malformed,
    /// The reply stopped part-way.
    Truncated,
    /// Not JSON at all (an HTML error page, a proxy's login page, …).
    WrongContentType,
    /// Larger than Schooldesk reads ([`crate::http::MAX_REPLY_BYTES`]).
    TooLarge,
}

/// How the outbox must treat a write whose send failed.
///
/// | error | disposition |
/// |---|---|
/// | `Validation` (OmniForge 422/400, PowerSchool `{"status":"Error"}`, Matrix 400), `NotFound` (404, a reset of an unknown batch), `Conflict`, `Unsupported` | `Refused` |
/// | `RateLimited` (429, Matrix lockout), `Server` 503, `Offline`/`Timeout` while connecting | `Retry { uncertain: false }` |
/// | `Server` other 5xx, `Offline`/`Timeout` after the request went out, `BadReply` truncated, malformed or too large | `Retry { uncertain: true }` |
/// | `Auth` (401, PowerSchool's 500 "not authorized"), `Forbidden`, `Redirected` (any 3xx), `BadReply` not JSON (a proxy's page), `Config`, `InsecureUrl` | `NeedsAttention` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// The system refused the data for good: the entry fails, with the server's reasons
    /// ([`ConnectorError::user_message`]); a person corrects it and retries, or discards it.
    Refused,
    /// Try again later. `uncertain`: the request may have reached the system and been
    /// applied, so the next attempt settles it (a read) before sending again.
    Retry { uncertain: bool },
    /// The system (not the write) needs attention: credentials, permission, a network that
    /// redirects or answers with something that is not the system, bad settings. Entries are
    /// held until `connect` fixes it. These answers come from before the system accepted
    /// the request, so nothing was applied.
    NeedsAttention,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("{system}: credentials refused ({problem:?}): {detail}")]
    Auth {
        system: System,
        problem: AuthProblem,
        detail: String,
    },
    #[error("{system}: access forbidden: {detail}")]
    Forbidden {
        system: System,
        /// The key works but its scopes (or the caller's IP) do not cover this request.
        ip_not_allowed: bool,
        detail: String,
    },
    #[error("{system}: rate limited (retry after {retry_after:?}): {detail}")]
    RateLimited {
        system: System,
        retry_after: Option<Duration>,
        detail: String,
    },
    #[error("{system}: server error {status}: {detail}")]
    Server {
        system: System,
        status: u16,
        detail: String,
    },
    #[error("{system}: cannot reach the server: {detail}")]
    Offline {
        system: System,
        detail: String,
        /// The request may have gone out before the connection failed (it was not refused
        /// while connecting), so a write may have been applied.
        sent: bool,
    },
    #[error("{system}: no reply in time: {detail}")]
    Timeout {
        system: System,
        detail: String,
        /// As for `Offline`: the request may have reached the server.
        sent: bool,
    },
    /// The network answered with a redirect instead of the system (a hotel or guest wifi
    /// sign-in page, a proxy). Never followed: it could carry a key to another host.
    #[error("{system}: the server answered {status}, a redirect to {to}")]
    Redirected {
        system: System,
        status: u16,
        /// The host the redirect points at, or a phrase when it names none.
        to: String,
    },
    #[error("{system}: unreadable reply ({kind:?}): {detail}")]
    BadReply {
        system: System,
        kind: ReplyProblem,
        detail: String,
    },
    #[error("{system}: not found: {detail}")]
    NotFound { system: System, detail: String },
    #[error("{system}: conflict: {detail}")]
    Conflict { system: System, detail: String },
    #[error("{system}: refused as invalid: {}", messages.join("; "))]
    Validation {
        system: System,
        messages: Vec<String>,
    },
    #[error("{system}: '{url}' is not HTTPS; only HTTPS (or this computer's loopback address) is allowed")]
    InsecureUrl { system: System, url: String },
    #[error("{system}: connection settings are incomplete or wrong: {detail}")]
    Config { system: System, detail: String },
    #[error("{system}: {operation} is not something this system accepts")]
    Unsupported { system: System, operation: String },
}

impl ConnectorError {
    pub fn system(&self) -> System {
        use ConnectorError::*;
        match self {
            Auth { system, .. }
            | Forbidden { system, .. }
            | RateLimited { system, .. }
            | Server { system, .. }
            | Offline { system, .. }
            | Timeout { system, .. }
            | Redirected { system, .. }
            | BadReply { system, .. }
            | NotFound { system, .. }
            | Conflict { system, .. }
            | Validation { system, .. }
            | InsecureUrl { system, .. }
            | Config { system, .. }
            | Unsupported { system, .. } => *system,
        }
    }

    /// A stable code for the UI and the CLI's exit handling (never matched on as text).
    pub fn code(&self) -> &'static str {
        use ConnectorError::*;
        match self {
            Auth { .. } => "connector.auth",
            Forbidden { .. } => "connector.forbidden",
            RateLimited { .. } => "connector.rate_limited",
            Server { .. } => "connector.server",
            Offline { .. } => "connector.offline",
            Timeout { .. } => "connector.timeout",
            Redirected { .. } => "connector.redirect",
            BadReply { .. } => "connector.bad_reply",
            NotFound { .. } => "connector.not_found",
            Conflict { .. } => "connector.conflict",
            Validation { .. } => "connector.validation",
            InsecureUrl { .. } => "connector.insecure_url",
            Config { .. } => "connector.config",
            Unsupported { .. } => "connector.unsupported",
        }
    }

    /// Retrying the same request later can succeed (the network, the server or a rate limit).
    pub fn is_retryable(&self) -> bool {
        use ConnectorError::*;
        matches!(
            self,
            RateLimited { .. } | Server { .. } | Offline { .. } | Timeout { .. }
        ) || matches!(
            self,
            BadReply {
                kind: ReplyProblem::Truncated,
                ..
            }
        )
    }

    /// How the outbox treats a write that failed with this error (see [`Disposition`]).
    pub fn disposition(&self) -> Disposition {
        use ConnectorError::*;
        match self {
            Validation { .. } | NotFound { .. } | Conflict { .. } | Unsupported { .. } => {
                Disposition::Refused
            }
            // Refused before anything was done: a 429, or a 503 (the server, or a gateway in
            // front of it, turning requests away).
            RateLimited { .. } => Disposition::Retry { uncertain: false },
            Server { status: 503, .. } => Disposition::Retry { uncertain: false },
            // A 500, 502 or 504 can come after the system did the work.
            Server { .. } => Disposition::Retry { uncertain: true },
            Offline { sent, .. } | Timeout { sent, .. } => Disposition::Retry { uncertain: *sent },
            BadReply {
                kind: ReplyProblem::WrongContentType,
                ..
            } => Disposition::NeedsAttention,
            // The system answered (so it may have done the work) but the answer is unusable.
            BadReply { .. } => Disposition::Retry { uncertain: true },
            Auth { .. }
            | Forbidden { .. }
            | Redirected { .. }
            | InsecureUrl { .. }
            | Config { .. } => Disposition::NeedsAttention,
        }
    }

    /// Nothing changes until a person acts (new key, fixed data, fixed settings).
    pub fn is_permanent(&self) -> bool {
        !self.is_retryable()
    }

    /// The technical detail for IT (no secrets).
    pub fn technical_detail(&self) -> String {
        self.to_string()
    }

    /// What the person at the desk should read, and what to do next.
    pub fn user_message(&self) -> String {
        use ConnectorError::*;
        let name = self.system().display_name();
        match self {
            Auth { problem, .. } => match problem {
                AuthProblem::Revoked => format!(
                    "{name} says this API key was revoked — ask your district administrator for a new one, then enter it in Settings."
                ),
                AuthProblem::Expired => format!(
                    "{name} says this API key has expired — ask your district administrator for a new one, then enter it in Settings."
                ),
                AuthProblem::Malformed => format!(
                    "The {name} key entered does not look like a {name} key — check it was copied in full, then enter it again in Settings."
                ),
                AuthProblem::Unknown => format!(
                    "{name} does not recognise these credentials — check the key (or client ID and secret) in Settings, or ask your administrator for new ones."
                ),
                AuthProblem::TokenRejected => format!(
                    "{name} refused a freshly issued sign-in token — ask your administrator to check this connection's access."
                ),
            },
            Forbidden {
                ip_not_allowed: true,
                ..
            } => format!(
                "{name} does not accept requests from this network — ask your district administrator to allow this school's internet address for the key."
            ),
            Forbidden { .. } => format!(
                "This {name} key is not allowed to do this — ask your district administrator to add the missing permission to the key."
            ),
            RateLimited { retry_after, .. } => match retry_after {
                Some(d) => format!(
                    "{name} asked Schooldesk to slow down; it will carry on by itself in about {} s.",
                    d.as_secs().max(1)
                ),
                None => format!("{name} asked Schooldesk to slow down; it will carry on by itself shortly."),
            },
            Server { .. } => format!(
                "{name} had a problem on its side. Nothing was lost; Schooldesk will try again later. If it keeps happening, tell IT."
            ),
            Offline { .. } => format!(
                "Schooldesk cannot reach {name} — check the internet connection. Your work is kept and will be sent when it is back."
            ),
            Timeout { .. } => format!(
                "{name} is taking too long to answer. Schooldesk will try again later."
            ),
            Redirected { to, .. } => format!(
                "{name} answered with a redirect to {to} — this network may need a sign-in page (hotel or guest wifi). Open any web page to sign in, then connect again; if this is the school network, check the {name} address in Settings. Your work is kept."
            ),
            BadReply {
                kind: ReplyProblem::TooLarge,
                ..
            } => format!(
                "{name} sent a reply far larger than any it should, so Schooldesk did not read it and nothing was changed. Tell IT (the details are in the log)."
            ),
            BadReply { .. } => format!(
                "{name} sent a reply Schooldesk could not read, so nothing was changed. Try again later; if it keeps happening, tell IT (the details are in the log)."
            ),
            NotFound { .. } => format!(
                "{name} no longer has this item — it may have been deleted there. Sync again to refresh the list."
            ),
            Conflict { .. } => format!(
                "Someone changed this in {name} at the same time. Review both versions and choose which to keep."
            ),
            Validation { messages, .. } => format!(
                "{name} refused the change: {}. Correct it and try again.",
                messages
                    .iter()
                    .map(|m| m.trim().trim_end_matches('.'))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            InsecureUrl { .. } => format!(
                "The {name} address must start with https:// — correct it in Settings."
            ),
            Config { detail, .. } => format!(
                "The {name} connection settings need attention: {detail}."
            ),
            Unsupported { .. } => format!(
                "{name} does not accept changes from other programs; Schooldesk keeps them here and can export them."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_reads_as_one_sentence_whatever_the_systems_punctuation() {
        // REGRESSION: PowerSchool ends its reasons with a full stop, which read as
        // "…MM/DD/YYYY format.. Correct it and try again."
        let e = ConnectorError::Validation {
            system: System::PowerSchool,
            messages: vec![
                "stu_DateOfBirth must be a date in MM/DD/YYYY format.".into(),
                "Field 'stu_Grade' is required.".into(),
            ],
        };
        assert_eq!(
            e.user_message(),
            "PowerSchool Enrollment refused the change: stu_DateOfBirth must be a date in \
             MM/DD/YYYY format; Field 'stu_Grade' is required. Correct it and try again."
        );
    }
}
