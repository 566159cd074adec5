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

/// Sends every due entry. `now` and `jitter` are passed in so backoff is testable.
pub(crate) async fn replay(
    cache: &Arc<Cache>,
    senders: &BTreeMap<System, Connector>,
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
        let claimed = blocking(cache, move |c| c.claim_due(started, BATCH)).await?;
        if claimed.is_empty() {
            break;
        }
        for entry in claimed {
            let outcome = match (down.get(&entry.system), senders.get(&entry.system)) {
                (Some(why), _) => Err(why.clone()),
                (None, None) => Err(format!(
                    "{} is not connected on this computer.",
                    entry.system.display_name()
                )),
                (None, Some(sender)) => match sender.send(&entry).await {
                    Ok(outcome) => Ok(outcome),
                    Err(e) if e.is_permanent() => {
                        let (id, msg, at) = (entry.id, e.user_message(), now());
                        blocking(cache, move |c| c.fail(id, &msg, at)).await?;
                        report.failed += 1;
                        continue;
                    }
                    Err(e) => {
                        let why = e.user_message();
                        if !e.is_retryable() || is_unreachable(&e) {
                            down.insert(entry.system, why.clone());
                        }
                        Err(why)
                    }
                },
            };
            let (id, at) = (entry.id, now());
            match outcome {
                Ok(SendOutcome::Applied(reply)) => {
                    blocking(cache, move |c| c.complete(id, &reply, at)).await?;
                    report.applied += 1;
                }
                Ok(SendOutcome::Conflict(server)) => {
                    blocking(cache, move |c| c.conflict(id, &server, at)).await?;
                    report.conflicts += 1;
                }
                Err(why) => {
                    let wait = backoff.delay(entry.attempts, jitter());
                    let next = at + chrono::Duration::from_std(wait).unwrap_or_default();
                    report.problems.insert(entry.system, why.clone());
                    blocking(cache, move |c| c.retry_later(id, &why, next, at)).await?;
                    report.deferred += 1;
                }
            }
        }
    }
    Ok(report)
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
    tokio::task::spawn_blocking(move || f(&cache))
        .await
        .map_err(|e| DeskError::Demo(format!("a background task stopped: {e}")))?
        .map_err(DeskError::from)
}
