//! Outbox replay: sends what is due, in order per entity, each write exactly once.
//!
//! Exactly once rests on two things. The cache keeps every entry until the system confirmed
//! it (an entry left `sending` by a process that died is claimed again), so nothing is lost;
//! and every resend carries the entry's one idempotency key (OmniForge `Idempotency-Key`) or
//! is an operation the system applies as "set to" (Matrix updates, grades, enrollment),
//! so nothing is applied twice.

use chrono::{DateTime, Utc};
use schooldesk_cache::Cache;
use schooldesk_connectors::{Connector, ConnectorError, SendOutcome};
use schooldesk_domain::{Backoff, System};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use crate::desk::{DeskError, Result};

/// How many entries one claim takes; each batch is finished before the next is claimed.
const BATCH: usize = 25;

/// What a replay did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct ReplayReport {
    pub applied: u32,
    pub conflicts: u32,
    pub failed: u32,
    /// Not sent now (network down, system busy); tried again later.
    pub deferred: u32,
    /// Why entries were deferred, per system, in words for the person.
    pub problems: BTreeMap<System, String>,
    /// Systems that did not answer (offline, timeout) or need attention: the engine probes
    /// them and sends again when they answer.
    pub unreachable: std::collections::BTreeSet<System>,
}

impl ReplayReport {
    pub fn describe(&self) -> String {
        let mut s = format!(
            "Sent {} write(s); {} conflict(s) to review; {} refused; {} waiting to retry.",
            self.applied, self.conflicts, self.failed, self.deferred
        );
        for (system, problem) in &self.problems {
            s.push_str(&format!(" {}: {problem}", system.display_name()));
        }
        s
    }
}

/// Sends every due entry. `now` and `jitter` are passed in so backoff is testable. When
/// `cancel` fires, the write in flight is finished and the entries claimed but not yet sent
/// go back to the queue untouched.
pub(crate) async fn replay(
    cache: &Arc<Cache>,
    senders: &BTreeMap<System, Connector>,
    cancel: &CancellationToken,
    now: impl Fn() -> DateTime<Utc>,
    mut jitter: impl FnMut() -> f64,
) -> Result<ReplayReport> {
    let backoff = Backoff::default();
    let mut report = ReplayReport::default();
    // Systems found unreachable in this run: their remaining entries wait for the next run.
    let mut down: BTreeMap<System, String> = BTreeMap::new();
    // Claims use the run's start time: an entry deferred in this run is due later than that,
    // so every run ends, and writes made while it runs wait for the next one.
    let started = now();
    loop {
        if cancel.is_cancelled() {
            break;
        }
        let claimed = blocking(cache, move |c| c.claim_due(started, BATCH)).await?;
        if claimed.is_empty() {
            break;
        }
        for entry in claimed {
            let (id, system) = (entry.id, entry.system);
            // Not sent at all: back in the queue with no attempt counted.
            let unsent = if cancel.is_cancelled() {
                Some((
                    "Sending stopped before this write; it goes out next time.".to_string(),
                    now(),
                ))
            } else if let Some(why) = down.get(&system) {
                Some((
                    why.clone(),
                    now() + retry_unreachable(&backoff, entry.attempts),
                ))
            } else if !senders.contains_key(&system) {
                let why = format!(
                    "{} is not connected on this computer, or its secret is missing: connect it again to send this write.",
                    system.display_name()
                );
                Some((why, now() + retry_unreachable(&backoff, entry.attempts)))
            } else {
                None
            };
            if let Some((why, next)) = unsent {
                let at = now();
                if !cancel.is_cancelled() {
                    report.problems.insert(system, why.clone());
                    report.deferred += 1;
                }
                blocking(cache, move |c| c.defer_unsent(id, &why, next, at)).await?;
                continue;
            }
            let sender = &senders[&system];
            let outcome = sender.send(&entry).await;
            let at = now();
            match outcome {
                Ok(SendOutcome::Applied(reply)) => {
                    blocking(cache, move |c| c.complete(id, &reply, at)).await?;
                    report.applied += 1;
                }
                Ok(SendOutcome::Conflict(server)) => {
                    blocking(cache, move |c| c.conflict(id, &server, at)).await?;
                    report.conflicts += 1;
                }
                Err(e) if e.is_permanent() => {
                    let msg = e.user_message();
                    blocking(cache, move |c| c.fail(id, &msg, at)).await?;
                    report.failed += 1;
                }
                Err(e) => {
                    let why = e.user_message();
                    if !e.is_retryable() || is_unreachable(&e) {
                        down.insert(system, why.clone());
                        report.unreachable.insert(system);
                    }
                    let wait = backoff.delay(entry.attempts, jitter());
                    let next = at + chrono::Duration::from_std(wait).unwrap_or_default();
                    report.problems.insert(system, why.clone());
                    blocking(cache, move |c| c.retry_later(id, &why, next, at)).await?;
                    report.deferred += 1;
                }
            }
        }
    }
    Ok(report)
}

/// How long a write whose system is down waits before the next try: the backoff of its
/// attempts so far, without jitter (the engine's reconnect probe and "Send now" bring it
/// forward as soon as the system answers).
fn retry_unreachable(backoff: &Backoff, attempts: u32) -> chrono::Duration {
    chrono::Duration::from_std(backoff.delay(attempts, 0.5)).unwrap_or_default()
}

fn is_unreachable(e: &ConnectorError) -> bool {
    matches!(e.code(), "connector.offline" | "connector.timeout")
}

/// Cache calls block; keep them off the async workers.
pub(crate) async fn blocking<T: std::marker::Send + 'static>(
    cache: &Arc<Cache>,
    f: impl FnOnce(&Cache) -> schooldesk_cache::Result<T> + std::marker::Send + 'static,
) -> Result<T> {
    let cache = cache.clone();
    tokio::task::spawn_blocking(move || {
        schooldesk_cache::with_origin(schooldesk_domain::Origin::Replay, || f(&cache))
    })
    .await
    .map_err(|e| DeskError::Internal(format!("a background task stopped: {e}")))?
    .map_err(DeskError::from)
}
