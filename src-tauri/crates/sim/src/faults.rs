//! Fault injection and request recording, shared by the four simulators.
//!
//! Every request passes through [`wrap`]'s middleware, which records it (with the status it
//! got, and the fault injected if any) and then, in this order: waits the configured latency,
//! drops the connection when the simulators are offline, answers as a captive portal or proxy
//! when one is switched on, answers a pending one-shot failure, applies a pending one-shot
//! write fault (dropped connection or lost reply), and finally draws from a seeded generator
//! whether this request gets a 503, a dropped connection or a lost reply (so a run is
//! repeatable).
//!
//! "Offline", "dropped" and "lost reply" all mean a transport error for the client, never an
//! HTTP status: new connections are closed as soon as they are accepted (offline only), and a
//! request arriving on an open connection is answered by closing that connection without a
//! response. That needs the connection loop in [`serve`], which the simulators use instead of
//! `axum::serve`. A dropped connection never reaches the handler; a lost reply runs the handler
//! to the end (the write is applied and recorded) and only then closes the connection, which is
//! the uncertain outcome a client cannot tell from a dropped one.
//!
//! Dropped connections and lost replies only ever hit writes ([`is_write`]); the 503 rate hits
//! every request unless restricted with [`Faults::set_error_scope`].

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::{RequestRecord, Shared, SystemKind};

/// Matrix changes state through GET functions; these are the ones that do.
pub const MATRIX_WRITE_FUNCTIONS: [&str; 4] = [
    "update_user",
    "add_students_to_class",
    "remove_students_from_class",
    "set_grades_for_assignment",
];

/// Whether a request asks `system` to change state: any request other than GET/HEAD/OPTIONS,
/// plus Matrix's write functions (which are GETs). HUBmis is read-only: its one POST asks for
/// a token and changes nothing, so it is not a write.
pub fn is_write(system: SystemKind, method: &Method, path: &str) -> bool {
    match system {
        SystemKind::Matrix => {
            !is_read_method(method)
                || path
                    .strip_prefix("/api/")
                    .is_some_and(|f| MATRIX_WRITE_FUNCTIONS.contains(&f))
        }
        SystemKind::Hubmis => false,
        SystemKind::OmniForge | SystemKind::PowerSchool => !is_read_method(method),
    }
}

fn is_read_method(method: &Method) -> bool {
    [Method::GET, Method::HEAD, Method::OPTIONS].contains(method)
}

/// The fault switches every simulator obeys. Cloning shares the switches.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    inner: Arc<Mutex<FaultState>>,
}

/// Which requests the 503 rate applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultScope {
    /// Every request (the default).
    #[default]
    All,
    /// Writes only ([`is_write`]); reads are never failed by the rate.
    Writes,
}

/// What stands between the desk and a system when a portal is switched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Portal {
    /// Hotel or captive-portal wifi: every request is answered `302 Found` with
    /// `Location: http://127.0.0.1:<port>/login` (this simulator's port), and `GET /login`
    /// serves the portal's HTML login page, so a client that follows the redirect lands on
    /// HTML instead of JSON.
    Redirect,
    /// A proxy or portal answering in its own name: every request gets `200` with
    /// `Content-Type: text/html` and a small login page.
    LoginPage,
}

/// A fault the middleware injected into one request, kept on its [`RequestRecord`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fault {
    /// Closed by the offline switch; the handler did not run.
    Offline,
    /// Answered with an injected status (the error rate or [`Faults::fail_next`]).
    Failed,
    /// A write whose connection was closed before the handler ran: nothing applied.
    Dropped,
    /// A write whose handler ran (its status is `unsent`) and whose connection was then
    /// closed without the reply.
    LostReply { unsent: u16 },
    /// Answered by the captive portal or proxy; the handler did not run.
    Portal,
}

/// How many faults were injected (since start or [`Faults::reset_counts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct FaultCounts {
    /// Injected error statuses (the error rate and [`Faults::fail_next`]).
    pub failed: u64,
    /// Writes whose connection was closed before the handler ran.
    pub dropped: u64,
    /// Writes whose handler ran and whose reply was then lost.
    pub lost_replies: u64,
    /// Requests answered by a captive portal or proxy.
    pub portal: u64,
}

impl FaultCounts {
    fn add(&mut self, other: &FaultCounts) {
        self.failed += other.failed;
        self.dropped += other.dropped;
        self.lost_replies += other.lost_replies;
        self.portal += other.portal;
    }
}

#[derive(Debug)]
struct FaultState {
    error_rate: f64,
    error_scope: FaultScope,
    drop_rate: f64,
    lost_reply_rate: f64,
    latency: Duration,
    offline: bool,
    portal: [Option<Portal>; 4],
    one_shots: Vec<OneShot>,
    write_one_shots: Vec<WriteOneShot>,
    /// One stream per system, so systems served concurrently do not disturb each other's
    /// sequence: the same requests to one system meet the same faults, run after run.
    rngs: [ChaCha8Rng; 4],
    counts: [FaultCounts; 4],
}

