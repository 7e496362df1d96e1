//! Table-driven scenarios for every rule kind, run through the live evaluator: each is a rule,
//! a script of readings, ticks and offline declarations, and the edges expected, written as
//! (ts, "raised" | "cleared").

mod common;

use common::{apply, edges, one_rule, rules, run, Noise, Step, Step::*};
use telltale_alerts::{replay, AlertKind, Evaluator, EventKind, RuleSet, Severity, Target};

type Case = (
    &'static str,
    &'static str,
    Vec<Step>,
    Vec<(i64, &'static str)>,
);

fn check(cases: &[Case]) {
    for (what, rule, steps, want) in cases {
        let got = edges(&run(&one_rule(rule), steps));
        assert_eq!(&got, want, "{what}");
    }
}

const fn s(secs: i64) -> i64 {
    secs * 1000
}

/// Readings every 10 s from t = 0 with the given values.
fn every_10s(values: &[f64]) -> Vec<Step> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| R(s(10 * i as i64), *v))
        .collect()
}

#[test]
fn high_and_low_limits() {
    #[rustfmt::skip]
    check(&[
        ("high: deadband keeps the alert, delays as in replay",
         "metric = \"t\"\nkind = \"high\"\nlimit = 10\ndeadband = 1",
         vec![R(1, 11.0), R(2, 9.5), R(3, 10.2), R(4, 9.0), R(5, 9.5), R(6, 10.1)],
         vec![(1, "raised"), (4, "cleared"), (6, "raised")]),
        ("high: on-delay restarts on a normal reading",
         "metric = \"t\"\nkind = \"high\"\nlimit = 0\non_delay_s = 10",
         vec![R(s(0), 1.0), R(s(5), 1.0), R(s(9), -1.0), R(s(10), 1.0), R(s(20), 1.0)],
         vec![(s(20), "raised")]),
        ("low: off-delay restarts on a reading in the deadband",
         "metric = \"t\"\nkind = \"low\"\nlimit = 0\ndeadband = 2\noff_delay_s = 5",
         vec![R(s(0), -1.0), R(s(1), 3.0), R(s(4), 1.0), R(s(5), 3.0), R(s(10), 3.0)],
         vec![(s(0), "raised"), (s(10), "cleared")]),
        ("ticks do not judge limits",
         "metric = \"t\"\nkind = \"high\"\nlimit = 0\non_delay_s = 10",
         vec![R(s(0), 1.0), Tick(s(20)), Tick(s(30))],
         vec![]),
        ("non-finite values are absent",
         "metric = \"t\"\nkind = \"high\"\nlimit = 0\non_delay_s = 10",
         vec![R(s(0), 1.0), R(s(5), f64::NAN), R(s(10), 1.0)],
         vec![(s(10), "raised")]),
    ]);
}

#[test]
fn battery_low_defaults() {
    let set = one_rule("kind = \"battery_low\"");
    let rule = &set.rules[0];
    assert_eq!(
        (
            rule.metric.as_str(),
            rule.limit,
            rule.deadband,
            rule.severity
        ),
        ("battery", 20.0, 5.0, Severity::Warning)
    );
    let mut ev = Evaluator::new(set.clone());
    let battery = Target::new("d", "battery");
    let out: Vec<_> = [
        (1, 30.0),
        (2, 21.0),
        (3, 19.9),
        (4, 22.0),
        (5, 24.9),
        (6, 25.0),
    ]
    .into_iter()
    .flat_map(|(ts, v)| ev.observe(&battery, ts, v))
    .collect();
    assert_eq!(edges(&out), vec![(3, "raised"), (6, "cleared")]);
    // Another metric of the same device is not watched.
    assert!(ev.observe(&Target::new("d", "t"), 7, 1.0).is_empty());
    // Overridden defaults.
    let set = one_rule("kind = \"battery_low\"\nmetric = \"batt\"\nlimit = 10\ndeadband = 0");
    assert_eq!(
        (
            set.rules[0].metric.as_str(),
            set.rules[0].limit,
            set.rules[0].deadband
        ),
        ("batt", 10.0, 0.0)
    );
}

