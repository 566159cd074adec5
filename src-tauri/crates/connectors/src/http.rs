//! The one place requests go out: pacing, authentication, retries, redaction, tracing and the
//! reading of replies, shared by the four clients.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use schooldesk_domain::{strip_never_stored, Backoff, System};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::{Host, Url};

use crate::error::{ConnectorError, ReplyProblem};
use crate::pace::{Limiter, SharedPace};
use crate::redact::{blank_secret_params, Redactor, Secret};
use crate::routes::Route;

/// The largest API reply read. The biggest page any of the four systems sends is a few
/// MiB; anything past this is a broken or hostile server, and holding it would only eat the
/// memory of the office computer.
pub const MAX_REPLY_BYTES: usize = 32 << 20;

/// The largest document downloaded (enrollment attachments: scans, PDFs).
pub const MAX_DOWNLOAD_BYTES: usize = 64 << 20;

/// How far a failed request may be retried by the client itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Reads and idempotent writes: network trouble, 5xx and 429 are retried a few times.
    Safe,
    /// Writes that change state each time (PowerSchool `createbatch`): only a 429, which the
    /// server refused before doing anything, is retried.
    OnlyRateLimited,
}

#[derive(Debug)]
pub enum Body {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
}

/// How a request is authenticated.
pub enum Auth<'a> {
    None,
    Bearer(&'a Secret),
    /// HTTP Basic with the key as user name and an empty password (PowerSchool).
    BasicKey(&'a Secret),
    /// `api_key=` in the query (Matrix). Never logged.
    QueryKey(&'a Secret),
}

/// One request to make.
#[derive(Debug)]
pub struct Call {
    pub route: &'static str,
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Body,
    pub retry: Retry,
}

impl Call {
    pub fn new(route: &Route, path: String) -> Self {
        Call {
            route: route.name,
            method: route.method.as_reqwest(),
            path,
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::None,
            retry: if route.method.is_read() {
                Retry::Safe
            } else {
                Retry::OnlyRateLimited
            },
        }
    }

    pub fn query(mut self, name: &str, value: impl ToString) -> Self {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    pub fn query_opt(self, name: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(name, v),
            None => self,
        }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((HeaderName::from_static(name), v));
        }
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    pub fn form(mut self, fields: Vec<(String, String)>) -> Self {
        self.body = Body::Form(fields);
        self
    }

    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }
}

/// A reply read in full.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// A decoded item with the JSON it came from (never-stored fields removed).
#[derive(Debug, Clone, PartialEq)]
pub struct Item<T> {
    pub wire: T,
    pub raw: Value,
}

impl Reply {
    fn is_json(&self) -> bool {
        self.headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                let ct = ct.to_ascii_lowercase();
                ct.starts_with("application/json") || ct.contains("+json")
            })
    }

    /// The body as JSON, with never-stored fields removed before anything else sees it.
    pub fn json(&self, system: System) -> Result<Value, ConnectorError> {
        if !self.is_json() {
            let ct = self
                .headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none");
            return Err(ConnectorError::BadReply {
                system,
                kind: ReplyProblem::WrongContentType,
                detail: format!(
                    "expected application/json, got content type '{ct}' ({} bytes)",
                    self.body.len()
                ),
            });
        }
        let mut value: Value = serde_json::from_slice(&self.body).map_err(|e| {
            let kind = if e.is_eof() {
                ReplyProblem::Truncated
            } else {
                ReplyProblem::Malformed
            };
            ConnectorError::BadReply {
                system,
                kind,
                detail: format!("{e} ({} bytes)", self.body.len()),
            }
        })?;
        strip_never_stored(&mut value);
        Ok(value)
    }

    pub fn decode<T: DeserializeOwned>(&self, system: System) -> Result<T, ConnectorError> {
        from_value(system, self.json(system)?)
    }

    /// The error envelope's text, for error details (never the request).
    pub fn text_snippet(&self) -> String {
        let s = String::from_utf8_lossy(&self.body);
        let s = s.trim();
        if s.chars().count() > 300 {
            format!("{}…", s.chars().take(300).collect::<String>())
        } else {
            s.to_string()
        }
    }
}

