//! Outbox replay: sends what is due, in order per entity, each write exactly once.
//!
//! Exactly once rests on three things. The cache keeps every entry until its system's answer
//! is recorded, so nothing is lost. Before a request goes out its attempt is recorded and the
//! entry marked uncertain, so a lost reply, a timeout or a crash while sending is known
//! afterwards. And an uncertain entry is settled before anything is resent: OmniForge marks go
//! again with their one `Idempotency-Key`; for the systems without one the connector reads the
//! system first ([`Connector::settle`]) and the write is resent only if it is absent (see the
//! table in `schooldesk_connectors`).
//!
//! Failures by kind ([`Disposition`]): a refusal of the data fails the entry with the
//! system's reasons; a passing problem backs off with jitter up to an attempt cap; a system
//! that needs attention (credentials, permission, a redirecting network, a page that is not
//! the system) has its entries held until `connect` fixes it. One system's trouble never
//! stops another's writes.

use chrono::{DateTime, Utc};
use schooldesk_cache::Cache;
use schooldesk_connectors::{
    Connector, ConnectorError, Disposition, SendOutcome, SettleContext, Settled,
};
use schooldesk_domain::{Backoff, OutboxEntry, System, Write};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
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
    /// Kept until their system's connection is fixed.
    pub held: u32,
    /// Why entries were deferred or held, per system, in words for the person.
    pub problems: BTreeMap<System, String>,
    /// Systems that did not answer (offline, timeout) or need attention: the engine probes
    /// them and sends again when they answer.
    pub unreachable: BTreeSet<System>,
}

impl ReplayReport {
    pub fn describe(&self) -> String {
        let mut s = format!(
            "Sent {} write(s); {} conflict(s) to review; {} refused; {} waiting to retry.",
            self.applied, self.conflicts, self.failed, self.deferred
        );
        if self.held > 0 {
            s.push_str(&format!(" {} held until a connection is fixed.", self.held));
        }
        for (system, problem) in &self.problems {
            s.push_str(&format!(" {}: {problem}", system.display_name()));
        }
        s
    }
}

/// What became of one entry.
enum Step {
    Applied,
    Conflict,
    Refused,
    Held { why: String, count: u32 },
    Retry { why: String, down: bool },
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
    // Systems whose entries were held in this run (the cache already moved them).
    let mut held: BTreeSet<System> = BTreeSet::new();
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
            if held.contains(&system) {
                continue;
            }
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
                let why = if system == System::Hubmis {
                    "HUBmis is read-only: this write stays on this computer.".to_string()
                } else {
                    format!(
                        "{} is not connected on this computer, or its secret is missing: connect it again to send this write.",
                        system.display_name()
                    )
                };
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
            match deliver(cache, sender, entry, &now, &mut jitter).await? {
                Step::Applied => report.applied += 1,
                Step::Conflict => report.conflicts += 1,
                Step::Refused => report.failed += 1,
                Step::Held { why, count } => {
                    report.held += count;
                    report.problems.insert(system, why);
                    report.unreachable.insert(system);
                    held.insert(system);
                }
                Step::Retry { why, down: is_down } => {
                    if is_down {
                        down.insert(system, why.clone());
                        report.unreachable.insert(system);
                    }
                    report.problems.insert(system, why);
                    report.deferred += 1;
                }
            }
        }
    }
    Ok(report)
}

/// The replay [`crate::Desk::replay_until`] runs, with the caller's clients and clock, for
/// benchmarks and tests on the simulators' clock. It takes no replay lock: the caller must
/// be the only one sending this cache's outbox.
pub async fn replay_with(
    cache: &Arc<Cache>,
    senders: &BTreeMap<System, Connector>,
    cancel: &CancellationToken,
    now: impl Fn() -> DateTime<Utc>,
    jitter: impl FnMut() -> f64,
) -> Result<ReplayReport> {
    replay(cache, senders, cancel, now, jitter).await
}