#[test]
fn rate_of_change() {
    let rate = "metric = \"t\"\nkind = \"rate\"\nlimit = 2\nwindow_s = 60";
    let ramp =
        |per_10s: f64, n: usize| -> Vec<f64> { (0..n).map(|i| i as f64 * per_10s).collect() };
    // After a fast rise of 30 in 30 s, a slope of 1.5 per minute, then flat.
    let mut slow_tail = vec![0.0, f64::NAN, f64::NAN, 30.0];
    slow_tail.extend((1..=7).map(|i| 30.0 + 0.25 * i as f64));
    slow_tail.extend([31.75, 31.75, 31.75]);
    let slow_tail: Vec<Step> = every_10s(&slow_tail);
    #[rustfmt::skip]
    check(&[
        ("a steady slope under the limit (1/min) is not flagged",
         rate, every_10s(&ramp(1.0 / 6.0, 40)), vec![]),
        ("a fast rise is judged once the span reaches half the window (30 s)",
         rate, every_10s(&ramp(10.0, 6)), vec![(s(30), "raised")]),
        ("a fast fall is flagged the same way (|rate|)",
         rate, every_10s(&[30.0, 20.0, 10.0, 0.0]), vec![(s(30), "raised")]),
        ("a rate under the limit clears (no deadband)",
         rate, slow_tail.clone(), vec![(s(30), "raised"), (s(70), "cleared")]),
        ("with a deadband of 1/min, 1.5/min keeps it; flat clears",
         "metric = \"t\"\nkind = \"rate\"\nlimit = 2\nwindow_s = 60\ndeadband = 1",
         slow_tail, vec![(s(30), "raised"), (s(120), "cleared")]),
        ("on-delay: the rate must stay above the limit for 20 s",
         "metric = \"t\"\nkind = \"rate\"\nlimit = 2\nwindow_s = 60\non_delay_s = 20",
         every_10s(&ramp(10.0, 6)), vec![(s(50), "raised")]),
        ("readings sparser than the window are not judged",
         rate, vec![R(s(0), 0.0), R(s(120), 100.0), R(s(240), 0.0)], vec![]),
        ("readings exactly one window apart are judged",
         rate, vec![R(s(0), 0.0), R(s(60), 100.0)], vec![(s(60), "raised")]),
        ("a burst of readings at one instant has no rate",
         rate, vec![R(5, 0.0), R(5, 50.0), R(5, 100.0)], vec![]),
        ("dense readings (every second) keep at most 16, the span stays near the window",
         rate, (0..300).map(|i| R(s(i), if i < 200 { 0.0 } else { (i - 200) as f64 * 0.1 })).collect(),
         vec![(s(221), "raised")]),
    ]);
}

