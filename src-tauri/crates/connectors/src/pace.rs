//! Pacing: each client keeps itself under its system's documented limits, corrected by what
//! the server says, so a default sync never draws a 429 (and never trips Matrix's lockout).
//!
//! Time comes from an injected [`Pace`], so tests on a frozen simulator clock advance that
//! clock instead of waiting minutes.
//!
//! A limit belongs to the key, not to the program: the app and any number of `schooldesk`
//! commands on one data directory share one limiter state through a small file there
//! ([`pace_file`]), read and rewritten under an OS file lock for every reservation. A client
//! made without a data directory (tests, simulations) keeps its state in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use schooldesk_domain::System;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where a client reads the time and how it waits.
#[async_trait]
pub trait Pace: Send + Sync + fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
    async fn sleep(&self, duration: Duration);
}

/// The wall clock and real sleeping.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealPace;

#[async_trait]
impl Pace for RealPace {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

pub type SharedPace = Arc<dyn Pace>;

/// The longest a server can make a client hold off with one reply. A `Retry-After` of years
/// (or a date in 9999) is a broken server, not a reason to stop syncing until then; after
/// this the client asks again and the server can say so again.
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(15 * 60);

/// A request in flight longer than this was lost with the process that sent it (timeouts are
/// at most 10 minutes): its slot is given back.
const LOST_AFTER: Duration = Duration::from_secs(12 * 60);

/// A ceiling learned from the server's headers is trusted this long after it was last seen,
/// so a key whose ceiling was raised is not paced at the old one for ever.
const SERVER_LIMIT_KEPT: Duration = Duration::from_secs(60 * 60);

/// The file in `data_dir` through which every process pacing `system` shares its state.
pub fn pace_file(data_dir: &Path, system: System) -> PathBuf {
    data_dir.join(format!("pace-{}.json", system.as_str()))
}

/// A token bucket: `capacity` requests, one more every `refill_every`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub capacity: u32,
    pub refill_every: Duration,
}

/// What the rate-limit headers of a system describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderMeaning {
    /// `X-RateLimit-Limit/Remaining` describe the per-minute window (OmniForge, Matrix).
    Window,
    /// They describe the token bucket (HUBmis's 500-request bucket).
    Bucket,
}

/// The limits a client keeps to.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// At most this many requests in any `window` (sliding, so any fixed window the server
    /// uses, however aligned, holds no more).
    pub per_window: Option<u32>,
    pub window: Duration,
    /// Extra spacing for network latency: a slot is held `window + margin`.
    pub margin: Duration,
    pub bucket: Option<Bucket>,
    pub headers: HeaderMeaning,
    /// How long to hold off after a 429 that names no time.
    pub default_backoff: Duration,
}

impl Limits {
    /// Requests a minute, at the steady rate these limits allow.
    pub fn steady_per_minute(&self) -> f64 {
        let mut rate = f64::INFINITY;
        if let Some(n) = self.per_window {
            let w = (self.window + self.margin).as_secs_f64();
            rate = rate.min(f64::from(n) * 60.0 / w);
        }
        if let Some(b) = self.bucket {
            rate = rate.min(60.0 / b.refill_every.as_secs_f64());
        }
        rate
    }

    /// The shortest time `requests` requests can take under these limits, from idle.
    pub fn floor(&self, requests: u64) -> Duration {
        let mut floor = Duration::ZERO;
        if let Some(n) = self.per_window.filter(|n| *n > 0) {
            let full_windows = requests.saturating_sub(1) / u64::from(n);
            floor = floor.max((self.window + self.margin) * full_windows as u32);
        }
        if let Some(b) = self.bucket {
            let beyond = requests.saturating_sub(u64::from(b.capacity));
            floor = floor.max(b.refill_every * beyond as u32);
        }
        floor
    }

    fn hold(&self) -> chrono::Duration {
        to_chrono(self.window + self.margin)
    }
}

