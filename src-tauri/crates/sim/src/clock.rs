//! A controllable clock: simulators read time only from here, so token expiry and
//! rate-limit windows can be tested in milliseconds.

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub struct SimClock {
    inner: Arc<Mutex<ClockMode>>,
}

#[derive(Debug)]
enum ClockMode {
    /// Real time plus an offset that tests may advance.
    Real { offset: Duration },
    /// Fixed time that only moves when told to.
    Frozen(DateTime<Utc>),
}

impl Default for SimClock {
    fn default() -> Self {
        SimClock::real()
    }
}

impl SimClock {
    /// Follows the wall clock (plus whatever `advance` adds).
    pub fn real() -> Self {
        SimClock {
            inner: Arc::new(Mutex::new(ClockMode::Real {
                offset: Duration::zero(),
            })),
        }
    }

    /// Stands still at `at` until advanced.
    pub fn frozen(at: DateTime<Utc>) -> Self {
        SimClock {
            inner: Arc::new(Mutex::new(ClockMode::Frozen(at))),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &*self.inner.lock().expect("clock lock") {
            ClockMode::Real { offset } => Utc::now() + *offset,
            ClockMode::Frozen(at) => *at,
        }
    }

    /// Moves time forward (both modes).
    pub fn advance(&self, by: std::time::Duration) {
        let by = Duration::from_std(by).expect("duration in range");
        match &mut *self.inner.lock().expect("clock lock") {
            ClockMode::Real { offset } => *offset += by,
            ClockMode::Frozen(at) => *at += by,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_moves_only_when_advanced() {
        let t0 = DateTime::parse_from_rfc3339("2026-09-01T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = SimClock::frozen(t0);
        assert_eq!(c.now(), t0);
        c.advance(std::time::Duration::from_secs(901));
        assert_eq!((c.now() - t0).num_seconds(), 901);
    }
}