#[test]
fn stale_and_offline() {
    let stale = "kind = \"stale\"\nmetric = \"t\"\nstale_after_s = 60";
    #[rustfmt::skip]
    check(&[
        ("silence of stale_after_s raises at the first tick that sees it; a reading clears",
         stale,
         vec![R(0, 1.0), Tick(s(30)), Tick(s(60) - 1), Tick(s(60)), Tick(s(65)), R(s(70), 1.0), Tick(s(80))],
         vec![(s(60), "raised"), (s(70), "cleared")]),
        ("ticks while readings keep coming raise nothing",
         stale, vec![R(0, 1.0), Tick(s(50)), R(s(55), 1.0), Tick(s(110)), R(s(112), 1.0)], vec![]),
        ("a reading stamped an hour ahead of the clock counts as heard at the next tick",
         stale, vec![R(s(3600), 1.0), Tick(s(1)), Tick(s(60)), Tick(s(61))],
         vec![(s(61), "raised")]),
        ("a device never heard from is not stale",
         stale, vec![Tick(s(1000)), Offline(s(1001))], vec![]),
        ("offline raises at once; the next reading clears",
         stale, vec![R(0, 1.0), Offline(s(10)), Tick(s(20)), R(s(30), 1.0), Tick(s(40))],
         vec![(s(10), "raised"), (s(30), "cleared")]),
        ("offline while already stale changes nothing",
         stale, vec![R(0, 1.0), Tick(s(60)), Offline(s(61))], vec![(s(60), "raised")]),
        ("off-delay: readings must keep coming for 30 s (ticks count)",
         "kind = \"stale\"\nmetric = \"t\"\nstale_after_s = 60\noff_delay_s = 30",
         vec![R(0, 1.0), Tick(s(60)), R(s(70), 1.0), Tick(s(90)), Tick(s(100))],
         vec![(s(60), "raised"), (s(100), "cleared")]),
        ("off-delay: going silent again restarts it",
         "kind = \"stale\"\nmetric = \"t\"\nstale_after_s = 60\noff_delay_s = 30",
         vec![R(0, 1.0), Tick(s(60)), R(s(70), 1.0), Tick(s(130)), R(s(150), 1.0), R(s(179), 1.0), R(s(180), 1.0)],
         vec![(s(60), "raised"), (s(180), "cleared")]),
        ("device-wide (metric omitted): any metric keeps the device fresh",
         "kind = \"stale\"\nstale_after_s = 60",
         vec![R(0, 1.0), M("humidity", s(50), 40.0), Tick(s(100)), Tick(s(110))],
         vec![(s(110), "raised")]),
        ("per-metric: another metric does not",
         stale,
         vec![R(0, 1.0), M("humidity", s(50), 40.0), Tick(s(60))],
         vec![(s(60), "raised")]),
    ]);
}

#[test]
fn stale_device_wide_is_one_alert() {
    let set = one_rule("kind = \"stale\"\nstale_after_s = 60");
    let out = run(
        &set,
        &[
            R(0, 1.0),
            M("humidity", 0, 40.0),
            Tick(s(60)),
            Offline(s(61)),
        ],
    );
    let t: Vec<_> = out.iter().filter_map(|o| o.as_transition()).collect();
    assert_eq!(t.len(), 1, "{out:?}");
    assert_eq!((t[0].metric.as_str(), t[0].value), ("*", None));
    let n: Vec<_> = out.iter().filter_map(|o| o.as_notification()).collect();
    assert_eq!(n[0].body, "d has sent nothing for 60 s (r)");
}

/// A series: `n` readings a minute apart of `f(i)`.
fn series(n: usize, f: impl Fn(usize) -> f64) -> Vec<Step> {
    (0..n).map(|i| R(s(60 * i as i64), f(i))).collect()
}