/// One request counted in the window.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Slot {
    /// When it may be (or was) sent; once its reply came, when the reply came.
    #[serde(rename = "t")]
    at: DateTime<Utc>,
    /// Sent (or about to be) and no reply yet: the server may see it any moment.
    #[serde(rename = "p", default)]
    pending: bool,
    #[serde(rename = "i")]
    id: u64,
}

impl Slot {
    /// When the server may have counted it, as late as it can be known at `now`.
    fn counted_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        if self.pending {
            self.at.max(now)
        } else {
            self.at
        }
    }
}

/// What a limiter knows; in memory, or in the shared pace file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct State {
    /// Requests reserved or sent within the window, ordered by `at`.
    sent: Vec<Slot>,
    /// A lower ceiling the server announced, and when it last did.
    server_limit: Option<u32>,
    server_limit_at: Option<DateTime<Utc>>,
    /// Tokens left in the bucket at `tokens_at` (`None`: full).
    tokens: Option<f64>,
    tokens_at: Option<DateTime<Utc>>,
    /// Hold everything until then (a 429's `Retry-After`, a lockout).
    not_before: Option<DateTime<Utc>>,
}

impl State {
    fn insert_sorted(&mut self, slot: Slot) {
        let pos = self.sent.partition_point(|s| s.at <= slot.at);
        self.sent.insert(pos, slot);
    }

    /// Forgets what no longer counts at `now`.
    fn prune(&mut self, now: DateTime<Utc>, hold: chrono::Duration) {
        let lost = to_chrono(LOST_AFTER);
        self.sent.retain(|s| {
            if s.pending {
                s.at + lost > now
            } else {
                s.at + hold > now
            }
        });
    }
}

/// A slot taken from a [`Limiter`], returned with [`Limiter::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "hand the ticket back to Limiter::finish when the reply has come"]
pub struct Ticket {
    at: DateTime<Utc>,
    id: u64,
}

impl Ticket {
    /// When the request may go.
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }
}

/// Unique among the processes sharing a pace file: the process id and a counter.
fn next_id() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    (u64::from(std::process::id()) << 32) | (COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff_ffff)
}

enum Store {
    Memory(Mutex<State>),
    File(FileStore),
}

/// The shared state: one small JSON file, read and rewritten under an exclusive OS lock.
struct FileStore {
    path: PathBuf,
    /// One open handle per limiter; the mutex keeps this process's own users in line.
    file: Mutex<File>,
    /// Used only if the file cannot be locked, read or written: pacing goes on for this
    /// process alone rather than stopping the sync.
    fallback: Mutex<State>,
    warned: AtomicBool,
}

impl FileStore {
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = file.lock() {
            self.warn("lock", &e);
            return f(&mut self.fallback.lock().unwrap_or_else(|e| e.into_inner()));
        }
        let mut state = match read_state(&file) {
            Ok(s) => s,
            Err(e) => {
                self.warn("read", &e);
                State::default()
            }
        };
        let out = f(&mut state);
        if let Err(e) = write_state(&file, &state) {
            self.warn("write", &e);
        }
        // Closing the handle would also release it; this one stays open for the next call.
        let _ = file.unlock();
        out
    }

    fn warn(&self, what: &str, e: &std::io::Error) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                path = %self.path.display(),
                error = %e,
                "cannot {what} the shared pacing file; pacing this process on its own"
            );
        }
    }
}

fn read_state(mut file: &File) -> std::io::Result<State> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_end(&mut bytes)?;
    // Only the first value counts: a process killed between writing and trimming the file
    // leaves the tail of an older, longer state behind.
    let parsed = serde_json::Deserializer::from_slice(&bytes)
        .into_iter::<State>()
        .next();
    Ok(match parsed {
        Some(Ok(state)) => state,
        // Empty (new) or unreadable: starting afresh costs at most one window's worth of
        // caution, never a crash.
        _ => State::default(),
    })
}

fn write_state(mut file: &File, state: &State) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(state).map_err(std::io::Error::other)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&bytes)?;
    file.set_len(bytes.len() as u64)?;
    Ok(())
}

