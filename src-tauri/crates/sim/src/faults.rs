//! Fault injection and request recording, shared by the four simulators.
//!
//! Every request passes through [`wrap`]'s middleware, which records it (with the status it
//! got) and then, in this order: waits the configured latency, drops the connection when the
//! simulators are offline, answers a pending one-shot failure, and answers 503 for the
//! configured fraction of requests (drawn from a seeded generator, so a run is repeatable).
//!
//! "Offline" means a transport error for the client, never an HTTP status: new connections
//! are closed as soon as they are accepted, and a request arriving on a connection opened
//! earlier is answered by closing that connection without a response. That needs the
//! connection loop in [`serve`], which the simulators use instead of `axum::serve`.

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::{RequestRecord, Shared, SystemKind};

/// The fault switches every simulator obeys. Cloning shares the switches.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    inner: Arc<Mutex<FaultState>>,
}

#[derive(Debug)]
struct FaultState {
    error_rate: f64,
    latency: Duration,
    offline: bool,
    one_shots: Vec<OneShot>,
    rng: ChaCha8Rng,
}

impl Default for FaultState {
    fn default() -> Self {
        FaultState {
            error_rate: 0.0,
            latency: Duration::ZERO,
            offline: false,
            one_shots: Vec::new(),
            rng: ChaCha8Rng::seed_from_u64(0),
        }
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

/// What the fault switches decide for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Serve,
    Drop,
    Fail(u16),
}

impl Faults {
    /// That fraction (0.0–1.0) of requests answers 503.
    pub fn set_error_rate(&self, rate: f64) {
        self.lock().error_rate = rate.clamp(0.0, 1.0);
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

    /// The next request matching `system` and `path_prefix` answers `status` (once).
    pub fn fail_next(&self, system: Option<SystemKind>, path_prefix: Option<String>, status: u16) {
        self.lock().one_shots.push(OneShot {
            system,
            path_prefix,
            status,
        });
    }

    /// Failures armed with [`Faults::fail_next`] that no request has used yet.
    pub fn pending_one_shots(&self) -> Vec<OneShot> {
        self.lock().one_shots.clone()
    }

    /// Reseeds the generator behind the error rate, so a run's failures repeat exactly.
    pub fn seed(&self, seed: u64) {
        self.lock().rng = ChaCha8Rng::seed_from_u64(seed);
    }

    /// Back to no faults at all (the generator keeps its position).
    pub fn clear(&self) {
        let mut s = self.lock();
        s.error_rate = 0.0;
        s.latency = Duration::ZERO;
        s.offline = false;
        s.one_shots.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        // A panic elsewhere must not take fault injection down with it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn latency(&self) -> Duration {
        self.lock().latency
    }

    fn verdict(&self, system: SystemKind, path: &str) -> Verdict {
        let mut s = self.lock();
        if s.offline {
            return Verdict::Drop;
        }
        let hit = s.one_shots.iter().position(|o| {
            o.system.is_none_or(|k| k == system)
                && o.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
        });
        if let Some(i) = hit {
            return Verdict::Fail(s.one_shots.remove(i).status);
        }
        if s.error_rate > 0.0 {
            let rate = s.error_rate;
            if s.rng.gen_bool(rate) {
                return Verdict::Fail(503);
            }
        }
        Verdict::Serve
    }
}

/// Marks a response that must not be sent: the connection is closed instead.
#[derive(Debug, Clone, Copy)]
struct DropConnection;

/// Applies the fault switches to `router` and records every request it serves.
pub fn wrap(router: Router, shared: Shared, system: SystemKind) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        (shared, system),
        apply,
    ))
}

async fn apply(
    State((shared, system)): State<(Shared, SystemKind)>,
    req: Request,
    next: Next,
) -> Response {
    let at = shared.clock.now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let headers = lower_cased(req.headers());

    let latency = shared.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (response, status) = match shared.faults.verdict(system, &path) {
        Verdict::Drop => {
            let mut r = Response::new(Body::empty());
            r.extensions_mut().insert(DropConnection);
            // 0: no status was sent, the connection was closed.
            (r, 0)
        }
        Verdict::Fail(code) => {
            let r = failure(system, code);
            let s = r.status().as_u16();
            (r, s)
        }
        Verdict::Serve => {
            let r = next.run(req).await;
            let s = r.status().as_u16();
            (r, s)
        }
    };
    shared.recorder.request(RequestRecord {
        system,
        method,
        path,
        query,
        headers,
        status,
        at,
    });
    response
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
#[error("connection dropped by the offline switch")]
struct Dropped;

/// Serves `app` on `listener` until `stopped` turns true, obeying the offline switch at
/// the connection level (see the module comment). Handlers may extract
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