#[test]
fn anomaly() {
    // These cases are about judging, not about a new series' learning: `learn = 0` judges from
    // the first readings on (the default is below).
    let rule = "metric = \"t\"\nkind = \"anomaly\"\nlearn = 0";
    let noisy = |seed: u64, sigma: f64| {
        let mut noise = Noise::new(seed);
        let values: Vec<f64> = (0..3000).map(|_| sigma * noise.next()).collect();
        move |i: usize| values[i]
    };
    let spike_at = |at: usize, size: f64, base: Box<dyn Fn(usize) -> f64>| {
        move |i: usize| base(i) + if i == at { size } else { 0.0 }
    };
    #[rustfmt::skip]
    check(&[
        ("noise alone is not flagged",
         rule, series(3000, noisy(1, 0.1)), vec![]),
        ("a spike is flagged, and clears at the next normal reading",
         rule, series(200, spike_at(100, 3.0, Box::new(noisy(2, 0.1)))),
         vec![(s(60 * 100), "raised"), (s(60 * 101), "cleared")]),
        ("a downward spike too",
         rule, series(200, spike_at(150, -3.0, Box::new(noisy(3, 0.1)))),
         vec![(s(60 * 150), "raised"), (s(60 * 151), "cleared")]),
        // Judged from 23 + warmup readings on (a pattern is 8 readings, compared with patterns
        // before it), raised from 23 + 2 warmup on (the surprises must have a usual first).
        ("a spike during the warm-up (23 + 2 x 30 readings) is not",
         rule, series(200, spike_at(60, 3.0, Box::new(noisy(4, 0.1)))), vec![]),
        ("a shorter warm-up judges it",
         "metric = \"t\"\nkind = \"anomaly\"\nlearn = 0\nwarmup = 10",
         series(200, spike_at(60, 3.0, Box::new(noisy(4, 0.1)))),
         vec![(s(60 * 60), "raised"), (s(60 * 61), "cleared")]),
        ("slow drift with noise is not flagged",
         rule, series(3000, { let n = noisy(5, 0.1); move |i| 0.01 * i as f64 + n(i) }), vec![]),
        ("a noise-free ramp is not flagged",
         rule, series(2000, |i| 20.0 + 0.05 * i as f64), vec![]),
        ("a flat quantized series: one step is not an anomaly, a jump is",
         rule,
         series(160, |i| match i { 100 | 125 => 4.1, 140 => 6.0, _ => 4.0 }),
         vec![(s(60 * 140), "raised"), (s(60 * 141), "cleared")]),
        ("a series that never varied has no scale: its first change is not judged",
         rule, series(50, |i| if i == 40 { 9.0 } else { 4.0 }), vec![]),
        ("a spike of 5 sigma is not enough by default",
         rule, series(200, spike_at(100, 0.5, Box::new(noisy(6, 0.1)))), vec![]),
        ("a lower limit flags it",
         "metric = \"t\"\nkind = \"anomaly\"\nlearn = 0\nlimit = 2.5",
         series(200, spike_at(100, 0.5, Box::new(noisy(6, 0.1)))),
         vec![(s(60 * 100), "raised"), (s(60 * 101), "cleared")]),
        ("the same excursion raises once: a second spike in the refractory period does not",
         rule,
         series(300, { let n = noisy(8, 0.1); move |i| n(i) + if i == 150 || i == 170 { 3.0 } else { 0.0 } }),
         vec![(s(60 * 150), "raised"), (s(60 * 151), "cleared")]),
        // Without it the spike's pattern raises again on its way out of the 8-reading window.
        ("without a refractory period and with a short memory it raises again",
         "metric = \"t\"\nkind = \"anomaly\"\nlearn = 0\nrefractory = 0\nmemory = 1",
         series(300, { let n = noisy(8, 0.1); move |i| n(i) + if i == 150 || i == 170 { 3.0 } else { 0.0 } }),
         vec![(s(60 * 150), "raised"), (s(60 * 151), "cleared"),
              (s(60 * 154), "raised"), (s(60 * 155), "cleared"),
              (s(60 * 156), "raised"), (s(60 * 157), "cleared"),
              (s(60 * 170), "raised"), (s(60 * 171), "cleared")]),
        ("by default a new series is learnt for 192 readings: a spike at 100 is not raised",
         "metric = \"t\"\nkind = \"anomaly\"",
         series(200, spike_at(100, 3.0, Box::new(noisy(2, 0.1)))), vec![]),
        ("and the same spike after them is",
         "metric = \"t\"\nkind = \"anomaly\"",
         series(400, spike_at(300, 3.0, Box::new(noisy(2, 0.1)))),
         vec![(s(60 * 300), "raised"), (s(60 * 301), "cleared")]),
        ("an on-delay ignores a single spike",
         "metric = \"t\"\nkind = \"anomaly\"\nlearn = 0\non_delay_s = 60",
         series(200, spike_at(100, 3.0, Box::new(noisy(7, 0.1)))), vec![]),
    ]);
}

#[test]
fn anomaly_level_shift_is_flagged_then_learnt() {
    let mut noise = Noise::new(9);
    let n: Vec<f64> = (0..600).map(|_| 0.1 * noise.next()).collect();
    let steps = series(600, |i| if i < 300 { n[i] } else { 5.0 + n[i] });
    let got = edges(&run(
        &one_rule("metric = \"t\"\nkind = \"anomaly\""),
        &steps,
    ));
    assert_eq!(got.first(), Some(&(s(60 * 300), "raised")), "{got:?}");
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1].1, "cleared");
    assert!(
        got[1].0 < s(60 * 400),
        "absorbed within 100 readings: {got:?}"
    );
}