/// Decodes a value with the path of the offending field in the error.
pub fn from_value<T: DeserializeOwned>(system: System, value: Value) -> Result<T, ConnectorError> {
    serde_path_to_error::deserialize(value).map_err(|e| ConnectorError::BadReply {
        system,
        kind: ReplyProblem::Malformed,
        detail: format!("at '{}': {}", e.path(), e.inner()),
    })
}

/// A record of a list that could not be decoded, reported instead of failing the list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Malformed {
    pub system: System,
    /// What kind of record it was (the wire type's name, e.g. `User`).
    pub record: String,
    /// Its id, when it has one that could be read.
    pub id: Option<String>,
    /// Where in the record the problem is (`birthdate`, `contacts[0].phone`).
    pub field: String,
    pub problem: String,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} {} was left out: '{}' {}",
            self.system.display_name(),
            self.record,
            self.id.as_deref().unwrap_or("(no readable id)"),
            self.field,
            self.problem
        )
    }
}

tokio::task_local! {
    static MALFORMED: Arc<std::sync::Mutex<Vec<Malformed>>>;
}

/// Runs `work` so that a malformed record in a list is left out and reported instead of
/// failing the whole list; returns what was left out. Outside such a scope (and in tasks
/// spawned from it) a malformed record fails its list, as before. The caller owns the
/// consequence: a record left out is not a record the system stopped returning, so nothing
/// may be removed for it (see [`malformed_so_far`]).
pub async fn collecting_malformed<F: std::future::Future>(work: F) -> (F::Output, Vec<Malformed>) {
    let sink = Arc::new(std::sync::Mutex::new(Vec::new()));
    let out = MALFORMED.scope(sink.clone(), work).await;
    let found = std::mem::take(&mut *sink.lock().unwrap_or_else(|e| e.into_inner()));
    (out, found)
}

/// The records left out so far in the current [`collecting_malformed`] scope (empty outside
/// one): removal code checks these before deleting a row the system seems to have dropped.
pub fn malformed_so_far() -> Vec<Malformed> {
    MALFORMED
        .try_with(|m| m.lock().unwrap_or_else(|e| e.into_inner()).clone())
        .unwrap_or_default()
}

/// The id of a raw record, under the names the four systems use.
fn raw_id(raw: &Value) -> Option<String> {
    ["id", "sourcedId", "user_id", "student_id", "pupil_id", "ID"]
        .iter()
        .find_map(|k| match raw.get(*k)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

fn short_type_name<T>() -> String {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base).to_string()
}

/// Decodes a JSON array into items, each keeping its own raw JSON. Inside a
/// [`collecting_malformed`] scope a record that does not decode is left out and reported
/// (system, id, field); elsewhere it fails the list.
pub fn items<T: DeserializeOwned>(
    system: System,
    value: Value,
) -> Result<Vec<Item<T>>, ConnectorError> {
    let Value::Array(list) = value else {
        return Err(ConnectorError::BadReply {
            system,
            kind: ReplyProblem::Malformed,
            detail: format!("expected a JSON array, got {}", kind_of(&value)),
        });
    };
    let sink = MALFORMED.try_with(Arc::clone).ok();
    let mut out = Vec::with_capacity(list.len());
    for (i, raw) in list.into_iter().enumerate() {
        match serde_path_to_error::deserialize(&raw) {
            Ok(wire) => out.push(Item { wire, raw }),
            Err(e) => {
                let report = Malformed {
                    system,
                    record: short_type_name::<T>(),
                    id: raw_id(&raw),
                    // A missing field is reported on the record itself ("."); its name is
                    // in the problem.
                    field: match e.path().to_string() {
                        p if p == "." => "(the record)".to_string(),
                        p => p,
                    },
                    problem: e.inner().to_string(),
                };
                let Some(sink) = &sink else {
                    return Err(ConnectorError::BadReply {
                        system,
                        kind: ReplyProblem::Malformed,
                        detail: format!(
                            "item {i} ({} {}) at '{}': {}",
                            report.record,
                            report.id.as_deref().unwrap_or("without a readable id"),
                            report.field,
                            report.problem
                        ),
                    });
                };
                tracing::warn!(
                    system = %system,
                    record = %report.record,
                    id = report.id.as_deref().unwrap_or("-"),
                    field = %report.field,
                    problem = %report.problem,
                    "a record could not be read and was left out"
                );
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(report);
            }
        }
    }
    Ok(out)
}

pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Whether `url` points at this computer (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Checks a base URL: HTTPS, or plain HTTP only to this computer (loopback).
pub fn check_base_url(system: System, base_url: &str) -> Result<Url, ConnectorError> {
    let shown = blank_secret_params(base_url);
    let url = Url::parse(base_url.trim()).map_err(|e| ConnectorError::Config {
        system,
        detail: format!("'{shown}' is not a web address ({e})"),
    })?;
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(ConnectorError::InsecureUrl { system, url: shown }),
        other => {
            return Err(ConnectorError::Config {
                system,
                detail: format!("'{shown}' uses '{other}'; the address must start with https://"),
            })
        }
    }
    if url.host().is_none() {
        return Err(ConnectorError::Config {
            system,
            detail: format!("'{shown}' has no host name"),
        });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConnectorError::Config {
            system,
            detail: "the address must not contain a user name or password".into(),
        });
    }
    Ok(url)
}