/// Settles an uncertain entry if need be, then sends it, and records what happened.
async fn deliver(
    cache: &Arc<Cache>,
    sender: &Connector,
    entry: OutboxEntry,
    now: &impl Fn() -> DateTime<Utc>,
    jitter: &mut impl FnMut() -> f64,
) -> Result<Step> {
    let id = entry.id;
    if entry.uncertain {
        let started_at = blocking(cache, move |c| c.last_attempt_started(id))
            .await?
            .unwrap_or(entry.updated_at);
        let known_batches = match &entry.write {
            Write::CreateBatch { target_id } => {
                let target = target_id.clone();
                blocking(cache, move |c| c.known_batch_ids(&target)).await?
            }
            _ => Vec::new(),
        };
        let request = serde_json::json!({
            "check": "Did the last request arrive? Reading the system before sending again.",
            "write": entry.write.describe(),
        });
        let at = now();
        blocking(cache, move |c| c.begin_attempt(id, &request, at)).await?;
        let ctx = SettleContext {
            started_at,
            known_batches,
        };
        let settled = sender.settle(&entry.write, &ctx).await;
        let at = now();
        match settled {
            Ok(Settled::Applied(found)) => {
                blocking(cache, move |c| c.complete(id, &found, at)).await?;
                return Ok(Step::Applied);
            }
            Ok(Settled::Conflict(server)) => {
                blocking(cache, move |c| c.conflict(id, &server, at)).await?;
                return Ok(Step::Conflict);
            }
            Ok(Settled::NotApplied) => {
                let answer = Value::String("Not on the system yet: sending it.".into());
                blocking(cache, move |c| c.settled_absent(id, &answer, at)).await?;
            }
            Err(e) => {
                return failed(cache, &entry, e, true, now, jitter).await;
            }
        }
    }
    let request = sender.request_for(&entry.write, entry.idempotency_key);
    let at = now();
    blocking(cache, move |c| c.begin_attempt(id, &request, at)).await?;
    let outcome = sender.send_write(&entry.write, entry.idempotency_key).await;
    let at = now();
    match outcome {
        Ok(SendOutcome::Applied(reply)) => {
            blocking(cache, move |c| c.complete(id, &reply, at)).await?;
            Ok(Step::Applied)
        }
        Ok(SendOutcome::Conflict(server)) => {
            blocking(cache, move |c| c.conflict(id, &server, at)).await?;
            Ok(Step::Conflict)
        }
        Err(e) => failed(cache, &entry, e, false, now, jitter).await,
    }
}

/// Records a failed send (or settle) by its kind.
async fn failed(
    cache: &Arc<Cache>,
    entry: &OutboxEntry,
    e: ConnectorError,
    settling: bool,
    now: &impl Fn() -> DateTime<Utc>,
    jitter: &mut impl FnMut() -> f64,
) -> Result<Step> {
    let (id, system) = (entry.id, entry.system);
    let why = e.user_message();
    let at = now();
    match e.disposition() {
        Disposition::Refused if !settling => {
            let msg = why.clone();
            blocking(cache, move |c| c.fail(id, &msg, at)).await?;
            Ok(Step::Refused)
        }
        Disposition::NeedsAttention => {
            let msg = why.clone();
            let count = blocking(cache, move |c| c.hold_system(system, Some(id), &msg, at)).await?;
            Ok(Step::Held {
                why,
                count: u32::try_from(count).unwrap_or(u32::MAX),
            })
        }
        disposition => {
            // A check that could not be made leaves the outcome as uncertain as it was.
            let uncertain =
                settling || matches!(disposition, Disposition::Retry { uncertain: true });
            let backoff = Backoff::default();
            let wait = backoff.delay(entry.attempts, jitter());
            let next = at + chrono::Duration::from_std(wait).unwrap_or_default();
            let msg = why.clone();
            blocking(cache, move |c| c.retry_later(id, &msg, uncertain, next, at)).await?;
            Ok(Step::Retry {
                why,
                down: is_unreachable(&e),
            })
        }
    }
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