/// The evaluator and `replay` agree on every kind judged on readings.
#[test]
fn evaluator_agrees_with_replay() {
    let set = rules(
        "[[rule]]\nid = \"hi\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"high\"\nlimit = 1\ndeadband = 0.5\non_delay_s = 120\n\
         [[rule]]\nid = \"lo\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"low\"\nlimit = -1\noff_delay_s = 60\n\
         [[rule]]\nid = \"rate\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"rate\"\nlimit = 0.08\ndeadband = 0.02\nwindow_s = 300\n\
         [[rule]]\nid = \"odd\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"anomaly\"\nlimit = 3\n\
         [[rule]]\nid = \"bat\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"battery_low\"\nlimit = -1.5\ndeadband = 0.2\n",
    );
    let mut noise = Noise::new(11);
    let readings: Vec<(i64, f64)> = (0..2000)
        .map(|i| {
            let spike = if i == 700 || i == 1500 { 3.0 } else { 0.0 };
            (
                s(30 * i),
                (i as f64 / 50.0).sin() * 2.0 + 0.3 * noise.next() + spike,
            )
        })
        .collect();
    let replayed: Vec<(i64, String, &str)> = replay(&set, "d", "t", readings.iter().copied())
        .into_iter()
        .map(|e| {
            let kind = match e.kind {
                EventKind::Raised => "raised",
                EventKind::Cleared => "cleared",
            };
            (e.ts, e.rule, kind)
        })
        .collect();
    let mut ev = Evaluator::new(set);
    let mut live = Vec::new();
    for (ts, v) in &readings {
        for o in ev.observe(&Target::new("d", "t"), *ts, *v) {
            if let Some(t) = o.as_transition() {
                let kind = if t.to.is_active() {
                    "raised"
                } else {
                    "cleared"
                };
                live.push((t.ts, t.rule.clone(), kind));
            }
        }
    }
    assert_eq!(live, replayed);
    for id in ["hi", "lo", "rate", "odd", "bat"] {
        assert!(replayed.iter().any(|e| e.1 == id), "{id} never fired");
    }
}

#[test]
fn replay_judges_stale_gaps_inside_the_input() {
    let set = one_rule("kind = \"stale\"\nstale_after_s = 60\nmetric = \"t\"");
    let events = replay(
        &set,
        "d",
        "t",
        [(0, 1.0), (s(30), 2.0), (s(200), 3.0), (s(210), 4.0)],
    );
    let got: Vec<_> = events.iter().map(|e| (e.ts, e.kind, e.value)).collect();
    assert_eq!(
        got,
        vec![
            (s(90), EventKind::Raised, 2.0),
            (s(200), EventKind::Cleared, 3.0)
        ]
    );
}