/// What one client shares with [`Http`]: where, how fast, which secrets to hide.
pub struct Http {
    pub system: System,
    client: reqwest::Client,
    /// `{base_url}{prefix}` without a trailing slash.
    base: String,
    /// The system's prefix (`/__api/v1`, `/api`), for receipts.
    prefix: String,
    pace: SharedPace,
    limiter: Limiter,
    redactor: Redactor,
    requests: Arc<AtomicU64>,
    max_retries: u32,
    backoff: Backoff,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("system", &self.system)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// How a system's error replies are turned into typed errors.
pub type Classify = fn(System, &Reply) -> Option<ConnectorError>;

impl Http {
    pub fn new(
        system: System,
        base: &Url,
        prefix: &str,
        pace: SharedPace,
        limiter: Limiter,
        redactor: Redactor,
        timeout: Duration,
    ) -> Result<Self, ConnectorError> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(15)))
            // A redirect could carry Matrix's key (in the query) to another host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Schooldesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConnectorError::Config {
                system,
                detail: format!("cannot set up HTTPS: {}", e.without_url()),
            })?;
        let base = format!(
            "{}{}",
            base.as_str().trim_end_matches('/'),
            prefix.trim_end_matches('/')
        );
        Ok(Http {
            system,
            client,
            base,
            prefix: prefix.trim_end_matches('/').to_string(),
            pace,
            limiter,
            redactor,
            requests: Arc::new(AtomicU64::new(0)),
            max_retries: 3,
            backoff: Backoff {
                base: Duration::from_secs(1),
                cap: Duration::from_secs(30),
            },
        })
    }

    pub fn pace(&self) -> &SharedPace {
        &self.pace
    }

    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Requests sent so far (every attempt counts, as the server counts them).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Sends `call`, pacing it, retrying what may be retried, and classifying failures.
    pub async fn send(
        &self,
        call: &Call,
        auth: Auth<'_>,
        classify: Classify,
    ) -> Result<Reply, ConnectorError> {
        let mut attempt = 0u32;
        loop {
            let ticket = self.limiter.acquire(self.pace.as_ref()).await;
            let result = self.once(call, &auth).await;
            let now = self.pace.now();
            self.limiter.finish(ticket, now);
            let result = result.and_then(|reply| {
                self.limiter.observe(now, &reply.headers);
                match classify(self.system, &reply) {
                    Some(ConnectorError::RateLimited { detail, .. }) => {
                        let hold = self.limiter.rate_limited(now, &reply.headers);
                        Err(ConnectorError::RateLimited {
                            system: self.system,
                            retry_after: Some(hold),
                            detail,
                        })
                    }
                    Some(err) => Err(err),
                    None => Ok(reply),
                }
            });
            let err = match result {
                Ok(reply) => return Ok(reply),
                Err(err) => err,
            };
            attempt += 1;
            let retry = match (&err, call.retry) {
                (ConnectorError::RateLimited { .. }, _) => true,
                (e, Retry::Safe) => e.is_retryable(),
                (_, Retry::OnlyRateLimited) => false,
            };
            if !retry || attempt > self.max_retries {
                tracing::warn!(
                    system = %self.system,
                    route = call.route,
                    attempts = attempt,
                    code = err.code(),
                    error = %err,
                    "request failed"
                );
                return Err(err);
            }
            if let ConnectorError::RateLimited { retry_after, .. } = &err {
                // The limiter already holds the next request until the server's time.
                tracing::warn!(
                    system = %self.system,
                    route = call.route,
                    wait_s = retry_after.map(|d| d.as_secs()),
                    "rate limited by the server; waiting as it asked"
                );
            } else {
                let wait = self.backoff.delay(attempt - 1, 0.5);
                tracing::info!(
                    system = %self.system,
                    route = call.route,
                    attempt,
                    wait_ms = wait.as_millis() as u64,
                    error = %err,
                    "retrying"
                );
                self.pace.sleep(wait).await;
            }
        }
    }

    async fn once(&self, call: &Call, auth: &Auth<'_>) -> Result<Reply, ConnectorError> {
        let url = format!("{}{}", self.base, call.path);
        let mut req = self.client.request(call.method.clone(), &url);
        if !call.query.is_empty() {
            req = req.query(&call.query);
        }
        req = match auth {
            Auth::None => req,
            Auth::Bearer(s) => req.bearer_auth(s.expose()),
            Auth::BasicKey(s) => req.basic_auth(s.expose(), Some("")),
            Auth::QueryKey(s) => req.query(&[("api_key", s.expose())]),
        };
        for (name, value) in &call.headers {
            req = req.header(name.clone(), value.clone());
        }
        req = match &call.body {
            Body::None => req,
            Body::Json(v) => req.json(v),
            Body::Form(fields) => req.form(fields),
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let response = req.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = self.read_capped(response, MAX_REPLY_BYTES, "reply").await?;
        tracing::debug!(
            system = %self.system,
            route = call.route,
            method = %call.method,
            path = %self.redactor.redact(&call.path),
            query = %self.redactor.redact(&query_for_log(&call.query)),
            status = status.as_u16(),
            bytes = body.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request"
        );
        if status.is_redirection() {
            return Err(ConnectorError::Redirected {
                system: self.system,
                status: status.as_u16(),
                to: redirect_target(&url, &headers),
            });
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Reads a body chunk by chunk, giving up (without holding more) once it passes `cap`.
    async fn read_capped(
        &self,
        mut response: reqwest::Response,
        cap: usize,
        what: &str,
    ) -> Result<Vec<u8>, ConnectorError> {
        let too_large = |seen: String| {
            ConnectorError::BadReply {
            system: self.system,
            kind: ReplyProblem::TooLarge,
            detail: format!(
                "the {what} is larger than {} MiB ({seen}), the most Schooldesk reads; it was not read",
                cap >> 20
            ),
        }
        };
        if let Some(len) = response.content_length().filter(|n| *n > cap as u64) {
            return Err(too_large(format!("{len} bytes announced")));
        }
        let mut body = Vec::new();
        loop {
            let chunk = response.chunk().await.map_err(|e| {
                let detail = self.describe(&e);
                if e.is_timeout() {
                    ConnectorError::Timeout {
                        system: self.system,
                        detail,
                        // The status line came back: the request was delivered.
                        sent: true,
                    }
                } else {
                    ConnectorError::BadReply {
                        system: self.system,
                        kind: ReplyProblem::Truncated,
                        detail: format!("the {what} stopped part-way: {detail}"),
                    }
                }
            })?;
            let Some(chunk) = chunk else {
                return Ok(body);
            };
            if body.len() + chunk.len() > cap {
                return Err(too_large(format!("more than {cap} bytes sent")));
            }
            body.extend_from_slice(&chunk);
        }
    }

    /// A transport error's text with the URL removed and secrets scrubbed.
    fn describe(&self, e: &reqwest::Error) -> String {
        // reqwest's own Display names the URL (and so Matrix's key): only its kind is kept.
        let mut text = without_url(e);
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        self.redactor.redact(&text)
    }

    fn transport_error(&self, e: reqwest::Error) -> ConnectorError {
        let detail = self.describe(&e);
        // Only a failure while connecting proves nothing was sent; anything later (a
        // connection dropped mid-request, a timeout waiting for the answer) may follow a
        // request the server received and acted on.
        let sent = !e.is_connect() && !never_started(&e);
        if e.is_timeout() {
            ConnectorError::Timeout {
                system: self.system,
                detail,
                sent,
            }
        } else {
            ConnectorError::Offline {
                system: self.system,
                detail,
                sent,
            }
        }
    }

    /// What `call` sends, for a receipt: method, route (prefix and path), query and body.
    /// Credentials never appear: they are added by [`Http::send`] and are not in a [`Call`].
    pub fn describe_call(&self, call: &Call) -> Value {
        let mut out = serde_json::Map::new();
        out.insert("method".into(), Value::from(call.method.as_str()));
        out.insert(
            "route".into(),
            Value::from(format!("{}{}", self.prefix, call.path)),
        );
        if !call.query.is_empty() {
            out.insert(
                "query".into(),
                Value::Array(
                    call.query
                        .iter()
                        .map(|(k, v)| serde_json::json!([k, self.redactor.redact(v)]))
                        .collect(),
                ),
            );
        }
        if !call.headers.is_empty() {
            out.insert(
                "headers".into(),
                call.headers
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_string(),
                            Value::from(v.to_str().unwrap_or("")),
                        )
                    })
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
            );
        }
        match &call.body {
            Body::None => {}
            Body::Json(v) => {
                out.insert("body".into(), v.clone());
            }
            Body::Form(fields) => {
                out.insert(
                    "body".into(),
                    fields
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::from(self.redactor.redact(v))))
                        .collect::<serde_json::Map<_, _>>()
                        .into(),
                );
            }
        }
        Value::Object(out)
    }

    /// `{base_url}{prefix}`, for messages.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Downloads a file from a signed link the system handed out (PowerSchool's document
    /// blobs): no credentials are sent, the link itself grants access. HTTPS only (or this
    /// computer). Returns the bytes and the content type.
    pub async fn download(&self, url: &str) -> Result<(Vec<u8>, Option<String>), ConnectorError> {
        let checked = check_base_url(self.system, url)?;
        let response = self
            .client
            .get(checked)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = self
            .read_capped(response, MAX_DOWNLOAD_BYTES, "file")
            .await?;
        match status.as_u16() {
            200..=299 => Ok((body, content_type)),
            // Signed links expire within minutes: ask for a fresh one.
            403 | 404 => Err(ConnectorError::NotFound {
                system: self.system,
                detail: format!("the download link answered {status} (expired or withdrawn)"),
            }),
            _ => Err(ConnectorError::Server {
                system: self.system,
                status: status.as_u16(),
                detail: format!("the download answered {status}"),
            }),
        }
    }
}

