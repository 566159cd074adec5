//! A record of every request served and every write applied, for tests to assert on.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::faults::Fault;
use crate::SystemKind;

#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub system: SystemKind,
    pub method: String,
    pub path: String,
    /// The raw query string, as sent (tests check `api_key` placement, paging, filters).
    pub query: String,
    /// Request headers, names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// The status sent; 0 when the connection was closed instead.
    pub status: u16,
    /// The fault injected into this request, if any.
    pub fault: Option<Fault>,
    pub at: DateTime<Utc>,
}

/// One state change a simulator applied (a mark stored, a roster record imported, a batch
/// created, a grade set, …). Replays that change nothing are not recorded here.
#[derive(Debug, Clone, Serialize)]
pub struct WriteRecord {
    pub system: SystemKind,
    /// e.g. `attendance.create`, `rosterrecord.import`, `batch.create`, `user.update`.
    pub kind: String,
    /// The idempotency key or natural key of the write, when there is one.
    pub key: Option<String>,
    pub body: Value,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Default, Debug)]
pub struct Recorder {
    requests: Arc<Mutex<Vec<RequestRecord>>>,
    writes: Arc<Mutex<Vec<WriteRecord>>>,
}

impl Recorder {
    pub fn request(&self, r: RequestRecord) {
        self.requests.lock().expect("recorder lock").push(r);
    }

    pub fn write(&self, w: WriteRecord) {
        self.writes.lock().expect("recorder lock").push(w);
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.requests.lock().expect("recorder lock").clone()
    }

    pub fn writes(&self) -> Vec<WriteRecord> {
        self.writes.lock().expect("recorder lock").clone()
    }

    pub fn requests_for(&self, system: SystemKind) -> Vec<RequestRecord> {
        self.requests()
            .into_iter()
            .filter(|r| r.system == system)
            .collect()
    }

    pub fn writes_for(&self, system: SystemKind) -> Vec<WriteRecord> {
        self.writes()
            .into_iter()
            .filter(|w| w.system == system)
            .collect()
    }

    /// The writes of one kind applied by one system, in order (e.g. `attendance.create`).
    pub fn writes_of(&self, system: SystemKind, kind: &str) -> Vec<WriteRecord> {
        self.writes()
            .into_iter()
            .filter(|w| w.system == system && w.kind == kind)
            .collect()
    }

    /// How many times each key was applied by one system's writes of one kind, so a test can
    /// check that every write landed exactly once. Writes without a key count under `None`.
    pub fn write_counts(&self, system: SystemKind, kind: &str) -> BTreeMap<Option<String>, usize> {
        let mut out = BTreeMap::new();
        for w in self.writes_of(system, kind) {
            *out.entry(w.key).or_insert(0) += 1;
        }
        out
    }

    /// The requests into which a fault was injected, in order.
    pub fn faulted_requests(&self) -> Vec<RequestRecord> {
        self.requests()
            .into_iter()
            .filter(|r| r.fault.is_some())
            .collect()
    }

    pub fn clear(&self) {
        self.requests.lock().expect("recorder lock").clear();
        self.writes.lock().expect("recorder lock").clear();
    }
}
