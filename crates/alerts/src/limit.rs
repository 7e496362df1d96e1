use crate::rule::Rule;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Raised,
    Cleared,
}

/// An alert changing state, at the reading that changed it (what `replay` reports).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub ts: i64,
    pub rule: String,
    pub device: String,
    pub metric: String,
    #[serde(rename = "event")]
    pub kind: EventKind,
    pub value: f64,
    /// Why it was raised, in words, when the rule says more than its value (anomaly).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Whether a limit's condition is raised, for one (rule, device, metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Inactive,
    Active,
}

/// The state a limit keeps per device and metric: the phase and a running delay. Small and
/// `Copy`, persisted with the alert, so a running on-delay survives a restart.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LimitState {
    pub phase: Phase,
    /// Timestamp of the first reading of the current unbroken run toward the other phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_since: Option<i64>,
}

impl LimitState {
    /// Feeds one reading of a `high`, `low` or `battery_low` rule (in time order); returns the
    /// event it causes, if any.
    pub fn observe(&mut self, rule: &Rule, ts: i64, value: f64) -> Option<EventKind> {
        self.step(
            rule.on(value),
            rule.off(value),
            ts,
            rule.on_delay_s,
            rule.off_delay_s,
        )
    }

    /// Feeds one observation whose ON and OFF conditions are already known. While inactive,
    /// only ON matters (anything else restarts the on-delay); while active, only OFF.
    pub fn step(
        &mut self,
        on: bool,
        off: bool,
        ts: i64,
        on_delay_s: f64,
        off_delay_s: f64,
    ) -> Option<EventKind> {
        let (toward, delay_s, next) = match self.phase {
            Phase::Inactive => (on, on_delay_s, Phase::Active),
            Phase::Active => (off, off_delay_s, Phase::Inactive),
        };
        if !toward {
            self.run_since = None;
            return None;
        }
        let since = *self.run_since.get_or_insert(ts);
        // Delays may be fractional seconds; compare in f64 ms, as the rule states them.
        if (ts - since) as f64 >= delay_s * 1000.0 {
            self.phase = next;
            self.run_since = None;
            return Some(match next {
                Phase::Active => EventKind::Raised,
                Phase::Inactive => EventKind::Cleared,
            });
        }
        None
    }

    pub fn is_active(&self) -> bool {
        self.phase == Phase::Active
    }
}