/// One client's limiter. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Limiter {
    limits: Limits,
    store: Arc<Store>,
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Limiter");
        d.field("limits", &self.limits);
        if let Store::File(fs) = &*self.store {
            d.field("shared_through", &fs.path);
        }
        d.finish()
    }
}

fn to_chrono(d: Duration) -> chrono::Duration {
    // Capped far below chrono's range so that adding it to a date can never overflow.
    chrono::Duration::from_std(d.min(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(chrono::Duration::zero())
}

fn to_std(d: chrono::Duration) -> Duration {
    d.to_std().unwrap_or(Duration::ZERO)
}

fn cap(at: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    at.clamp(now, now + to_chrono(MAX_SERVER_WAIT))
}

impl Limiter {
    /// A limiter of this process alone (tests, simulations, a client without a data folder).
    pub fn new(limits: Limits) -> Self {
        Limiter {
            limits,
            store: Arc::new(Store::Memory(Mutex::new(State::default()))),
        }
    }

    /// A limiter whose state is shared, through the file at `path`, with every other limiter
    /// (in any process) using the same file. See [`pace_file`].
    pub fn shared(limits: Limits, path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        Ok(Limiter {
            limits,
            store: Arc::new(Store::File(FileStore {
                path: path.to_path_buf(),
                file: Mutex::new(file),
                fallback: Mutex::new(State::default()),
                warned: AtomicBool::new(false),
            })),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        match &*self.store {
            // A panic elsewhere while holding the lock leaves plain numbers behind: usable.
            Store::Memory(m) => f(&mut m.lock().unwrap_or_else(|e| e.into_inner())),
            Store::File(fs) => fs.with(f),
        }
    }

    /// The window ceiling in force: ours, or the server's if it announced a lower one.
    fn per_window(&self, st: &State, now: DateTime<Utc>) -> Option<usize> {
        let server = st.server_limit.filter(|_| {
            st.server_limit_at
                .is_some_and(|t| now - t < to_chrono(SERVER_LIMIT_KEPT))
        });
        let n = match (self.limits.per_window, server) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        n.map(|n| n.max(1) as usize)
    }

    /// Waits until a request may be sent, and counts it. Hand the ticket back to
    /// [`Limiter::finish`] when the reply has come.
    pub async fn acquire(&self, pace: &dyn Pace) -> Ticket {
        let now = pace.now();
        let ticket = self.reserve_ticket(now);
        let wait = to_std(ticket.at - now);
        if !wait.is_zero() {
            tracing::debug!(wait_ms = wait.as_millis() as u64, "pacing");
            pace.sleep(wait).await;
        }
        ticket
    }

    /// The request of `ticket` got its reply at `at`. The server saw it somewhere between the
    /// slot and now: counting it at `at` keeps the window right however long the request
    /// took to arrive, so no fixed window the server counts in can ever hold one too many.
    pub fn finish(&self, ticket: Ticket, at: DateTime<Utc>) {
        self.with_state(|st| {
            let found = st.sent.iter().position(|s| s.id == ticket.id);
            if let Some(i) = found {
                st.sent.remove(i);
            } else if self.per_window(st, at).is_none() {
                return;
            }
            // Not found: forgotten while it was in flight for longer than a window. It still
            // reached the server, so it counts from its reply like any other.
            st.insert_sorted(Slot {
                at: at.max(ticket.at),
                pending: false,
                id: ticket.id,
            });
        });
    }

    /// Reserves the earliest slot at or after `now`; returns how long to wait for it.
    pub fn reserve(&self, now: DateTime<Utc>) -> Duration {
        to_std(self.reserve_ticket(now).at - now)
    }

    fn reserve_ticket(&self, now: DateTime<Utc>) -> Ticket {
        let hold = self.limits.hold();
        let id = next_id();
        let at = self.with_state(|st| {
            let mut at = now;
            if let Some(nb) = st.not_before {
                // Capped again here: the file may hold what an older version wrote.
                let nb = cap(nb, now);
                if nb > at {
                    at = nb;
                } else {
                    st.not_before = None;
                }
            }
            st.prune(now, hold);
            let per_window = self.per_window(st, now);
            if let Some(n) = per_window {
                let mut counted: Vec<_> = st.sent.iter().map(|s| s.counted_at(now)).collect();
                counted.sort_unstable();
                if counted.len() >= n {
                    // The slot frees when the entry n-th from the end leaves the window.
                    at = at.max(counted[counted.len() - n] + hold);
                }
            }
            if let Some(b) = self.limits.bucket {
                let refill_ms = to_chrono(b.refill_every).num_milliseconds().max(1);
                let capacity = f64::from(b.capacity);
                let last = st.tokens_at.unwrap_or(at).min(now + to_chrono(LOST_AFTER));
                let elapsed = (at.max(last) - last).num_milliseconds().max(0) as f64;
                let mut tokens = (st.tokens.unwrap_or(capacity).clamp(0.0, capacity)
                    + elapsed / refill_ms as f64)
                    .min(capacity);
                let mut t = at.max(last);
                if tokens < 1.0 {
                    let need_ms = ((1.0 - tokens) * refill_ms as f64).ceil() as i64;
                    t += chrono::Duration::milliseconds(need_ms);
                    tokens = 1.0;
                }
                st.tokens = Some(tokens - 1.0);
                st.tokens_at = Some(t);
                at = at.max(t);
            }
            if per_window.is_some() {
                // Keep the log ordered: a reservation is never earlier than one before it.
                let at_sorted = st.sent.last().map_or(at, |last| at.max(last.at));
                st.sent.push(Slot {
                    at: at_sorted,
                    pending: true,
                    id,
                });
                at = at_sorted;
            }
            at
        });
        Ticket { at, id }
    }

    /// Takes in what the server said about its limits on any reply.
    pub fn observe(&self, now: DateTime<Utc>, headers: &HeaderMap) {
        let remaining = header_u64(headers, "x-ratelimit-remaining");
        let limit = header_u64(headers, "x-ratelimit-limit");
        let retry_at = retry_at(headers, now);
        let hold = self.limits.hold();
        self.with_state(|st| match self.limits.headers {
            HeaderMeaning::Window => {
                if let Some(limit) = limit.and_then(|l| u32::try_from(l).ok()) {
                    // A key issued with a lower ceiling than our default: follow the server.
                    if limit > 0 && self.limits.per_window.is_none_or(|n| limit < n) {
                        st.server_limit = Some(limit);
                        st.server_limit_at = Some(now);
                    }
                }
                if let (Some(rem), Some(n)) = (remaining, self.per_window(st, now)) {
                    let used = st
                        .sent
                        .iter()
                        .filter(|s| s.counted_at(now) + hold > now)
                        .count() as u64;
                    let ours = (n as u64).saturating_sub(used);
                    // Requests we never saw (another program on the same key): count them.
                    for _ in rem..ours {
                        st.insert_sorted(Slot {
                            at: now,
                            pending: false,
                            id: next_id(),
                        });
                    }
                    if rem == 0 {
                        if let Some(at) = retry_at {
                            st.not_before =
                                Some(st.not_before.map_or(at, |nb| cap(nb.max(at), now)));
                        }
                    }
                }
            }
            HeaderMeaning::Bucket => {
                if let (Some(rem), Some(b)) = (remaining, self.limits.bucket) {
                    let rem = rem as f64;
                    if rem < st.tokens.unwrap_or(f64::from(b.capacity)) {
                        st.tokens = Some(rem);
                        st.tokens_at = Some(st.tokens_at.map_or(now, |t| t.max(now)));
                    }
                }
            }
        });
    }

    /// A 429 (or lockout): hold everything until the server's time, or the default backoff.
    /// Returns the hold (never more than [`MAX_SERVER_WAIT`]).
    pub fn rate_limited(&self, now: DateTime<Utc>, headers: &HeaderMap) -> Duration {
        let until = retry_at(headers, now)
            .unwrap_or_else(|| cap(now + to_chrono(self.limits.default_backoff), now));
        let until = self.with_state(|st| {
            let until = cap(st.not_before.map_or(until, |nb| nb.max(until)), now);
            st.not_before = Some(until);
            if self.limits.bucket.is_some() {
                st.tokens = Some(0.0);
                st.tokens_at = Some(now);
            }
            until
        });
        to_std(until - now)
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    header_str(headers, name).and_then(|v| v.parse().ok())
}

/// When the server says we may try again: `Retry-After` (seconds or an HTTP date) or
/// `X-RateLimit-Retry-After` (Unix time). Never before `now`, never more than
/// [`MAX_SERVER_WAIT`] after it; a value that is not a time at all (`-5`, text) is ignored.
pub fn retry_at(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Some(v) = header_str(headers, "x-ratelimit-retry-after") {
        if let Ok(unix) = v.parse::<i64>() {
            let at = DateTime::<Utc>::from_timestamp(unix, 0)
                // Beyond what a date can hold: as far as we ever wait.
                .unwrap_or(if unix > 0 {
                    DateTime::<Utc>::MAX_UTC
                } else {
                    now
                });
            return Some(cap(at, now));
        }
    }
    let v = header_str(headers, "retry-after")?;
    if let Ok(secs) = v.parse::<u64>() {
        let secs = secs.min(MAX_SERVER_WAIT.as_secs());
        return Some(now + to_chrono(Duration::from_secs(secs)));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(cap(DateTime::<Utc>::from(at), now))
}
#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-09-01T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn window(n: u32) -> Limits {
        Limits {
            per_window: Some(n),
            window: Duration::from_secs(60),
            margin: Duration::ZERO,
            bucket: None,
            headers: HeaderMeaning::Window,
            default_backoff: Duration::from_secs(60),
        }
    }

    #[test]
    fn sliding_window_never_lets_n_plus_one_into_any_minute() {
        let l = Limiter::new(window(10));
        let mut now = t0();
        let mut sent = Vec::new();
        for _ in 0..35 {
            let ticket = l.reserve_ticket(now);
            now = ticket.at();
            l.finish(ticket, now);
            sent.push(now);
            now += chrono::Duration::milliseconds(700);
        }
        for (i, a) in sent.iter().enumerate() {
            let in_minute = sent[i..]
                .iter()
                .filter(|b| **b - *a < chrono::Duration::seconds(60))
                .count();
            assert!(
                in_minute <= 10,
                "{in_minute} requests within a minute from #{i}"
            );
        }
        // And it is not needlessly slow: 35 requests at 10/min take just over 3 minutes.
        assert!(
            now - t0() < chrono::Duration::seconds(185),
            "{}",
            now - t0()
        );
    }

    #[test]
    fn bucket_and_window_together_pace_at_the_slower() {
        let l = Limiter::new(Limits {
            per_window: Some(12),
            bucket: Some(Bucket {
                capacity: 3,
                refill_every: Duration::from_secs(5),
            }),
            headers: HeaderMeaning::Bucket,
            ..window(12)
        });
        let now = t0();
        assert_eq!(l.reserve(now), Duration::ZERO);
        assert_eq!(l.reserve(now), Duration::ZERO);
        assert_eq!(l.reserve(now), Duration::ZERO);
        assert_eq!(l.reserve(now), Duration::from_secs(5));
        assert_eq!(l.reserve(now), Duration::from_secs(10));
    }

    #[test]
    fn server_headers_correct_the_count_and_a_429_holds_everything() {
        let l = Limiter::new(window(60));
        let now = t0();
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("1"));
        l.observe(now, &h);
        assert_eq!(l.reserve(now), Duration::ZERO);
        // The window is now full by the server's account.
        assert_eq!(l.reserve(now), Duration::from_secs(60));

        let l = Limiter::new(window(60));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("17"));
        assert_eq!(l.rate_limited(now, &h), Duration::from_secs(17));
        assert_eq!(l.reserve(now), Duration::from_secs(17));

        let l = Limiter::new(window(60));
        let mut h = HeaderMap::new();
        let unix = (now + chrono::Duration::seconds(42))
            .timestamp()
            .to_string();
        h.insert(
            "x-ratelimit-retry-after",
            HeaderValue::from_str(&unix).unwrap(),
        );
        assert_eq!(l.rate_limited(now, &h), Duration::from_secs(42));
    }

    #[test]
    fn slow_requests_are_counted_when_they_finish() {
        // Two a minute. The first request takes 30 s to come back: the third may only go a
        // full window after that reply, not after the first was sent.
        let l = Limiter::new(window(2));
        let now = t0();
        let secs = chrono::Duration::seconds;
        let first = l.reserve_ticket(now);
        assert_eq!(first.at(), now);
        l.finish(first, now + secs(30));
        let second = l.reserve_ticket(now + secs(30));
        assert_eq!(second.at(), now + secs(30));
        l.finish(second, now + secs(31));
        assert_eq!(l.reserve(now + secs(31)), Duration::from_secs(59));
    }

    /// A file of its own in the temporary directory, removed when dropped.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str) -> TempFile {
            static N: AtomicU64 = AtomicU64::new(0);
            let path = std::env::temp_dir().join(format!(
                "schooldesk-pace-{}-{}-{name}.json",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_file(&path);
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// Most sends found in any `span` starting at a send.
    fn busiest(sends: &[DateTime<Utc>], span: chrono::Duration) -> usize {
        let mut sorted = sends.to_vec();
        sorted.sort();
        (0..sorted.len())
            .map(|i| {
                sorted[i..]
                    .iter()
                    .filter(|b| **b - sorted[i] < span)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn two_processes_on_one_file_never_put_n_plus_one_into_any_window() {
        // Two limiters on one file stand for the app and a CLI command: taking turns, each
        // alone would allow 10 a minute, and together they still must.
        let file = TempFile::new("two");
        let a = Limiter::shared(window(10), &file.0).unwrap();
        let b = Limiter::shared(window(10), &file.0).unwrap();
        let mut clock = [t0(), t0() + chrono::Duration::milliseconds(300)];
        let mut sends = Vec::new();
        for i in 0..60 {
            let (l, now) = if i % 2 == 0 {
                (&a, &mut clock[0])
            } else {
                (&b, &mut clock[1])
            };
            let ticket = l.reserve_ticket(*now);
            sends.push(ticket.at());
            // The reply comes back after a moment; the next request follows it.
            *now = ticket.at() + chrono::Duration::milliseconds(150);
            l.finish(ticket, *now);
        }
        let most = busiest(&sends, chrono::Duration::seconds(60));
        assert!(most <= 10, "{most} sends within one minute");
        // Close to the floor: 60 requests at 10 a minute are five full windows of waiting.
        let took = *sends.iter().max().unwrap() - t0();
        assert!(took < chrono::Duration::seconds(5 * 60 + 5), "{took}");
    }

    #[test]
    fn what_one_process_sent_is_counted_by_the_next() {
        // `connect` checks the key, then `sync` starts in a new process: the check counts.
        let file = TempFile::new("next");
        let now = t0();
        {
            let connect = Limiter::shared(window(3), &file.0).unwrap();
            for _ in 0..3 {
                let t = connect.reserve_ticket(now);
                connect.finish(t, now);
            }
        }
        let sync = Limiter::shared(window(3), &file.0).unwrap();
        assert_eq!(sync.reserve(now), Duration::from_secs(60));
        // Memory-only limiters know nothing of each other.
        assert_eq!(Limiter::new(window(3)).reserve(now), Duration::ZERO);
    }

    #[test]
    fn a_request_still_in_flight_counts_until_its_reply() {
        let file = TempFile::new("flight");
        let a = Limiter::shared(window(1), &file.0).unwrap();
        let b = Limiter::shared(window(1), &file.0).unwrap();
        let slow = a.reserve_ticket(t0());
        // 70 s later it has still not come back: the server may count it any moment.
        let later = t0() + chrono::Duration::seconds(70);
        let next = b.reserve_ticket(later);
        assert_eq!(next.at() - later, chrono::Duration::seconds(60));
        a.finish(slow, later);
        b.finish(next, next.at());
        // A request whose process died is given back after a while.
        let c = Limiter::shared(window(1), &file.0).unwrap();
        let orphan = t0() + chrono::Duration::seconds(200);
        let _lost = c.reserve_ticket(orphan);
        let much_later = orphan + to_chrono(LOST_AFTER);
        assert_eq!(a.reserve(much_later), Duration::ZERO);
    }

    #[test]
    fn a_damaged_pace_file_starts_afresh() {
        let file = TempFile::new("damaged");
        std::fs::write(&file.0, b"{\"sent\": [nonsense").unwrap();
        let l = Limiter::shared(window(2), &file.0).unwrap();
        assert_eq!(l.reserve(t0()), Duration::ZERO);
        assert_eq!(l.reserve(t0()), Duration::ZERO);
        assert_eq!(l.reserve(t0()), Duration::from_secs(60));
        // A lockout far beyond reason written by something else is capped when read.
        let mut st: State = serde_json::from_slice(&std::fs::read(&file.0).unwrap()).unwrap();
        st.not_before = Some(DateTime::<Utc>::MAX_UTC);
        st.sent.clear();
        std::fs::write(&file.0, serde_json::to_vec(&st).unwrap()).unwrap();
        assert_eq!(l.reserve(t0()), MAX_SERVER_WAIT);
    }

    #[test]
    fn out_of_range_server_times_are_capped_and_garbage_ignored() {
        let now = t0();
        let at = |name: &'static str, v: &str| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_str(v).unwrap());
            retry_at(&h, now)
        };
        let most = Some(now + to_chrono(MAX_SERVER_WAIT));
        assert_eq!(at("retry-after", "99999999999"), most);
        assert_eq!(at("retry-after", &u64::MAX.to_string()), most);
        assert_eq!(at("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT"), most);
        assert_eq!(
            at("retry-after", "Mon, 01 Jan 1990 00:00:00 GMT"),
            Some(now)
        );
        assert_eq!(at("retry-after", "-5"), None);
        assert_eq!(at("retry-after", "soon"), None);
        assert_eq!(
            at("retry-after", "30"),
            Some(now + chrono::Duration::seconds(30))
        );
        assert_eq!(at("x-ratelimit-retry-after", &i64::MAX.to_string()), most);
        assert_eq!(
            at("x-ratelimit-retry-after", &i64::MIN.to_string()),
            Some(now)
        );
        assert_eq!(at("x-ratelimit-retry-after", "253402300799"), most);

        let l = Limiter::new(window(5));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("99999999999"));
        h.insert(
            "x-ratelimit-limit",
            HeaderValue::from_static("99999999999999999999"),
        );
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("-1"));
        h.insert(
            "x-ratelimit-reset",
            HeaderValue::from_static("99999999999999999999"),
        );
        l.observe(now, &h);
        assert_eq!(l.rate_limited(now, &h), MAX_SERVER_WAIT);
        assert_eq!(l.reserve(now), MAX_SERVER_WAIT);
    }

    #[test]
    fn a_lower_server_ceiling_is_followed() {
        let l = Limiter::new(window(60));
        let now = t0();
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-limit", HeaderValue::from_static("2"));
        l.observe(now, &h);
        assert_eq!(l.reserve(now), Duration::ZERO);
        assert_eq!(l.reserve(now), Duration::ZERO);
        assert_eq!(l.reserve(now), Duration::from_secs(60));
    }

    #[test]
    fn floor_matches_the_example_in_the_brief() {
        // HUBmis: 640 requests at 12 a minute take at least 53 minutes.
        let l = Limits {
            bucket: Some(Bucket {
                capacity: 500,
                refill_every: Duration::from_secs(5),
            }),
            ..window(12)
        };
        let f = l.floor(640);
        assert!((52 * 60..=54 * 60).contains(&f.as_secs()), "{f:?}");
    }
}
