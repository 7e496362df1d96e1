//! Maintenance kinds (`forecast`, `service_due`): fed the time left until a date, never readings.
//! Each case is a rule, a script, and the edges expected as (ts, "raised" | "cleared").

mod common;

use common::{edges, one_rule, run, Step, Step::*};
use telltale_alerts::{replay, AlertKind, AlertState, Evaluator, Target};

const DAY: f64 = 86_400.0;

/// (what, rule body, script, edges expected).
type Case = (
    &'static str,
    &'static str,
    Vec<Step>,
    Vec<(i64, &'static str)>,
);

#[test]
fn upkeep_kinds_judge_time_left() {
    let inf = f64::INFINITY;
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("a date moving inside the horizon raises; one moving out clears",
         "kind = \"forecast\"\nhorizon_s = 604800",
         vec![Eta(0, 20.0 * DAY), Eta(1, 9.0 * DAY), Eta(2, 6.5 * DAY), Eta(3, 8.0 * DAY)],
         vec![(2, "raised"), (3, "cleared")]),
        ("a date that stays outside the horizon never raises",
         "kind = \"forecast\"\nhorizon_s = 604800",
         vec![Eta(0, 30.0 * DAY), Eta(1, 8.0 * DAY), Eta(2, 7.0 * DAY)],
         vec![]),
        ("no date (infinity) clears; NaN is ignored",
         "kind = \"forecast\"\nhorizon_s = 604800",
         vec![Eta(0, DAY), Eta(1, f64::NAN), Eta(2, inf)],
         vec![(0, "raised"), (2, "cleared")]),
        ("the deadband keeps a wobbling date raised",
         "kind = \"forecast\"\nhorizon_s = 100\ndeadband = 50",
         vec![Eta(0, 90.0), Eta(1, 120.0), Eta(2, 149.0), Eta(3, 150.0)],
         vec![(0, "raised"), (3, "cleared")]),
        ("delays apply as for limits",
         "kind = \"forecast\"\nhorizon_s = 100\non_delay_s = 60",
         vec![Eta(0, 10.0), Eta(30_000, 10.0), Eta(60_000, 10.0)],
         vec![(60_000, "raised")]),
        ("readings never feed a forecast rule",
         "kind = \"forecast\"\nhorizon_s = 100",
         vec![R(0, 1.0), R(1, -5.0), Tick(2)],
         vec![]),
        ("service_due: overdue (negative time left) raises",
         "kind = \"service_due\"\nhorizon_s = 3600",
         vec![Due(0, 7200.0), Due(1, -10.0), Due(2, 1e9)],
         vec![(1, "raised"), (2, "cleared")]),
        ("a forecast does not feed a service_due rule, nor the reverse",
         "kind = \"service_due\"\nhorizon_s = 3600",
         vec![Eta(0, 1.0)],
         vec![]),
    ];
    for (what, rule, steps, want) in cases {
        let got = edges(&run(&one_rule(rule), steps));
        assert_eq!(&got, want, "{what}");
    }
}

#[test]
fn upkeep_alerts_follow_the_ordinary_lifecycle() {
    let set = one_rule("kind = \"forecast\"\nhorizon_s = 604800\nseverity = \"info\"");
    let mut ev = Evaluator::new(set);
    let t = Target::new("pump-02", "vibration");
    let out = ev.judge(&t, AlertKind::Forecast, 1_000, 3.0 * DAY);
    assert!(out
        .iter()
        .any(|o| matches!(o, telltale_alerts::Output::Notification(n)
            if n.body.contains("reaches its limit in 3 days"))));
    let active = ev.active();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].key.metric, "vibration", "one alert per series");
    assert_eq!(active[0].last_value, Some(3.0 * DAY));
    assert_eq!(active[0].kind, AlertKind::Forecast);
    let key = active[0].key.clone();
    ev.acknowledge(&key, "ana", 2_000).unwrap();
    assert_eq!(ev.get(&key).unwrap().state, AlertState::ActiveAcked);
    // Survives a restart like any alert.
    let back = Evaluator::restore(ev.rules().clone(), ev.snapshot());
    assert_eq!(back.get(&key).unwrap().state, AlertState::ActiveAcked);
}

#[test]
fn replay_ignores_upkeep_kinds() {
    let set = one_rule("kind = \"forecast\"\nhorizon_s = 100");
    assert!(replay(&set, "d", "t", [(0, -1.0), (1, 0.0)]).is_empty());
}

#[test]
fn upkeep_rules_need_a_positive_horizon() {
    let head = "[[rule]]\nid = \"x\"\ndevice = \"*\"\n";
    for (body, why) in [
        ("kind = \"forecast\"", "kind forecast needs horizon_s"),
        (
            "kind = \"service_due\"\nhorizon_s = 0",
            "horizon_s must be positive",
        ),
        (
            "kind = \"forecast\"\nhorizon_s = 60\nlimit = 3",
            "limit does not apply",
        ),
        (
            "metric = \"t\"\nkind = \"high\"\nlimit = 1\nhorizon_s = 5",
            "horizon_s does not apply",
        ),
    ] {
        let err = telltale_alerts::RuleSet::from_toml(&format!("{head}{body}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(why), "{body:?}: {err}");
    }
    let ok = one_rule("kind = \"service_due\"\nhorizon_s = 60");
    assert_eq!(ok.rules[0].metric, "*");
    let text = toml::to_string(&ok).unwrap();
    assert_eq!(telltale_alerts::RuleSet::from_toml(&text).unwrap(), ok);
}