/// Whether the HTTP library gave up on the request before writing any of it: hyper reports
/// that case, and only that case, as "canceled" (a connection that closed while the request
/// still waited in its queue). The type is not reachable through reqwest, so its text is
/// matched; should it ever change, the error is merely treated as possibly sent.
fn never_started(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.to_string().starts_with("operation was canceled") {
            return true;
        }
        source = s.source();
    }
    false
}

/// The host a redirect points at (never its path or query, which may carry a token).
fn redirect_target(from: &str, headers: &HeaderMap) -> String {
    let Some(location) = headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
    else {
        return "an address it did not name".to_string();
    };
    let target = Url::parse(from)
        .ok()
        .and_then(|base| base.join(location.trim()).ok());
    match target.as_ref().and_then(Url::host_str) {
        Some(host) => host.to_string(),
        None => "an address Schooldesk could not read".to_string(),
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() {
        "error reading the reply body"
    } else if e.is_decode() {
        "error decoding the reply"
    } else if e.is_request() {
        "error sending the request"
    } else {
        "transport error"
    };
    kind.to_string()
}

fn query_for_log(query: &[(String, String)]) -> String {
    query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback() {
        for ok in [
            "https://sis.example.org",
            "http://127.0.0.1:8080",
            "http://127.5.0.1",
            "http://localhost:3000",
            "http://[::1]:9000",
        ] {
            assert!(check_base_url(System::OmniForge, ok).is_ok(), "{ok}");
        }
        for bad in ["http://sis.example.org", "http://10.0.0.2", "http://[::2]"] {
            let e = check_base_url(System::Matrix, bad).unwrap_err();
            assert_eq!(e.code(), "connector.insecure_url", "{bad}");
        }
        assert_eq!(
            check_base_url(System::Matrix, "ftp://x")
                .unwrap_err()
                .code(),
            "connector.config"
        );
        assert_eq!(
            check_base_url(System::Matrix, "https://u:p@x")
                .unwrap_err()
                .code(),
            "connector.config"
        );
    }

    #[test]
    fn replies_are_told_apart() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let truncated = Reply {
            status: StatusCode::OK,
            headers: headers.clone(),
            body: br#"{"data":[{"id":1},"#.to_vec(),
        };
        assert!(matches!(
            truncated.json(System::OmniForge),
            Err(ConnectorError::BadReply {
                kind: ReplyProblem::Truncated,
                ..
            })
        ));
        let malformed = Reply {
            body: b"{\"data\": nope}".to_vec(),
            ..truncated.clone()
        };
        assert!(matches!(
            malformed.json(System::OmniForge),
            Err(ConnectorError::BadReply {
                kind: ReplyProblem::Malformed,
                ..
            })
        ));
        let mut html = HeaderMap::new();
        html.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
        let page = Reply {
            status: StatusCode::OK,
            headers: html,
            body: b"<html>login</html>".to_vec(),
        };
        assert!(matches!(
            page.json(System::OmniForge),
            Err(ConnectorError::BadReply {
                kind: ReplyProblem::WrongContentType,
                ..
            })
        ));
        let with_secrets = Reply {
            body: br#"[{"id":1,"password":"p","ssn":"1","last_name":"X"}]"#.to_vec(),
            ..truncated
        };
        let v = with_secrets.json(System::Matrix).unwrap();
        assert_eq!(v, serde_json::json!([{"id":1,"last_name":"X"}]));
    }
}

