//! Alert rules, evaluated where the readings are.
//!
//! Everything here is a pure function of readings and their timestamps: no clock, no I/O; the
//! time is always an argument (ms since the epoch). The same state machines serve live ingest
//! ([`Evaluator`]) and `telltale alerts replay` ([`replay`]), which lets a user dry-run rules
//! against history before enabling them.
//!
//! # Rule kinds
//!
//! Every kind reduces a series to a *measure* and feeds it to one state machine
//! ([`LimitState`]): ON and OFF conditions with a deadband, an on-delay and an off-delay. An
//! alert is raised at the first observation that ends an unbroken run of ON observations
//! lasting at least the on-delay, and cleared at the first that ends an unbroken run of OFF
//! observations lasting at least the off-delay. Observations in the deadband break an OFF run
//! but keep an alert active. An observation a rule cannot judge (see rate and anomaly) is
//! ignored by that rule, like an absent row: it neither satisfies nor breaks a run.
//!
//! - `high` / `low` (ISA-18.2 limits): measure = the value. `high`: ON `value > limit`, OFF
//!   `value <= limit - deadband`; `low`: ON `value < limit`, OFF `value >= limit + deadband`.
//! - `battery_low`: a `low` limit whose metric defaults to `battery`, limit to 20 (%) and
//!   deadband to 5.
//! - `rate`: measure = |rate of change| in units per minute over `window_s`; ON `> limit`, OFF
//!   `<= limit - deadband`. Exactly: each series keeps a reading if it comes at least
//!   `window_s / 16` after the last one kept, forgets kept readings older than `window_s`, and
//!   keeps at most 16. At a reading `(t, v)` the reference `(t0, v0)` is the oldest kept reading
//!   with `t - window_s <= t0 < t`; if `t - t0 >= window_s / 2`, the rate is
//!   `(v - v0) / (t - t0)` per minute, otherwise (no reference, or too recent: the start of a
//!   series, readings sparser than the window) the reading is not judged. Constant memory.
//! - `anomaly`: measure = |z|, a robust streaming z-score; ON `|z| > limit` (default 4), OFF
//!   `|z| <= limit - deadband`. Per series: an EWMA of the value (`mean`), an EWMA of the
//!   absolute deviation from it (`dev`, weight `alpha`, default 0.05) and the smallest non-zero
//!   step seen between consecutive readings (`quantum`: the sensor's resolution). A reading is
//!   judged against the past before it is learnt: `z = (x - mean) / max(sqrt(pi/2) * dev,
//!   quantum)`. The first `warmup` readings (default 30) only train (with weights `1/n` so the
//!   start does not dominate) and are not judged; afterwards the residual is clipped at
//!   `limit * scale` before it is learnt, so a spike barely moves the baseline while a lasting
//!   shift is absorbed. Slow drift is tracked by the mean (its lag shows up in `dev` too), so it
//!   stays near |z| ~ 1; the quantum floor keeps a flat, quantized series from flagging a
//!   one-step change. A series whose readings never differed has no scale and is not judged.
//!   Chosen over a median/MAD ring buffer for constant, tiny state (five numbers) and O(1) work.
//! - `stale`: measure = silence in ms since the last reading (any metric when the rule's metric
//!   is `*`, the default), judged on [`Evaluator::tick`]: ON when `now - last >=
//!   stale_after_s`, or when the source declared the device offline ([`Evaluator::offline`],
//!   which raises at once); a reading ends it (after `off_delay_s` of readings, if set). Ticks
//!   drive it, so it is raised at the first tick past the limit, with that tick's time and no
//!   value. `on_delay_s` and `deadband` do not apply (`stale_after_s` is the delay).
//! - `forecast` / `service_due` (maintenance): measure = the time left, in seconds, until a
//!   series' trend reaches one of its high/low limits, or until a service plan on it comes due;
//!   ON `time left < horizon_s`, OFF `>= horizon_s + deadband`. Readings never feed them: the
//!   caller computes forecasts and plan states periodically and hands each series' time left to
//!   [`Evaluator::judge`] (infinity when there is no date, which clears). `metric` defaults to
//!   `*` (every series of the device that has a date), each series its own alert.
//!
//! The lifecycle (acknowledge, shelve, notifications) is in [`Lifecycle`] and [`Evaluator`].
//!
//! [`replay`] evaluates series in isolation: rules that need a device kind or tags do not apply;
//! a stale rule is judged per series with a tick at the moment each gap inside the input
//! reaches `stale_after_s` (the event's value is the last reading's), never after the end.

mod detect;
mod evaluator;
mod lifecycle;
mod limit;
mod rule;

pub use evaluator::{AlertError, AlertView, Evaluator, Snapshot};
pub use lifecycle::{AlertKey, AlertState, Lifecycle, Notification, Output, Shelving, Transition};
pub use limit::{Event, EventKind, LimitState, Phase};
pub use rule::{
    Kind, Rule, RuleError, RuleSet, Severity, Target, ANOMALY_ALPHA, ANOMALY_LIMIT, ANOMALY_WARMUP,
    BATTERY_DEADBAND, BATTERY_LIMIT, BATTERY_METRIC, MIN_NOTIFY_INTERVAL_S,
};

use detect::Detector;

/// Evaluates `rules` over readings of one device and metric that are already in time order
/// (equal timestamps in arrival order), returning every event in order.
pub fn replay<'a>(
    rules: &'a RuleSet,
    device: &'a str,
    metric: &'a str,
    readings: impl IntoIterator<Item = (i64, f64)>,
) -> Vec<Event> {
    // Maintenance kinds judge forecasts, not readings: a replay has none to give them.
    let matching: Vec<&Rule> = rules
        .matching(device, metric)
        .filter(|r| r.kind.judges_readings())
        .collect();
    let mut states: Vec<Detector> = matching.iter().map(|r| Detector::new(r.kind)).collect();
    let mut events = Vec::new();
    let mut previous: Option<(i64, f64)> = None;
    for (ts, value) in readings {
        for (rule, state) in matching.iter().zip(states.iter_mut()) {
            let mut push = |ts: i64, kind: EventKind, value: f64| {
                events.push(Event {
                    ts,
                    rule: rule.id.clone(),
                    device: device.to_owned(),
                    metric: metric.to_owned(),
                    kind,
                    value,
                })
            };
            if let (Kind::Stale, Some((last_ts, last_value))) = (rule.kind, previous) {
                let due = last_ts.saturating_add((rule.stale_after_s * 1000.0).ceil() as i64);
                if due <= ts {
                    if let Some(kind) = state.tick(rule, due).event {
                        push(due, kind, last_value);
                    }
                }
            }
            if let Some(kind) = state.observe(rule, ts, value).event {
                push(ts, kind, value);
            }
        }
        previous = Some((ts, value));
    }
    events
}