impl Default for FaultState {
    fn default() -> Self {
        FaultState {
            error_rate: 0.0,
            error_scope: FaultScope::All,
            drop_rate: 0.0,
            lost_reply_rate: 0.0,
            latency: Duration::ZERO,
            offline: false,
            portal: [None; 4],
            one_shots: Vec::new(),
            write_one_shots: Vec::new(),
            rngs: streams(0),
            counts: [FaultCounts::default(); 4],
        }
    }
}

fn streams(seed: u64) -> [ChaCha8Rng; 4] {
    std::array::from_fn(|i| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(i as u64);
        rng
    })
}

fn slot(system: SystemKind) -> usize {
    match system {
        SystemKind::OmniForge => 0,
        SystemKind::PowerSchool => 1,
        SystemKind::Matrix => 2,
        SystemKind::Hubmis => 3,
    }
}

/// A failure armed for the next matching request only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneShot {
    /// `None` matches every system.
    pub system: Option<SystemKind>,
    /// `None` matches every path; otherwise the request path must start with it.
    pub path_prefix: Option<String>,
    pub status: u16,
}

/// What a one-shot write fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteFault {
    /// Close the connection before the handler runs.
    Drop,
    /// Run the handler, then close the connection without the reply.
    LoseReply,
}

/// A write fault armed for the next matching write only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOneShot {
    /// `None` matches every system.
    pub system: Option<SystemKind>,
    /// `None` matches every path; otherwise the request path must start with it
    /// (for Matrix, e.g. `/api/set_grades_for_assignment`).
    pub path_prefix: Option<String>,
    pub fault: WriteFault,
}

/// What the fault switches decide for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Serve,
    Offline,
    Drop,
    LoseReply,
    Fail(u16),
    Portal(Portal),
}

fn matches(system: SystemKind, path: &str, want: Option<SystemKind>, prefix: Option<&str>) -> bool {
    want.is_none_or(|k| k == system) && prefix.is_none_or(|p| path.starts_with(p))
}

impl Faults {
    /// That fraction (0.0–1.0) of requests answers 503 (of writes only, once
    /// [`Faults::set_error_scope`] says so).
    pub fn set_error_rate(&self, rate: f64) {
        self.lock().error_rate = clamp(rate);
    }

    /// Which requests the 503 rate applies to; [`FaultScope::All`] until changed.
    pub fn set_error_scope(&self, scope: FaultScope) {
        self.lock().error_scope = scope;
    }

    /// That fraction (0.0–1.0) of writes has its connection closed before the handler runs:
    /// nothing is applied and the client gets a transport error.
    pub fn set_drop_rate(&self, rate: f64) {
        self.lock().drop_rate = clamp(rate);
    }

    /// That fraction (0.0–1.0) of writes is applied (handler run, write recorded) and then its
    /// connection is closed without the reply: the client gets a transport error after sending.
    pub fn set_lost_reply_rate(&self, rate: f64) {
        self.lock().lost_reply_rate = clamp(rate);
    }

    /// Every request waits this long (real time) before it is answered.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Offline: connections are closed without an answer until set back to `false`.
    pub fn set_offline(&self, offline: bool) {
        self.lock().offline = offline;
    }

    pub fn is_offline(&self) -> bool {
        self.lock().offline
    }

    /// Puts a captive portal or proxy in front of every system (`None` takes it away).
    pub fn set_portal(&self, portal: Option<Portal>) {
        self.lock().portal = [portal; 4];
    }

    /// Puts a captive portal or proxy in front of one system only (`None` takes it away).
    pub fn set_portal_for(&self, system: SystemKind, portal: Option<Portal>) {
        self.lock().portal[slot(system)] = portal;
    }

    pub fn portal(&self, system: SystemKind) -> Option<Portal> {
        self.lock().portal[slot(system)]
    }

    /// The next request matching `system` and `path_prefix` answers `status` (once).
    pub fn fail_next(&self, system: Option<SystemKind>, path_prefix: Option<String>, status: u16) {
        self.lock().one_shots.push(OneShot {
            system,
            path_prefix,
            status,
        });
    }

    /// The next write matching `system` and `path_prefix` is applied and its reply lost (once).
    pub fn lose_next_reply(&self, system: Option<SystemKind>, path_prefix: Option<String>) {
        self.lock().write_one_shots.push(WriteOneShot {
            system,
            path_prefix,
            fault: WriteFault::LoseReply,
        });
    }