#[cfg(test)]
mod malformed_tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Pupil {
        id: String,
        year: u8,
    }

    fn list() -> Value {
        serde_json::json!([
            {"id": "P1", "year": 7},
            {"id": "P2", "year": "seven"},
            {"year": 9},
            {"id": "P4", "year": 8}
        ])
    }

    #[tokio::test]
    async fn a_malformed_record_is_left_out_and_reported_inside_a_scope() {
        let (decoded, found) =
            collecting_malformed(async { items::<Pupil>(System::Hubmis, list()) }).await;
        let ids: Vec<_> = decoded.unwrap().into_iter().map(|i| i.wire.id).collect();
        assert_eq!(ids, ["P1", "P4"]);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].system, System::Hubmis);
        assert_eq!(found[0].record, "Pupil");
        assert_eq!(found[0].id.as_deref(), Some("P2"));
        assert_eq!(found[0].field, "year");
        assert_eq!(found[1].id, None);
        assert_eq!(found[1].field, "(the record)");
        assert!(
            found[1].problem.contains("missing field `id`"),
            "{:?}",
            found[1]
        );
        assert!(found[0].to_string().contains("P2"), "{}", found[0]);
    }

    #[test]
    fn outside_a_scope_a_malformed_record_fails_the_list_naming_it() {
        let err = items::<Pupil>(System::Hubmis, list())
            .unwrap_err()
            .to_string();
        assert!(err.contains("P2") && err.contains("'year'"), "{err}");
    }
}
