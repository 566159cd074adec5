//! Pacing: each client keeps itself under its system's documented limits, corrected by what
//! the server says, so a default sync never draws a 429 (and never trips Matrix's lockout).
//!
//! Time comes from an injected [`Pace`], so tests on a frozen simulator clock advance that
//! clock instead of waiting minutes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use std::collections::VecDeque;
use std::fmt;
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
}

#[derive(Debug)]
struct State {
    /// Times of requests sent (or reserved) within the current window.
    sent: VecDeque<DateTime<Utc>>,
    /// Requests counted against us that we did not see (corrections from the server).
    per_window: Option<u32>,
    tokens: f64,
    tokens_at: Option<DateTime<Utc>>,
    /// Hold everything until then (a 429's `Retry-After`, a lockout).
    not_before: Option<DateTime<Utc>>,
}

/// A slot taken from a [`Limiter`], returned with [`Limiter::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "hand the ticket back to Limiter::finish when the reply has come"]
pub struct Ticket(DateTime<Utc>);

/// One client's limiter. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Limiter {
    limits: Limits,
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("limits", &self.limits)
            .finish()
    }
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn to_std(d: chrono::Duration) -> Duration {
    d.to_std().unwrap_or(Duration::ZERO)
}

impl Limiter {
    pub fn new(limits: Limits) -> Self {
        let tokens = limits.bucket.map_or(0.0, |b| f64::from(b.capacity));
        Limiter {
            state: Arc::new(Mutex::new(State {
                sent: VecDeque::new(),
                per_window: limits.per_window,
                tokens,
                tokens_at: None,
                not_before: None,
            })),
            limits,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain numbers behind: still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until a request may be sent, and counts it. Hand the ticket back to
    /// [`Limiter::finish`] when the reply has come.
    pub async fn acquire(&self, pace: &dyn Pace) -> Ticket {
        let now = pace.now();
        let wait = self.reserve(now);
        if !wait.is_zero() {
            tracing::debug!(wait_ms = wait.as_millis() as u64, "pacing");
            pace.sleep(wait).await;
        }
        Ticket(now + to_chrono(wait))
    }

    /// The request of `ticket` got its reply at `at`. The server saw it somewhere between the
    /// slot and now: counting it at `at` keeps the window right however long the request
    /// took to arrive, so no fixed window the server counts in can ever hold one too many.
    pub fn finish(&self, ticket: Ticket, at: DateTime<Utc>) {
        if at <= ticket.0 {
            return;
        }
        let mut st = self.lock();
        if st.per_window.is_none() {
            return;
        }
        if let Some(i) = st.sent.iter().position(|t| *t == ticket.0) {
            st.sent.remove(i);
            let pos = st.sent.partition_point(|t| *t <= at);
            st.sent.insert(pos, at);
        }
    }

    /// Reserves the earliest slot at or after `now`; returns how long to wait for it.
    pub fn reserve(&self, now: DateTime<Utc>) -> Duration {
        let mut st = self.lock();
        let hold = to_chrono(self.limits.window + self.limits.margin);
        let mut at = now;
        if let Some(nb) = st.not_before {
            if nb > at {
                at = nb;
            } else {
                st.not_before = None;
            }
        }
        if let Some(n) = st.per_window {
            let n = n.max(1) as usize;
            // Drop entries that no longer count even at `now`.
            while st.sent.front().is_some_and(|t| *t + hold <= now) {
                st.sent.pop_front();
            }
            if st.sent.len() >= n {
                // The slot frees when the entry n-th from the end leaves the window.
                let idx = st.sent.len() - n;
                let free_at = st.sent[idx] + hold;
                at = at.max(free_at);
            }
        }
        if let Some(b) = self.limits.bucket {
            let refill = to_chrono(b.refill_every);
            let last = st.tokens_at.unwrap_or(at);
            let elapsed = (at.max(last) - last).num_milliseconds().max(0) as f64;
            let mut tokens = (st.tokens + elapsed / refill.num_milliseconds().max(1) as f64)
                .min(f64::from(b.capacity));
            let mut t = at.max(last);
            if tokens < 1.0 {
                let need_ms = ((1.0 - tokens) * refill.num_milliseconds() as f64).ceil() as i64;
                t += chrono::Duration::milliseconds(need_ms);
                tokens = 1.0;
            }
            st.tokens = tokens - 1.0;
            st.tokens_at = Some(t);
            at = at.max(t);
        }
        if st.per_window.is_some() {
            // Keep the log ordered: a reservation is never earlier than one before it.
            let at_sorted = st.sent.back().map_or(at, |last| at.max(*last));
            st.sent.push_back(at_sorted);
            at = at_sorted;
        }
        to_std(at - now)
    }

    /// Takes in what the server said about its limits on any reply.
    pub fn observe(&self, now: DateTime<Utc>, headers: &HeaderMap) {
        let remaining = header_u64(headers, "x-ratelimit-remaining");
        let limit = header_u64(headers, "x-ratelimit-limit");
        let retry_at = retry_at(headers, now);
        let mut st = self.lock();
        match self.limits.headers {
            HeaderMeaning::Window => {
                if let Some(limit) = limit.and_then(|l| u32::try_from(l).ok()) {
                    // A key issued with a lower ceiling than our default: follow the server.
                    if st.per_window.is_none_or(|n| limit < n) && limit > 0 {
                        st.per_window = Some(limit);
                    }
                }
                if let (Some(rem), Some(n)) = (remaining, st.per_window) {
                    let hold = to_chrono(self.limits.window + self.limits.margin);
                    let used = st.sent.iter().filter(|t| **t + hold > now).count() as u64;
                    let ours = u64::from(n).saturating_sub(used);
                    // Requests we never saw (another program on the same key): count them.
                    for _ in rem..ours {
                        let at = st.sent.partition_point(|t| *t <= now);
                        st.sent.insert(at, now);
                    }
                    if rem == 0 {
                        if let Some(at) = retry_at {
                            st.not_before = Some(st.not_before.map_or(at, |nb| nb.max(at)));
                        }
                    }
                }
            }
            HeaderMeaning::Bucket => {
                if let Some(rem) = remaining {
                    let rem = rem as f64;
                    if rem < st.tokens {
                        st.tokens = rem;
                        st.tokens_at = Some(st.tokens_at.map_or(now, |t| t.max(now)));
                    }
                }
            }
        }
    }

    /// A 429 (or lockout): hold everything until the server's time, or the default backoff.
    /// Returns the hold.
    pub fn rate_limited(&self, now: DateTime<Utc>, headers: &HeaderMap) -> Duration {
        let until = retry_at(headers, now).unwrap_or(now + to_chrono(self.limits.default_backoff));
        let mut st = self.lock();
        let until = st.not_before.map_or(until, |nb| nb.max(until));
        st.not_before = Some(until);
        if self.limits.bucket.is_some() {
            st.tokens = 0.0;
            st.tokens_at = Some(now);
        }
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
/// `X-RateLimit-Retry-After` (Unix time).
pub fn retry_at(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Some(v) = header_str(headers, "x-ratelimit-retry-after") {
        if let Ok(unix) = v.parse::<i64>() {
            if let Some(t) = DateTime::<Utc>::from_timestamp(unix, 0) {
                return Some(t.max(now));
            }
        }
    }
    let v = header_str(headers, "retry-after")?;
    if let Ok(secs) = v.parse::<u64>() {
        return Some(now + to_chrono(Duration::from_secs(secs)));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(DateTime::<Utc>::from(at).max(now))
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
            let wait = l.reserve(now);
            now += to_chrono(wait);
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
        assert_eq!(l.reserve(now), Duration::ZERO);
        let first = Ticket(now);
        assert_eq!(l.reserve(now), Duration::ZERO);
        l.finish(first, now + chrono::Duration::seconds(30));
        assert_eq!(l.reserve(now), Duration::from_secs(60));
        let l = Limiter::new(window(2));
        assert_eq!(l.reserve(now), Duration::ZERO);
        assert_eq!(l.reserve(now), Duration::ZERO);
        assert_eq!(l.reserve(now), Duration::from_secs(60));
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