    /// The next write matching `system` and `path_prefix` has its connection closed before
    /// anything is applied (once).
    pub fn drop_next(&self, system: Option<SystemKind>, path_prefix: Option<String>) {
        self.lock().write_one_shots.push(WriteOneShot {
            system,
            path_prefix,
            fault: WriteFault::Drop,
        });
    }

    /// Failures armed with [`Faults::fail_next`] that no request has used yet.
    pub fn pending_one_shots(&self) -> Vec<OneShot> {
        self.lock().one_shots.clone()
    }

    /// Write faults armed with [`Faults::lose_next_reply`] or [`Faults::drop_next`] that no
    /// write has used yet.
    pub fn pending_write_one_shots(&self) -> Vec<WriteOneShot> {
        self.lock().write_one_shots.clone()
    }

    /// Reseeds the generator behind the rates, so a run's faults repeat exactly: the same
    /// sequence of requests to a system meets the same faults.
    pub fn seed(&self, seed: u64) {
        self.lock().rngs = streams(seed);
    }

    /// Faults injected so far, all systems together.
    pub fn counts(&self) -> FaultCounts {
        let s = self.lock();
        let mut total = FaultCounts::default();
        for c in &s.counts {
            total.add(c);
        }
        total
    }

    /// Faults injected so far into one system's requests.
    pub fn counts_for(&self, system: SystemKind) -> FaultCounts {
        self.lock().counts[slot(system)]
    }

    /// Replies lost after the write was applied, all systems together.
    pub fn lost_replies(&self) -> u64 {
        self.counts().lost_replies
    }

    /// Write connections closed before anything was applied, all systems together.
    pub fn dropped_connections(&self) -> u64 {
        self.counts().dropped
    }

    pub fn reset_counts(&self) {
        self.lock().counts = [FaultCounts::default(); 4];
    }

    /// Back to no faults at all (the generator keeps its position, the counts are kept).
    pub fn clear(&self) {
        let mut s = self.lock();
        s.error_rate = 0.0;
        s.error_scope = FaultScope::All;
        s.drop_rate = 0.0;
        s.lost_reply_rate = 0.0;
        s.latency = Duration::ZERO;
        s.offline = false;
        s.portal = [None; 4];
        s.one_shots.clear();
        s.write_one_shots.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        // A panic elsewhere must not take fault injection down with it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn latency(&self) -> Duration {
        self.lock().latency
    }

    fn verdict(&self, system: SystemKind, method: &Method, path: &str) -> Verdict {
        let mut s = self.lock();
        if s.offline {
            return Verdict::Offline;
        }
        let i = slot(system);
        let verdict = s.decide(system, method, path);
        let c = &mut s.counts[i];
        match verdict {
            Verdict::Fail(_) => c.failed += 1,
            Verdict::Drop => c.dropped += 1,
            // Counted once the handler has run; see `note_lost_reply`.
            Verdict::LoseReply | Verdict::Serve | Verdict::Offline => {}
            Verdict::Portal(_) => c.portal += 1,
        }
        verdict
    }

    fn note_lost_reply(&self, system: SystemKind) {
        self.lock().counts[slot(system)].lost_replies += 1;
    }
}

impl FaultState {
    fn decide(&mut self, system: SystemKind, method: &Method, path: &str) -> Verdict {
        if let Some(p) = self.portal[slot(system)] {
            return Verdict::Portal(p);
        }
        let hit = self
            .one_shots
            .iter()
            .position(|o| matches(system, path, o.system, o.path_prefix.as_deref()));
        if let Some(i) = hit {
            return Verdict::Fail(self.one_shots.remove(i).status);
        }
        let write = is_write(system, method, path);
        if write {
            let hit = self
                .write_one_shots
                .iter()
                .position(|o| matches(system, path, o.system, o.path_prefix.as_deref()));
            if let Some(i) = hit {
                return match self.write_one_shots.remove(i).fault {
                    WriteFault::Drop => Verdict::Drop,
                    WriteFault::LoseReply => Verdict::LoseReply,
                };
            }
        }
        // One draw per request that any rate applies to, split into consecutive bands, so each
        // rate is the fraction of such requests it hits (bands past 1.0 are cut, lost replies
        // first) and a request's fate depends only on its place in its system's sequence.
        let error = if write || self.error_scope == FaultScope::All {
            self.error_rate
        } else {
            0.0
        };
        let (dropped, lost) = if write {
            (self.drop_rate, self.lost_reply_rate)
        } else {
            (0.0, 0.0)
        };
        if error + dropped + lost <= 0.0 {
            return Verdict::Serve;
        }
        let u: f64 = self.rngs[slot(system)].gen();
        if u < error {
            Verdict::Fail(503)
        } else if u < error + dropped {
            Verdict::Drop
        } else if u < error + dropped + lost {
            Verdict::LoseReply
        } else {
            Verdict::Serve
        }
    }
}

