//! Helpers shared by the scenario tables: one rule, a script of readings, ticks and offline
//! declarations, and the events or outputs it produced, written compactly.
#![allow(dead_code)]

use telltale_alerts::{AlertKind, Evaluator, Output, RuleSet, Target};

pub fn rules(text: &str) -> RuleSet {
    RuleSet::from_toml(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// One rule with id `r` on every device, from the lines that follow its header.
pub fn one_rule(body: &str) -> RuleSet {
    rules(&format!("[[rule]]\nid = \"r\"\ndevice = \"*\"\n{body}"))
}

/// What happens to the evaluator, in order.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// A reading of device `d`, metric `t` (ts in ms).
    R(i64, f64),
    /// A reading of another metric of device `d`.
    M(&'static str, i64, f64),
    Tick(i64),
    Offline(i64),
    /// A forecast for `d`/`t` at ts: seconds until its trend reaches a limit.
    Eta(i64, f64),
    /// A service plan on `d`/`t` at ts: seconds until it comes due.
    Due(i64, f64),
}

pub fn apply(ev: &mut Evaluator, step: Step) -> Vec<Output> {
    match step {
        Step::R(ts, v) => ev.observe(&Target::new("d", "t"), ts, v),
        Step::M(metric, ts, v) => ev.observe(&Target::new("d", metric), ts, v),
        Step::Tick(now) => ev.tick(now),
        Step::Offline(now) => ev.offline("d", now),
        Step::Eta(now, left) => ev.judge(&Target::new("d", "t"), AlertKind::Forecast, now, left),
        Step::Due(now, left) => ev.judge(&Target::new("d", "t"), AlertKind::ServiceDue, now, left),
    }
}

/// The condition's edges as (ts, "raised" | "cleared"), read from the transitions.
pub fn edges(outputs: &[Output]) -> Vec<(i64, &'static str)> {
    outputs
        .iter()
        .filter_map(Output::as_transition)
        .filter_map(|t| match (t.from.is_active(), t.to.is_active()) {
            (false, true) => Some((t.ts, "raised")),
            (true, false) => Some((t.ts, "cleared")),
            _ => None,
        })
        .collect()
}

pub fn run(set: &RuleSet, steps: &[Step]) -> Vec<Output> {
    let mut ev = Evaluator::new(set.clone());
    steps.iter().flat_map(|s| apply(&mut ev, *s)).collect()
}

/// A deterministic noise source (xorshift): roughly normal, zero mean, unit spread, bounded
/// (a sum of three uniforms).
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Self {
        Noise(seed.max(1))
    }

    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    pub fn next(&mut self) -> f64 {
        // The sum of three uniforms on [-0.5, 0.5] has variance 1/4.
        2.0 * (self.uniform() + self.uniform() + self.uniform())
    }
}