#[test]
fn targeting_by_device_kind_and_tags() {
    let set = rules(
        "[[rule]]\nid = \"freezers\"\ndevice = \"*\"\ndevice_kind = \"freezer\"\nmetric = \"t\"\nkind = \"high\"\nlimit = -15\n\
         [[rule]]\nid = \"garage\"\ndevice = \"*\"\ntags = [\"garage\", \"critical\"]\nmetric = \"t\"\nkind = \"high\"\nlimit = -15\nseverity = \"critical\"\n\
         [[rule]]\nid = \"one\"\ndevice = \"chest\"\nmetric = \"t\"\nkind = \"high\"\nlimit = -15\n",
    );
    let garage = vec!["garage".to_owned(), "critical".to_owned(), "x".to_owned()];
    let only_garage = vec!["garage".to_owned()];
    let target = |device, kind, tags| Target {
        id: device,
        device,
        kind,
        tags,
        metric: "t",
        unit: None,
    };
    #[rustfmt::skip]
    let cases: Vec<(Target, Vec<&str>)> = vec![
        (target("chest", Some("freezer"), &garage), vec!["freezers", "garage", "one"]),
        (target("upright", Some("freezer"), &only_garage), vec!["freezers"]),
        (target("upright", Some("fridge"), &garage), vec!["garage"]),
        (target("upright", None, &[]), vec![]),
        (target("chest", None, &[]), vec!["one"]),
    ];
    for (t, want) in cases {
        let got: Vec<&str> = set
            .rules
            .iter()
            .filter(|r| r.applies(&t))
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(got, want, "{t:?}");
        let mut ev = Evaluator::new(set.clone());
        let fired: Vec<String> = ev
            .observe(&t, 0, -10.0)
            .iter()
            .filter_map(|o| o.as_transition())
            .map(|tr| tr.rule.clone())
            .collect();
        assert_eq!(fired, want, "{t:?}");
    }
    assert_eq!(set.rules[1].severity, Severity::Critical);
    // replay knows neither kinds nor tags: only the plain rule applies.
    assert_eq!(set.matching("chest", "t").count(), 1);
}

#[test]
fn a_device_changing_kind_gets_its_rules_recomputed() {
    let set = rules(
        "[[rule]]\nid = \"freezers\"\ndevice = \"*\"\ndevice_kind = \"freezer\"\nmetric = \"t\"\nkind = \"high\"\nlimit = -15\n",
    );
    let mut ev = Evaluator::new(set);
    let mut t = Target::new("box", "t");
    assert!(ev.observe(&t, 0, -10.0).is_empty());
    t.kind = Some("freezer");
    assert_eq!(edges(&ev.observe(&t, 1, -10.0)), vec![(1, "raised")]);
    t.kind = Some("pantry");
    let out = ev.observe(&t, 2, -10.0);
    assert_eq!(edges(&out), vec![(2, "cleared")], "{out:?}");
    assert!(ev.active().is_empty());
}