fn clamp(rate: f64) -> f64 {
    if rate.is_nan() {
        0.0
    } else {
        rate.clamp(0.0, 1.0)
    }
}

/// Marks a response that must not be sent: the connection is closed instead.
#[derive(Debug, Clone, Copy)]
struct DropConnection;

/// Applies the fault switches to `router` (served on 127.0.0.1:`port`, which a captive
/// portal redirects to) and records every request it serves.
pub fn wrap(router: Router, shared: Shared, system: SystemKind, port: u16) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        (shared, system, port),
        apply,
    ))
}

async fn apply(
    State((shared, system, port)): State<(Shared, SystemKind, u16)>,
    req: Request,
    next: Next,
) -> Response {
    let at = shared.clock.now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let headers = lower_cased(req.headers());

    let latency = shared.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    // 0 as a status: none was sent, the connection was closed.
    let (response, status, fault) = match shared.faults.verdict(system, &method, &path) {
        Verdict::Offline => (dropped(), 0, Some(Fault::Offline)),
        Verdict::Drop => (dropped(), 0, Some(Fault::Dropped)),
        Verdict::Fail(code) => {
            let r = failure(system, code);
            let s = r.status().as_u16();
            (r, s, Some(Fault::Failed))
        }
        Verdict::Portal(p) => {
            let r = portal(p, &method, &path, port);
            let s = r.status().as_u16();
            (r, s, Some(Fault::Portal))
        }
        Verdict::LoseReply => {
            // The handler runs to the end, so the write is applied and recorded before the
            // connection is closed on the client.
            let unsent = next.run(req).await.status().as_u16();
            shared.faults.note_lost_reply(system);
            (dropped(), 0, Some(Fault::LostReply { unsent }))
        }
        Verdict::Serve => {
            let r = next.run(req).await;
            let s = r.status().as_u16();
            (r, s, None)
        }
    };
    shared.recorder.request(RequestRecord {
        system,
        method: method.to_string(),
        path,
        query,
        headers,
        status,
        fault,
        at,
    });
    response
}

/// A response that is never sent: [`serve`] closes the connection instead.
fn dropped() -> Response {
    let mut r = Response::new(Body::empty());
    r.extensions_mut().insert(DropConnection);
    r
}

const LOGIN_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Sign in to continue</title></head>\n\
<body><h1>Welcome to Guest Wi-Fi</h1><p>Please sign in to use the internet.</p>\n\
<form method=\"post\" action=\"/login\"><input name=\"room\" placeholder=\"Room number\">\
<input name=\"surname\" placeholder=\"Surname\"><button>Connect</button></form></body></html>\n";

/// What a captive portal or proxy answers in place of the system.
fn portal(mode: Portal, method: &Method, path: &str, port: u16) -> Response {
    let page = || {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            LOGIN_PAGE,
        )
            .into_response()
    };
    match mode {
        Portal::LoginPage => page(),
        // The portal's own page, so a client following the redirect gets HTML, not a loop.
        Portal::Redirect if *method == Method::GET && path == "/login" => page(),
        Portal::Redirect => {
            let mut r =
                (StatusCode::FOUND, [(header::CONTENT_TYPE, "text/html")], "").into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("http://127.0.0.1:{port}/login")) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
    }
}

fn lower_cased(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        out.entry(name.as_str().to_ascii_lowercase())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    out
}

/// An injected failure in the system's own error shape.
fn failure(system: SystemKind, code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let reason = status.canonical_reason().unwrap_or("Injected failure");
    let body = match system {
        SystemKind::OmniForge => json!({"error": {
            "code": "service.unavailable",
            "message": reason,
            "traceId": "cor_injected",
        }}),
        _ => json!({ "message": reason }),
    };
    (status, Json(body)).into_response()
}

#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
struct Dropped;

/// Serves `app` on `listener` until `stopped` turns true, obeying the offline switch at
/// the connection level and closing a connection wherever the middleware withholds a
/// response (see the module comment). Handlers may extract
/// `ConnectInfo<SocketAddr>`.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    faults: Faults,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stopped.wait_for(|s| *s) => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, remote) = match accepted {
            Ok(x) => x,
            // Out of file descriptors and the like: back off briefly rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        if faults.is_offline() {
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(ConnectInfo::<SocketAddr>(remote));
                    let app = app.clone();
                    async move {
                        let response = match app.oneshot(req.map(Body::new)).await {
                            Ok(r) => r,
                            Err(never) => match never {},
                        };
                        if response.extensions().get::<DropConnection>().is_some() {
                            Err(Dropped)
                        } else {
                            Ok(response)
                        }
                    }
                });
            let connection = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = stopped.wait_for(|s| *s) => {}
            }
        });
    }
}
