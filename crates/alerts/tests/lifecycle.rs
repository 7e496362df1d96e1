//! Table-driven lifecycle scenarios: raise, acknowledge, clear, shelve, notify, re-notify,
//! flap suppression, and a restart anywhere (snapshot and restore) changing nothing.

mod common;

use common::{apply, one_rule, rules, Noise, Step};
use telltale_alerts::{
    AlertError, AlertKey, AlertState, Evaluator, Output, RuleSet, Severity, Snapshot, Target,
};

/// What a person or the clock does, times in seconds.
#[derive(Debug, Clone, Copy)]
enum Do {
    /// A reading of freezer/temperature.
    R(i64, f64),
    Tick(i64),
    Ack(i64, &'static str),
    Shelve(i64, i64),
    Unshelve(i64, &'static str),
}
use Do::*;

const FREEZER: Target<'static> = Target {
    id: "freezer",
    device: "freezer",
    kind: Some("freezer"),
    tags: &[],
    metric: "temperature",
    unit: Some("°C"),
};

fn key() -> AlertKey {
    AlertKey::new("warm", "freezer", "temperature")
}

/// Outputs, compactly: "20: active_acked -> inactive", "0: notify", "10: shelved until 100 by ann".
fn describe(out: &[Output]) -> Vec<String> {
    out.iter()
        .map(|o| match o {
            Output::Transition(t) => {
                let by =
                    t.by.as_ref()
                        .map(|b| format!(" by {b}"))
                        .unwrap_or_default();
                format!("{}: {} -> {}{by}", t.ts / 1000, t.from, t.to)
            }
            Output::Notification(n) => format!("{}: notify", n.ts / 1000),
            Output::Shelving(s) => {
                let by =
                    s.by.as_ref()
                        .map(|b| format!(" by {b}"))
                        .unwrap_or_default();
                match s.until {
                    Some(u) => format!("{}: shelved until {}{by}", s.ts / 1000, u / 1000),
                    None => format!("{}: unshelved{by}", s.ts / 1000),
                }
            }
        })
        .collect()
}

fn act(ev: &mut Evaluator, d: Do) -> Vec<Output> {
    let ms = |s: i64| s * 1000;
    match d {
        R(t, v) => ev.observe(&FREEZER, ms(t), v),
        Tick(t) => ev.tick(ms(t)),
        Ack(t, who) => ev.acknowledge(&key(), who, ms(t)).unwrap(),
        Shelve(t, until) => ev.shelve(&key(), ms(until), "ann", ms(t)).unwrap(),
        Unshelve(t, who) => ev.unshelve(&key(), who, ms(t)).unwrap(),
    }
}

fn warm(extra: &str) -> RuleSet {
    rules(&format!(
        "[[rule]]\nid = \"warm\"\ndevice = \"*\"\nmetric = \"temperature\"\nkind = \"high\"\nlimit = 0\nseverity = \"critical\"\n{extra}"
    ))
}

type Case = (&'static str, &'static str, Vec<Do>, Vec<&'static str>);

#[test]
fn lifecycle_scenarios() {
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("raise, acknowledge, clear", "",
         vec![R(0, 1.0), Ack(10, "ann"), R(20, -1.0)],
         vec!["0: inactive -> active_unacked", "0: notify",
              "10: active_unacked -> active_acked by ann", "20: active_acked -> inactive"]),
        ("cleared before acknowledged: cleared-unacked until acknowledged", "",
         vec![R(0, 1.0), R(10, -1.0), Ack(20, "bob")],
         vec!["0: inactive -> active_unacked", "0: notify",
              "10: active_unacked -> cleared_unacked", "20: cleared_unacked -> inactive by bob"]),
        ("raised again while cleared-unacked", "",
         vec![R(0, 1.0), R(100, -1.0), R(200, 1.0)],
         vec!["0: inactive -> active_unacked", "0: notify", "100: active_unacked -> cleared_unacked",
              "200: cleared_unacked -> active_unacked", "200: notify"]),
        ("acknowledging what needs no acknowledgement records nothing", "",
         vec![R(0, -1.0), Ack(1, "ann"), R(2, 1.0), Ack(5, "ann"), Ack(6, "bob")],
         vec!["2: inactive -> active_unacked", "2: notify", "5: active_unacked -> active_acked by ann"]),
        ("readings that change nothing output nothing", "",
         vec![R(0, 1.0), R(1, 2.0), R(2, 3.0), Tick(3)],
         vec!["0: inactive -> active_unacked", "0: notify"]),
        ("flap suppression: one notification a minute; an owed one goes out on a tick if still active", "",
         vec![R(0, 1.0), R(10, -1.0), R(20, 1.0), R(30, -1.0), R(40, 1.0), Tick(50), Tick(60),
              R(70, -1.0), R(80, 1.0), Tick(119), Tick(120), Tick(500)],
         vec!["0: inactive -> active_unacked", "0: notify",
              "10: active_unacked -> cleared_unacked", "20: cleared_unacked -> active_unacked",
              "30: active_unacked -> cleared_unacked", "40: cleared_unacked -> active_unacked",
              "60: notify",
              "70: active_unacked -> cleared_unacked", "80: cleared_unacked -> active_unacked",
              "120: notify"]),
        ("flapping that ends cleared owes nothing", "",
         vec![R(0, 1.0), R(10, -1.0), R(20, 1.0), R(30, -1.0), Tick(60), Tick(120)],
         vec!["0: inactive -> active_unacked", "0: notify",
              "10: active_unacked -> cleared_unacked", "20: cleared_unacked -> active_unacked",
              "30: active_unacked -> cleared_unacked"]),
        ("flapping with a shorter interval", "min_notify_interval_s = 15",
         vec![R(0, 1.0), R(10, -1.0), R(20, 1.0), R(30, -1.0), R(40, 1.0)],
         vec!["0: inactive -> active_unacked", "0: notify",
              "10: active_unacked -> cleared_unacked", "20: cleared_unacked -> active_unacked", "20: notify",
              "30: active_unacked -> cleared_unacked", "40: cleared_unacked -> active_unacked", "40: notify"]),
        ("flapping absorbed by a deadband raises once", "deadband = 2",
         vec![R(0, 1.0), R(10, -1.0), R(20, 1.0), R(30, -1.0), R(40, 1.0)],
         vec!["0: inactive -> active_unacked", "0: notify"]),
        ("re-notification every renotify_s while active and unacknowledged", "renotify_s = 600",
         vec![R(0, 1.0), Tick(300), Tick(599), Tick(600), Tick(900), Tick(1200), Ack(1300, "ann"), Tick(1800)],
         vec!["0: inactive -> active_unacked", "0: notify", "600: notify", "1200: notify",
              "1300: active_unacked -> active_acked by ann"]),
        ("re-notification never sooner than the flap interval", "renotify_s = 10\nmin_notify_interval_s = 30",
         vec![R(0, 1.0), Tick(10), Tick(20), Tick(30), Tick(45), Tick(60)],
         vec!["0: inactive -> active_unacked", "0: notify", "30: notify", "60: notify"]),
        ("notifications off: every change recorded, nobody notified, re-notification too", "notify = false\nrenotify_s = 60",
         vec![R(0, 1.0), Tick(60), Tick(120), R(130, -1.0), R(140, 1.0), Ack(150, "ann")],
         vec!["0: inactive -> active_unacked", "130: active_unacked -> cleared_unacked",
              "140: cleared_unacked -> active_unacked", "150: active_unacked -> active_acked by ann"]),
        ("re-notification stops when the alert clears", "renotify_s = 100",
         vec![R(0, 1.0), R(50, -1.0), Tick(100), Tick(200)],
         vec!["0: inactive -> active_unacked", "0: notify", "50: active_unacked -> cleared_unacked"]),
        ("shelved: transitions recorded, nobody notified; the shelf expires on a tick and the owed notification goes out", "",
         vec![R(0, -1.0), Shelve(10, 100), R(20, 1.0), Tick(50), Tick(99), Tick(100), Tick(101)],
         vec!["10: shelved until 100 by ann", "20: inactive -> active_unacked",
              "100: unshelved", "100: notify"]),
        ("a shelf expiring after the alert cleared notifies nobody", "",
         vec![R(0, -1.0), Shelve(10, 100), R(20, 1.0), R(30, -1.0), Tick(100)],
         vec!["10: shelved until 100 by ann", "20: inactive -> active_unacked",
              "30: active_unacked -> cleared_unacked", "100: unshelved"]),
        ("an acknowledged alert unshelved notifies nobody", "",
         vec![R(0, -1.0), Shelve(10, 100), R(20, 1.0), Ack(30, "bob"), Tick(100)],
         vec!["10: shelved until 100 by ann", "20: inactive -> active_unacked",
              "30: active_unacked -> active_acked by bob", "100: unshelved"]),
        ("unshelved by hand", "",
         vec![R(0, -1.0), Shelve(10, 1000), R(20, 1.0), Unshelve(30, "bob"), Unshelve(31, "bob"), Tick(1000)],
         vec!["10: shelved until 1000 by ann", "20: inactive -> active_unacked",
              "30: unshelved by bob", "30: notify"]),
        ("shelving pauses re-notification; it resumes after", "renotify_s = 100",
         vec![R(0, 1.0), Shelve(50, 250), Tick(100), Tick(200), Tick(250), Tick(300), Tick(350)],
         vec!["0: inactive -> active_unacked", "0: notify", "50: shelved until 250 by ann",
              "250: unshelved", "250: notify", "350: notify"]),
        ("on-delay and off-delay apply before the lifecycle sees anything", "on_delay_s = 60\noff_delay_s = 60",
         vec![R(0, 1.0), R(30, 1.0), R(60, 1.0), Ack(70, "ann"), R(80, -1.0), R(100, -1.0), R(140, -1.0)],
         vec!["60: inactive -> active_unacked", "60: notify", "70: active_unacked -> active_acked by ann",
              "140: active_acked -> inactive"]),
    ];
    for (what, extra, script, want) in cases {
        let mut ev = Evaluator::new(warm(extra));
        let got: Vec<String> = script
            .iter()
            .flat_map(|d| describe(&act(&mut ev, *d)))
            .collect();
        assert_eq!(got, want, "{what}");
    }
}

#[test]
fn transitions_carry_value_person_and_severity() {
    let mut ev = Evaluator::new(warm(""));
    let out = ev.observe(&FREEZER, 5_000, 1.5);
    let t = out[0].as_transition().unwrap();
    assert_eq!(
        (t.ts, t.rule.as_str(), t.device.as_str(), t.metric.as_str()),
        (5_000, "warm", "freezer", "temperature")
    );
    assert_eq!(
        (t.from, t.to, t.value, t.by.as_deref(), t.severity),
        (
            AlertState::Inactive,
            AlertState::ActiveUnacked,
            Some(1.5),
            None,
            Severity::Critical
        )
    );
    let n = out[1].as_notification().unwrap();
    assert_eq!(
        (n.key.clone(), n.severity, n.ts),
        (key(), Severity::Critical, 5_000)
    );
    assert_eq!(n.title, "freezer temperature high");
    assert_eq!(n.body, "freezer temperature 1.5 °C above 0 (warm)");
    let out = ev.acknowledge(&key(), "ann", 6_000).unwrap();
    let t = out[0].as_transition().unwrap();
    assert_eq!((t.by.as_deref(), t.value, t.ts), (Some("ann"), None, 6_000));
}

#[test]
fn notification_sentences() {
    let set = rules(
        "[[rule]]\nid = \"freezer-warm\"\ndevice = \"Freezer\"\nmetric = \"temperature\"\nkind = \"high\"\nlimit = -15.0\n\
         [[rule]]\nid = \"cold\"\ndevice = \"*\"\nmetric = \"temperature\"\nkind = \"low\"\nlimit = -30\n\
         [[rule]]\nid = \"door\"\ndevice = \"*\"\nmetric = \"temperature\"\nkind = \"rate\"\nlimit = 0.5\nwindow_s = 600\n\
         [[rule]]\nid = \"odd\"\ndevice = \"*\"\nmetric = \"temperature\"\nkind = \"anomaly\"\nwarmup = 5\nlearn = 0\n\
         [[rule]]\nid = \"quiet\"\ndevice = \"*\"\nkind = \"stale\"\nstale_after_s = 900\n\
         [[rule]]\nid = \"batt\"\ndevice = \"*\"\nkind = \"battery_low\"\n",
    );
    let body = |out: Vec<Output>| -> Vec<String> {
        out.iter()
            .filter_map(|o| o.as_notification())
            .map(|n| n.body.clone())
            .collect()
    };
    let mut ev = Evaluator::new(set);
    let t = Target {
        device: "Freezer",
        unit: Some("°C"),
        ..Target::new("Freezer", "temperature")
    };
    let min = 60_000;
    // With `learn = 0` the anomaly rule raises from 23 + 2 x warmup readings on (see
    // `kinds.rs`).
    for i in 0..40 {
        assert!(body(ev.observe(&t, i * min, -20.0 + 0.01 * (i % 2) as f64)).is_empty());
    }
    assert_eq!(
        body(ev.observe(&t, 40 * min, -12.5)),
        [
            "Freezer temperature -12.5 °C above -15 (freezer-warm)",
            "Freezer temperature rising 0.75 °C/min, faster than 0.5 °C/min (door)",
            "Freezer temperature -12.5 °C is unusual for it: 749.5 × its usual spread above its \
             recent level of -19.995 and 750.0 × above the -20 that similar readings led to \
             before, its last 8 readings 264.8 × further than usual from anything in the 33 \
             readings before (odd)",
        ]
    );
    assert_eq!(
        body(ev.observe(&Target::new("chest", "temperature"), 50 * min, -31.25)),
        ["chest temperature -31.25 below -30 (cold)"]
    );
    assert_eq!(
        body(ev.observe(&Target::new("chest", "battery"), 50 * min, 19.0)),
        ["chest battery 19 below 20 (batt)"]
    );
    assert_eq!(
        body(ev.tick(40 * min + 15 * min)),
        ["Freezer has sent nothing for 15 min (quiet)"]
    );
    assert_eq!(
        body(ev.offline("chest", 60 * min)),
        ["chest went offline (quiet)"]
    );
}

#[test]
fn the_alerts_page_view() {
    let set = rules(
        "[[rule]]\nid = \"warm\"\ndevice = \"*\"\nmetric = \"temperature\"\nkind = \"high\"\nlimit = 0\nseverity = \"critical\"\n\
         [[rule]]\nid = \"info\"\ndevice = \"*\"\nmetric = \"temperature\"\nkind = \"high\"\nlimit = -5\nseverity = \"info\"\n\
         [[rule]]\nid = \"cold\"\ndevice = \"*\"\nmetric = \"temperature\"\nkind = \"low\"\nlimit = -30\n",
    );
    let mut ev = Evaluator::new(set);
    ev.observe(&FREEZER, 1_000, -3.0);
    ev.observe(&FREEZER, 2_000, 2.0);
    ev.observe(&FREEZER, 3_000, 2.5);
    let cold = AlertKey::new("cold", "freezer", "temperature");
    ev.shelve(&cold, 100_000, "ann", 4_000).unwrap();
    ev.acknowledge(&key(), "bob", 5_000).unwrap();
    let view = ev.active();
    let summary: Vec<_> = view
        .iter()
        .map(|v| {
            (
                v.rule.as_str(),
                v.severity,
                v.state,
                v.since,
                v.last_value,
                v.shelved_until,
                v.acked_by.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "warm",
                Severity::Critical,
                AlertState::ActiveAcked,
                5_000,
                Some(2.5),
                None,
                Some("bob")
            ),
            (
                "cold",
                Severity::Warning,
                AlertState::Inactive,
                1_000,
                Some(2.5),
                Some(100_000),
                None
            ),
            (
                "info",
                Severity::Info,
                AlertState::ActiveUnacked,
                1_000,
                Some(2.5),
                None,
                None
            ),
        ]
    );
    assert_eq!(view[0].key, key());
    assert_eq!(ev.get(&cold).unwrap().state, AlertState::Inactive);
    assert!(ev
        .get(&AlertKey::new("nope", "freezer", "temperature"))
        .is_none());
}

#[test]
fn people_acting_on_unknown_alerts_or_shelving_into_the_past_get_errors() {
    let mut ev = Evaluator::new(warm(""));
    let missing = AlertKey::new("warm", "fridge", "temperature");
    assert_eq!(
        ev.acknowledge(&missing, "ann", 0),
        Err(AlertError::UnknownAlert(missing.clone()))
    );
    assert!(ev.shelve(&missing, 10, "ann", 0).is_err());
    assert!(ev.unshelve(&missing, "ann", 0).is_err());
    ev.observe(&FREEZER, 0, 1.0);
    let err = ev.shelve(&key(), 5, "ann", 5).unwrap_err();
    assert!(matches!(err, AlertError::ShelveNotInFuture { .. }), "{err}");
    assert!(
        err.to_string().contains("warm on freezer/temperature"),
        "{err}"
    );
}

fn round_trip(snapshot: &Snapshot) -> Snapshot {
    let text = toml::to_string(snapshot).unwrap();
    toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// A restart anywhere (snapshot, serialize, restore) gives exactly the outputs of an
/// uninterrupted run: running on- and off-delays, learnt baselines, rate windows, stale
/// clocks, acknowledgements, shelves and owed notifications included.
#[test]
fn a_restart_anywhere_changes_nothing() {
    let set = rules(
        "[[rule]]\nid = \"warm\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"high\"\nlimit = 1\ndeadband = 0.5\non_delay_s = 300\noff_delay_s = 120\nrenotify_s = 900\n\
         [[rule]]\nid = \"rate\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"rate\"\nlimit = 0.5\nwindow_s = 600\n\
         [[rule]]\nid = \"odd\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"anomaly\"\nwarmup = 10\n\
         [[rule]]\nid = \"quiet\"\ndevice = \"*\"\nkind = \"stale\"\nstale_after_s = 200\noff_delay_s = 60\n",
    );
    let mut noise = Noise::new(3);
    let mut steps = Vec::new();
    for i in 0..160i64 {
        let ts = i * 60_000;
        if (60..64).contains(&i) {
            steps.push(Step::Tick(ts)); // a silence long enough to go stale
            continue;
        }
        let level = if (20..40).contains(&i) || i > 120 {
            2.0
        } else {
            0.0
        };
        let spike = if i == 90 { 5.0 } else { 0.0 };
        steps.push(Step::R(ts, level + spike + 0.05 * noise.next()));
        if i % 5 == 0 {
            steps.push(Step::Tick(ts + 1));
        }
        if i == 130 {
            steps.push(Step::Offline(ts + 2));
        }
    }
    let whole = {
        let mut ev = Evaluator::new(set.clone());
        steps.iter().map(|s| apply(&mut ev, *s)).collect::<Vec<_>>()
    };
    let raised = whole
        .iter()
        .flatten()
        .filter(|o| o.as_transition().is_some())
        .count();
    assert!(raised >= 8, "the script exercises the rules: {whole:?}");
    // Mid on-delay: the first reading above the limit is at i = 20 (delay 300 s).
    let mid_delay = steps
        .iter()
        .position(|s| matches!(s, Step::R(ts, _) if *ts == 22 * 60_000))
        .unwrap();
    for cut in (0..steps.len()).step_by(7).chain([mid_delay]) {
        let mut ev = Evaluator::new(set.clone());
        for s in &steps[..cut] {
            apply(&mut ev, *s);
        }
        let mut ev = Evaluator::restore(set.clone(), round_trip(&ev.snapshot()));
        let rest: Vec<_> = steps[cut..].iter().map(|s| apply(&mut ev, *s)).collect();
        assert_eq!(rest, whole[cut..], "restart before step {cut}");
    }
}

#[test]
fn restart_in_the_middle_of_an_on_delay() {
    let set = one_rule("metric = \"t\"\nkind = \"high\"\nlimit = 0\non_delay_s = 300");
    let mut ev = Evaluator::new(set.clone());
    assert!(apply(&mut ev, Step::R(0, 1.0)).is_empty());
    assert!(apply(&mut ev, Step::R(200_000, 1.0)).is_empty());
    let snapshot = ev.snapshot();
    let text = toml::to_string(&snapshot).unwrap();
    assert!(text.contains("run_since = 0"), "{text}");
    assert!(text.len() < 400, "small: {} bytes\n{text}", text.len());
    let mut ev = Evaluator::restore(set, toml::from_str(&text).unwrap());
    let out = apply(&mut ev, Step::R(300_000, 1.0));
    assert_eq!(
        out[0].as_transition().map(|t| (t.ts, t.to)),
        Some((300_000, AlertState::ActiveUnacked))
    );
}

#[test]
fn restore_keeps_people_and_drops_what_the_rules_no_longer_have() {
    let mut ev = Evaluator::new(warm(""));
    ev.observe(&FREEZER, 0, 1.0);
    ev.acknowledge(&key(), "ann", 1_000).unwrap();
    let snapshot = round_trip(&ev.snapshot());
    assert_eq!(snapshot.len(), 1);
    let back = Evaluator::restore(warm(""), snapshot.clone());
    let view = back.get(&key()).unwrap();
    assert_eq!(
        (view.state, view.acked_by.as_deref()),
        (AlertState::ActiveAcked, Some("ann"))
    );
    // The rule changed kind: the state starts afresh.
    let low = rules("[[rule]]\nid = \"warm\"\ndevice = \"*\"\nmetric = \"temperature\"\nkind = \"rate\"\nlimit = 1\nwindow_s = 60\n");
    let back = Evaluator::restore(low, snapshot.clone());
    assert_eq!(back.get(&key()).unwrap().state, AlertState::Inactive);
    // The rule is gone.
    let back = Evaluator::restore(RuleSet::default(), snapshot);
    assert!(back.get(&key()).is_none() && back.active().is_empty());
}

#[test]
fn replacing_the_rules_keeps_matching_state_and_closes_the_rest() {
    let mut ev = Evaluator::new(warm(""));
    ev.observe(&FREEZER, 0, 1.0);
    // Same id and kind, new limit: the alert continues (and clears by the new limit).
    assert!(ev.set_rules(warm("deadband = 0.5"), 1_000).is_empty());
    assert_eq!(ev.get(&key()).unwrap().state, AlertState::ActiveUnacked);
    assert!(ev.observe(&FREEZER, 2_000, -0.2).is_empty());
    // Removed: the active alert is recorded as going inactive.
    let out = ev.set_rules(RuleSet::default(), 3_000);
    let t = out[0].as_transition().unwrap();
    assert_eq!(
        (t.ts, t.from, t.to),
        (3_000, AlertState::ActiveUnacked, AlertState::Inactive)
    );
    assert!(ev.active().is_empty());
}

/// An anomaly state saved by the first version (an EWMA baseline only: no pattern history,
/// no remembered surprise, no refractory count) still restores, keeps its learnt level and
/// builds the rest afresh.
#[test]
fn an_anomaly_state_of_the_first_version_restores() {
    let set = one_rule("metric = \"t\"\nkind = \"anomaly\"\nwarmup = 10\nlearn = 0");
    let mut noise = Noise::new(5);
    let mut ev = Evaluator::new(set.clone());
    for i in 0..50i64 {
        apply(&mut ev, Step::R(i * 60_000, 20.0 + 0.1 * noise.next()));
    }
    let mut saved = serde_json::to_value(ev.snapshot()).unwrap();
    let anomaly = &mut saved["alerts"][0]["detector"]["anomaly"];
    let object = anomaly.as_object_mut().unwrap();
    assert!(object.remove("context").is_some(), "{anomaly}");
    let baseline = anomaly["baseline"].as_object_mut().unwrap();
    for added in ["peak", "quiet", "residual"] {
        assert!(baseline.remove(added).is_some(), "{added}");
    }
    let mut ev = Evaluator::restore(set, serde_json::from_value(saved).unwrap());
    // It goes on judging: quiet readings raise nothing; after a fresh warm-up of the pattern
    // history a spike is flagged.
    let mut raised = Vec::new();
    for i in 50..200i64 {
        let spike = if i == 180 { 5.0 } else { 0.0 };
        for o in apply(
            &mut ev,
            Step::R(i * 60_000, 20.0 + 0.1 * noise.next() + spike),
        ) {
            if let Some(t) = o.as_transition() {
                raised.push((t.ts / 60_000, t.to));
            }
        }
    }
    assert_eq!(
        raised,
        [
            (180, AlertState::ActiveUnacked),
            (181, AlertState::ClearedUnacked)
        ]
    );
}

/// An anomaly state saved before the forecast was kept (pattern history, remembered surprise
/// and refractory count, but no spread of the forecast's error) restores, keeps its pattern
/// history and learns that spread afresh.
#[test]
fn an_anomaly_state_without_the_forecast_restores() {
    let set = one_rule("metric = \"t\"\nkind = \"anomaly\"\nwarmup = 10\nlearn = 0");
    let mut noise = Noise::new(6);
    let mut ev = Evaluator::new(set.clone());
    for i in 0..100i64 {
        apply(&mut ev, Step::R(i * 60_000, 20.0 + 0.1 * noise.next()));
    }
    let mut saved = serde_json::to_value(ev.snapshot()).unwrap();
    let baseline = saved["alerts"][0]["detector"]["anomaly"]["baseline"]
        .as_object_mut()
        .unwrap();
    assert!(baseline.remove("residual").is_some(), "{baseline:?}");
    let mut ev = Evaluator::restore(set, serde_json::from_value(saved).unwrap());
    let mut raised = Vec::new();
    for i in 100..200i64 {
        let spike = if i == 150 { 5.0 } else { 0.0 };
        for o in apply(
            &mut ev,
            Step::R(i * 60_000, 20.0 + 0.1 * noise.next() + spike),
        ) {
            if let Some(t) = o.as_transition() {
                raised.push((t.ts / 60_000, t.to));
            }
        }
    }
    assert_eq!(
        raised,
        [
            (150, AlertState::ActiveUnacked),
            (151, AlertState::ClearedUnacked)
        ]
    );
}

/// An anomaly state saved before the cycles were heeded (readings kept as they were, in f64;
/// no origin, no per-reading lags or distances) restores: its readings load in f32 less no
/// origin, its traces start unknown and fill as readings come, and it goes on judging.
#[test]
fn an_anomaly_state_without_the_cycles_restores() {
    let set = one_rule("metric = \"t\"\nkind = \"anomaly\"\nwarmup = 10\nlearn = 0");
    let mut noise = Noise::new(7);
    let mut ev = Evaluator::new(set.clone());
    for i in 0..900i64 {
        apply(&mut ev, Step::R(i * 60_000, 20.0 + 0.1 * noise.next()));
    }
    let mut saved = serde_json::to_value(ev.snapshot()).unwrap();
    let context = saved["alerts"][0]["detector"]["anomaly"]["context"]
        .as_object_mut()
        .unwrap();
    let origin = context.remove("origin").unwrap().as_f64().unwrap();
    assert!((origin - 20.0).abs() < 1.0, "the first reading: {origin}");
    for added in ["lags", "far"] {
        let trace = context.remove(added).unwrap();
        assert_eq!(trace.as_array().map(Vec::len), Some(768), "{added}");
    }
    // As the older version kept them: the readings themselves.
    let kept: Vec<f64> = context["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| origin + v.as_f64().unwrap())
        .collect();
    assert!(kept.iter().all(|v| (v - 20.0).abs() < 1.0));
    context.insert("kept".into(), serde_json::json!(kept));
    let mut ev = Evaluator::restore(set, serde_json::from_value(saved).unwrap());
    let mut raised = Vec::new();
    for i in 900..1100i64 {
        let spike = if i == 1000 { 5.0 } else { 0.0 };
        for o in apply(
            &mut ev,
            Step::R(i * 60_000, 20.0 + 0.1 * noise.next() + spike),
        ) {
            if let Some(t) = o.as_transition() {
                raised.push((t.ts / 60_000, t.to));
            }
        }
    }
    assert_eq!(
        raised,
        [
            (1000, AlertState::ActiveUnacked),
            (1001, AlertState::ClearedUnacked)
        ]
    );
}