#[test]
fn bad_rules_are_errors_on_one_line() {
    let head = "[[rule]]\nid = \"x\"\ndevice = \"*\"\n";
    #[rustfmt::skip]
    let bad = [
        ("metric = \"t\"\nkind = \"sideways\"\nlimit = 1", "line 5: unknown variant `sideways`"),
        ("metric = \"t\"\nkind = \"high\"", "kind high needs limit"),
        ("kind = \"high\"\nlimit = 1", "kind high needs metric"),
        ("metric = \"t\"\nkind = \"high\"\nlimit = 1\nwindow_s = 60", "window_s does not apply to kind high"),
        ("metric = \"t\"\nkind = \"rate\"\nlimit = 1", "kind rate needs window_s"),
        ("metric = \"t\"\nkind = \"rate\"\nlimit = 0\nwindow_s = 60", "limit must be positive"),
        ("metric = \"t\"\nkind = \"rate\"\nlimit = 1\nwindow_s = 0", "window_s must be positive"),
        ("metric = \"t\"\nkind = \"rate\"\nlimit = 1\nwindow_s = 60\ndeadband = 1", "deadband must be smaller"),
        ("kind = \"stale\"", "kind stale needs stale_after_s"),
        ("kind = \"stale\"\nstale_after_s = 0", "stale_after_s must be positive"),
        ("kind = \"stale\"\nstale_after_s = 60\nlimit = 3", "limit does not apply to kind stale"),
        ("metric = \"t\"\nkind = \"high\"\nlimit = 1\nrefractory = 5", "refractory does not apply to kind high"),
        ("metric = \"t\"\nkind = \"anomaly\"\nmemory = 0", "memory must be at least 1"),
        ("metric = \"t\"\nkind = \"anomaly\"\nlearn = 769", "learn must be at most 768"),
        ("kind = \"stale\"\nstale_after_s = 60\non_delay_s = 3", "on_delay_s does not apply to kind stale"),
        ("metric = \"t\"\nkind = \"anomaly\"\nalpha = 1.5", "alpha must be in (0, 1]"),
        ("metric = \"t\"\nkind = \"anomaly\"\nalpha = 0", "alpha must be in (0, 1]"),
        ("metric = \"t\"\nkind = \"anomaly\"\nwarmup = 1", "warmup must be at least 2"),
        ("metric = \"t\"\nkind = \"anomaly\"\nwarmup = -3", "line 6:"),
        ("metric = \"t\"\nkind = \"anomaly\"\nwarmup = 2.5", "line 6:"),
        ("metric = \"t\"\nkind = \"high\"\nlimit = 1\nseverity = \"urgent\"", "unknown variant `urgent`"),
        ("metric = \"*\"\nkind = \"high\"\nlimit = 1", "metric \"*\" is only for kinds stale, forecast"),
        ("metric = \"t\"\nkind = \"high\"\nlimt = 1", "unknown field `limt`"),
        ("metric = \"t\"\nkind = \"high\"\nlimit = \"ten\"", "line 6:"),
        ("metric = \"t\"\nkind = \"high\"\nlimit = inf", "limit must be a finite number"),
        ("metric = \"t\"\nkind = \"high\"\nlimit = 1\nrenotify_s = -1", "renotify_s must not be negative"),
        ("metric = \"t\"\nkind = \"high\"\nlimit = 1\nmin_notify_interval_s = nan", "min_notify_interval_s must be a finite"),
        ("metric = \"t\"\nkind = \"high\"\nlimit = 1\ntags = [\"\"]", "tags must not be empty"),
        ("metric = \"t\"\nkind = \"high\"\nlimit = 1\ntags = \"garage\"", "line 7: invalid type"),
        ("metric = \"t\"\nkind = \"high\"\nlimit = 1\ndevice_kind = \"\"", "device_kind must not be empty"),
        ("metric = \"t\"\nkind = \"high\"\nlimit = 1\n[[rule]]\nid = \"x\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"low\"\nlimit = 1", "used twice"),
        ("metric = \"t\"\nkind = \"high\"\nlimit = ", "line 6:"),
    ];
    for (body, why) in bad {
        let text = format!("{head}{body}");
        let err = RuleSet::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains(why), "{body:?}: {err}");
        assert!(!err.contains('\n'), "{body:?}: {err}");
        // The plain serde route fails too (at parse or validation), without panicking.
        let plain = toml::from_str::<RuleSet>(&text).map(RuleSet::validated);
        assert!(!matches!(plain, Ok(Ok(_))), "{body:?}");
    }
}

#[test]
fn rules_round_trip_through_toml() {
    let set = rules(
        "[[rule]]\nid = \"a\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"rate\"\nlimit = 2\nwindow_s = 60\nseverity = \"info\"\n\
         [[rule]]\nid = \"b\"\ndevice = \"f\"\nkind = \"stale\"\nstale_after_s = 90\ntags = [\"x\"]\n\
         [[rule]]\nid = \"c\"\ndevice = \"*\"\ndevice_kind = \"freezer\"\nmetric = \"t\"\nkind = \"anomaly\"\nrenotify_s = 600\n\
         [[rule]]\nid = \"d\"\ndevice = \"*\"\nkind = \"battery_low\"\n",
    );
    let text = toml::to_string(&set).unwrap();
    assert_eq!(RuleSet::from_toml(&text).unwrap(), set, "{text}");
    assert_eq!(
        set.rules.iter().map(|r| r.kind).collect::<Vec<_>>(),
        [
            AlertKind::Rate,
            AlertKind::Stale,
            AlertKind::Anomaly,
            AlertKind::BatteryLow
        ]
    );
}

#[test]
fn offline_of_other_devices_changes_nothing() {
    let set = one_rule("kind = \"stale\"\nstale_after_s = 60");
    let mut ev = Evaluator::new(set);
    apply(&mut ev, R(0, 1.0));
    assert!(ev.offline("someone-else", 10).is_empty());
    assert_eq!(edges(&ev.offline("d", 10)), vec![(10, "raised")]);
}
