use crate::rule::Rule;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Raised,
    Cleared,
}

/// An alert changing state, at the reading that changed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub ts: i64,
    pub rule: String,
    pub device: String,
    pub metric: String,
    #[serde(rename = "event")]
    pub kind: EventKind,
    pub value: f64,
}

/// Whether a limit alert is raised, for one (rule, device, metric).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Transition {
    #[default]
    Inactive,
    Active,
}

/// The state a limit rule keeps per device and metric. Small and `Copy`, so it can be stored
/// and restored with the alert (a running on-delay survives a restart).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LimitState {
    pub transition: Transition,
    /// Timestamp of the first reading of the current unbroken run toward the other state.
    pub run_since: Option<i64>,
}

impl LimitState {
    /// Feeds one reading (in time order); returns the event it causes, if any.
    pub fn observe(&mut self, rule: &Rule, ts: i64, value: f64) -> Option<EventKind> {
        let (toward, delay_s, next) = match self.transition {
            Transition::Inactive => (rule.on(value), rule.on_delay_s, Transition::Active),
            Transition::Active => (rule.off(value), rule.off_delay_s, Transition::Inactive),
        };
        if !toward {
            self.run_since = None;
            return None;
        }
        let since = *self.run_since.get_or_insert(ts);
        // Delays may be fractional seconds; compare in f64 ms, as the rule states them.
        if (ts - since) as f64 >= delay_s * 1000.0 {
            self.transition = next;
            self.run_since = None;
            return Some(match next {
                Transition::Active => EventKind::Raised,
                Transition::Inactive => EventKind::Cleared,
            });
        }
        None
    }
}
