//! The time an invocation has: until a safe margin before the Lambda
//! deadline to work, and until just before it to deliver the answer.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// When the deadline has already passed on arrival (`cargo lambda watch`
/// sends a constant in the past) it is unknown: work this long instead.
const FALLBACK_BUDGET: Duration = Duration::from_secs(300);

/// Kept back for answering: a tenth of the time, between 1 and 10 seconds.
const MIN_RESERVE: Duration = Duration::from_secs(1);
const MAX_RESERVE: Duration = Duration::from_secs(10);
/// The PUT stops this long before the deadline, so the process is not frozen
/// mid-request.
const FINAL_MARGIN: Duration = Duration::from_millis(150);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    /// SageMaker work stops here, and the request is answered "timed out".
    pub(crate) work_until: Instant,
    /// The answer's PUT and its retries stop here.
    pub(crate) answer_until: Instant,
    pub(crate) total: Duration,
}

impl Budget {
    /// The last call before the answer (a hand-off's Invoke, the deletion of
    /// a replacement's new version) stops here, half-way through the
    /// reserve, so that a FAILED answer still has the other half to be sent.
    pub(crate) fn last_call_until(&self) -> Instant {
        self.work_until + (self.answer_until - self.work_until) / 2
    }

    /// With hand-offs on, the answer's PUT stops here, a quarter of the
    /// reserve before its own end: time to hand an undelivered answer on.
    pub(crate) fn hand_on_until(&self) -> Instant {
        self.answer_until - (self.answer_until - self.last_call_until()) / 2
    }

    /// From the runtime's `Lambda-Runtime-Deadline-Ms` (epoch milliseconds).
    pub(crate) fn from_deadline_ms(deadline_ms: u64) -> Self {
        let deadline = epoch_ms::at(deadline_ms);
        let left = deadline.duration_since(SystemTime::now()).unwrap_or_default();
        Self::with_time_left(if left.is_zero() { FALLBACK_BUDGET } else { left })
    }

    pub(crate) fn with_time_left(left: Duration) -> Self {
        let now = Instant::now();
        let reserve = (left / 10).clamp(MIN_RESERVE, MAX_RESERVE).min(left / 2);
        Budget {
            work_until: now + left.saturating_sub(reserve),
            answer_until: now + left.saturating_sub(FINAL_MARGIN.min(reserve / 2)),
            total: left,
        }
    }
}

/// Times on the wire (the continuation record, the provider's handover):
/// epoch milliseconds, as Lambda's deadline header.
pub(crate) mod epoch_ms {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn of(time: SystemTime) -> u64 {
        time.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
    }

    pub(crate) fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    pub(crate) fn serialize<S: Serializer>(time: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(of(*time))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        u64::deserialize(d).map(at)
    }

    /// The same, for a time that may be absent.
    pub(crate) mod option {
        use std::time::SystemTime;

        use serde::{Deserialize, Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(time: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
            match time {
                Some(time) => s.serialize_some(&super::of(*time)),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
            Option::<u64>::deserialize(d).map(|ms| ms.map(super::at))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_already_passed_means_the_fallback_budget() {
        let budget = Budget::from_deadline_ms(123);
        assert_eq!(budget.total, FALLBACK_BUDGET);
    }

    #[test]
    fn work_stops_a_safe_margin_before_the_answer_deadline() {
        let now = Instant::now();
        let long = Budget::with_time_left(Duration::from_secs(600));
        assert!(long.work_until <= now + Duration::from_secs(590) + Duration::from_millis(50));
        let short = Budget::with_time_left(Duration::from_secs(4));
        assert!(short.work_until <= now + Duration::from_secs(3) + Duration::from_millis(50));
        assert!(short.answer_until > short.work_until);
        assert!(short.answer_until <= now + Duration::from_secs(4));
    }

    #[test]
    fn a_hand_off_leaves_half_the_reserve_to_answer() {
        let budget = Budget::with_time_left(Duration::from_secs(4));
        let half = (budget.answer_until - budget.work_until) / 2;
        assert!(half >= Duration::from_millis(400), "{half:?}");
        assert_eq!(budget.answer_until - budget.last_call_until(), half);
    }

    #[test]
    fn a_deadline_in_the_future_is_used() {
        let in_a_minute = SystemTime::now() + Duration::from_secs(60);
        let budget = Budget::from_deadline_ms(epoch_ms::of(in_a_minute));
        assert!(budget.total <= Duration::from_secs(60) && budget.total > Duration::from_secs(58));
    }
}
