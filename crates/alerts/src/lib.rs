//! Alert rules, evaluated where the readings are.
//!
//! Everything here is a pure function of readings and their timestamps: no clock, no I/O. The
//! same state machine serves live ingest and `telltale alerts replay`, which lets a user dry-run
//! rules against history before enabling them.
//!
//! Limit semantics (ISA-18.2 style): for `high` the ON condition is `value > limit` and the OFF
//! condition `value <= limit - deadband`; for `low`, `value < limit` and `value >= limit +
//! deadband`. An alert is raised at the first reading that ends an unbroken run of ON readings
//! lasting at least the on-delay, and cleared at the first reading that ends an unbroken run of
//! OFF readings lasting at least the off-delay. Readings in the deadband break an OFF run but
//! keep an alert active.

mod limit;
mod rule;

pub use limit::{Event, EventKind, LimitState, Transition};
pub use rule::{Kind, Rule, RuleError, RuleSet};

/// Evaluates `rules` over readings of one device and metric that are already in time order
/// (equal timestamps in arrival order), returning every event in order.
pub fn replay<'a>(
    rules: &'a RuleSet,
    device: &'a str,
    metric: &'a str,
    readings: impl IntoIterator<Item = (i64, f64)>,
) -> Vec<Event> {
    let matching: Vec<&Rule> = rules.matching(device, metric).collect();
    let mut states = vec![LimitState::default(); matching.len()];
    let mut events = Vec::new();
    for (ts, value) in readings {
        for (rule, state) in matching.iter().zip(states.iter_mut()) {
            if let Some(kind) = state.observe(rule, ts, value) {
                events.push(Event {
                    ts,
                    rule: rule.id.clone(),
                    device: device.to_owned(),
                    metric: metric.to_owned(),
                    kind,
                    value,
                });
            }
        }
    }
    events
}
