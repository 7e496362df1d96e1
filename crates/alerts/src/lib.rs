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
//! - `anomaly`: an unusual value in an unusual pattern, judged per reading with constant
//!   state and no knowledge of the series' interval (every time constant is in readings).
//!   Robust streaming scores, each an EWMA level and EWMA absolute deviation (weight
//!   `alpha`, default 0.02, i.e. about 50 readings) whose residuals beyond `limit` spreads are
//!   clipped before they are learnt (a spike barely moves them, a lasting shift is absorbed):
//!   - `z`: how far out the value is, the smaller in size of two scores: the value against its
//!     recent level, `(x - level) / max(sqrt(pi/2) * dev, quantum)`, where `quantum` is the
//!     smallest non-zero step seen between readings (the sensor's resolution, so a flat quantized
//!     series does not flag one step); and the value against what followed the past pattern
//!     nearest to the 8 readings before it (a nearest-neighbour forecast, scored against the
//!     usual size of that gap). A daily step far from the level but seen before is not far out;
//!   - `novelty`: the last 8 readings as a pattern, its RMS distance to the nearest pattern among
//!     the last 768 readings (those that ended at least 8 readings before it starts, so a new
//!     level does not match its own first readings), scored the same way against the usual
//!     nearest distance. A daily peak has a match yesterday; a flatline in a lively series, a
//!     spike or a new level has none. When the match is this point of a cycle last time (its
//!     own match was one or two cycles before it, give or take 1/32 of the lag, or the
//!     reading half-way back matched half-way back), the usual is that of this point of the
//!     cycle: the distance is divided by how many usual distances the match and the 16
//!     readings after it were from theirs (when more than one), so the noisy half of a day
//!     that was as noisy yesterday is not novel, while a repeat that is not a cycle (a second
//!     spike) is judged as any pattern.
//!
//!   The limit judges the surprise `sqrt(|z| * max(novelty, 0))`: both must be unusual (noise
//!   in a new shape at an ordinary level, or a far value in a familiar pattern, is not). ON when
//!   the surprise exceeds `limit` (default 4) **and** every surprise remembered: the largest
//!   surprise seen, decaying with a half-life of `memory` readings (default 100), so a series
//!   that is merely noisy keeps raising its own bar; and not within `refractory` readings
//!   (default 100) after the last raise, so one excursion (and the pattern that carries it for 8
//!   readings) raises once. OFF when the value is back near its level, `|z| <= limit -
//!   deadband` (the measure kept for sentences is `z`); `on_delay_s` and `off_delay_s` work as
//!   for every kind (an on-delay needs a lasting excursion). The first
//!   `warmup` (default 30) + 24 readings only train (the pattern history needs 24 readings, a
//!   forecast one more, the scores `warmup` values each), and nothing is raised before the surprises themselves were
//!   seen for `warmup` readings. A series whose readings never differed has no scale and is not
//!   judged. State per series: the 768 readings in f32 (less the first, so that f32 keeps the
//!   resolution of readings far from zero), each with its match's lag and distance (2 + 2
//!   bytes): 6 KB, and some twenty numbers; the nearest-pattern search starts from the
//!   successor of the last match and abandons candidates early, about 1–2 µs per reading. A
//!   raise carries a note saying why ("5.2 × its usual spread above its recent level of 21.5
//!   and 6.0 × above the 21.3 that similar readings led to before, its last 8 readings 7.1 ×
//!   further than usual from anything in the 760 readings before", with "further than usual
//!   at this point of its 288-reading cycle" when a cycle's usual judged it), kept in the
//!   alert's history and used in its notification. On NAB (the Numenta Anomaly Benchmark)
//!   with these defaults it scores 63.8 (standard profile) on the 21 series in
//!   `shared/data/nab` (`cargo run --release -p telltale-alerts --example nab --
//!   ../shared/data/nab`), and raises nothing after NAB's probation on its series without
//!   anomalies.
//! - `stale`: measure = silence in ms since the last reading (any metric when the rule's metric
//!   is `*`, the default), judged on [`Evaluator::tick`]: ON when `now - last >=
//!   stale_after_s`, or when the source declared the device offline ([`Evaluator::offline`],
//!   which raises at once); a reading ends it (after `off_delay_s` of readings, if set). Ticks
//!   drive it, so it is raised at the first tick past the limit, with that tick's time and no
//!   value. `on_delay_s` and `deadband` do not apply (`stale_after_s` is the delay).
//! - `forecast` / `service_due` (upkeep): measure = the time left, in seconds, until a
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
pub mod form;
mod lifecycle;
mod limit;
mod rule;

pub use evaluator::{AlertError, AlertView, Evaluator, Snapshot};
pub use lifecycle::{AlertKey, AlertState, Lifecycle, Notification, Output, Shelving, Transition};
pub use limit::{Event, EventKind, LimitState, Phase};
pub use rule::{
    AlertKind, Rule, RuleError, RuleSet, Severity, Target, ANOMALY_ALPHA, ANOMALY_LEARN,
    ANOMALY_LIMIT, ANOMALY_MEMORY, ANOMALY_REFRACTORY, ANOMALY_WARMUP, BATTERY_DEADBAND,
    BATTERY_LIMIT, BATTERY_METRIC, MIN_NOTIFY_INTERVAL_S,
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
    replay_rules(rules.matching(device, metric), device, metric, readings)
}

/// [`replay`] of the given rules, whether or not they name this series: the caller has matched
/// them (against the device's kind and tags too, which `replay` cannot know).
pub fn replay_rules<'a>(
    rules: impl IntoIterator<Item = &'a Rule>,
    device: &str,
    metric: &str,
    readings: impl IntoIterator<Item = (i64, f64)>,
) -> Vec<Event> {
    // Maintenance kinds judge forecasts, not readings: a replay has none to give them.
    let matching: Vec<&Rule> = rules
        .into_iter()
        .filter(|r| r.kind.judges_readings())
        .collect();
    let mut states: Vec<Detector> = matching.iter().map(|r| Detector::new(r.kind)).collect();
    let mut events = Vec::new();
    let mut previous: Option<(i64, f64)> = None;
    for (ts, value) in readings {
        for (rule, state) in matching.iter().zip(states.iter_mut()) {
            let mut push = |ts: i64, kind: EventKind, value: f64, note: Option<String>| {
                events.push(Event {
                    ts,
                    rule: rule.id.clone(),
                    device: device.to_owned(),
                    metric: metric.to_owned(),
                    kind,
                    value,
                    note,
                })
            };
            if let (AlertKind::Stale, Some((last_ts, last_value))) = (rule.kind, previous) {
                let due = last_ts.saturating_add((rule.stale_after_s * 1000.0).ceil() as i64);
                if due <= ts {
                    if let Some(kind) = state.tick(rule, due).event {
                        push(due, kind, last_value, None);
                    }
                }
            }
            let step = state.observe(rule, ts, value);
            if let Some(kind) = step.event {
                push(ts, kind, value, step.note);
            }
        }
        previous = Some((ts, value));
    }
    events
}
