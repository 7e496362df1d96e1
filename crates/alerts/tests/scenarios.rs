//! Table-driven scenarios for limit rules: each is a rule, readings in time order, and the
//! events expected, written as (ts, "raised"|"cleared").

use telltale_alerts::{replay, EventKind, RuleSet};

fn rules(toml_text: &str) -> RuleSet {
    toml::from_str::<RuleSet>(toml_text)
        .unwrap()
        .validated()
        .unwrap()
}

fn run(rule: &str, readings: &[(i64, f64)]) -> Vec<(i64, &'static str)> {
    let set = rules(&format!(
        "[[rule]]\nid = \"r\"\ndevice = \"*\"\nmetric = \"t\"\n{rule}"
    ));
    replay(&set, "d", "t", readings.iter().copied())
        .into_iter()
        .map(|e| {
            (
                e.ts,
                match e.kind {
                    EventKind::Raised => "raised",
                    EventKind::Cleared => "cleared",
                },
            )
        })
        .collect()
}

/// (what it shows, the rule's kind/limit/deadband/delays, readings, expected events)
type Case = (
    &'static str,
    &'static str,
    Vec<(i64, f64)>,
    Vec<(i64, &'static str)>,
);

#[test]
fn limit_scenarios() {
    let s = |secs: i64| secs * 1000;
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("no delay: first reading above raises, first at or below clears",
         "kind = \"high\"\nlimit = 10.0",
         vec![(1, 9.0), (2, 10.0), (3, 10.5), (4, 11.0), (5, 10.0), (6, 12.0)],
         vec![(3, "raised"), (5, "cleared"), (6, "raised")]),
        ("equal to the limit is not above it",
         "kind = \"high\"\nlimit = 10",
         vec![(1, 10.0), (2, 10.0)],
         vec![]),
        ("deadband: clearing needs limit - deadband; readings inside it keep the alert",
         "kind = \"high\"\nlimit = 10.0\ndeadband = 1.0",
         vec![(1, 11.0), (2, 9.5), (3, 10.2), (4, 9.0), (5, 9.5), (6, 10.1)],
         vec![(1, "raised"), (4, "cleared"), (6, "raised")]),
        ("on-delay: ON must hold for the whole delay; one normal reading restarts it",
         "kind = \"high\"\nlimit = 0\non_delay_s = 10",
         vec![(s(0), 1.0), (s(5), 1.0), (s(9), -1.0), (s(10), 1.0), (s(19), 1.0), (s(20), 1.0)],
         vec![(s(20), "raised")]),
        ("on-delay met exactly at the delay",
         "kind = \"high\"\nlimit = 0\non_delay_s = 10",
         vec![(s(0), 1.0), (s(10), 1.0)],
         vec![(s(10), "raised")]),
        ("off-delay: OFF must hold; a reading in the deadband restarts it",
         "kind = \"high\"\nlimit = 0\ndeadband = 2\noff_delay_s = 5",
         vec![(s(0), 1.0), (s(1), -3.0), (s(4), -1.0), (s(5), -3.0), (s(9), -3.0), (s(10), -3.0)],
         vec![(s(0), "raised"), (s(10), "cleared")]),
        ("fractional delays in seconds",
         "kind = \"high\"\nlimit = 0\non_delay_s = 0.25",
         vec![(0, 1.0), (249, 1.0), (250, 1.0)],
         vec![(250, "raised")]),
        ("low limit with deadband",
         "kind = \"low\"\nlimit = 5\ndeadband = 0.5",
         vec![(1, 5.0), (2, 4.9), (3, 5.4), (4, 5.5), (5, 4.0)],
         vec![(2, "raised"), (4, "cleared"), (5, "raised")]),
        ("flapping around the limit without a deadband raises and clears each time",
         "kind = \"high\"\nlimit = 0",
         vec![(1, 1.0), (2, -1.0), (3, 1.0), (4, -1.0)],
         vec![(1, "raised"), (2, "cleared"), (3, "raised"), (4, "cleared")]),
        ("the same flapping is absorbed by a deadband",
         "kind = \"high\"\nlimit = 0\ndeadband = 2",
         vec![(1, 1.0), (2, -1.0), (3, 1.0), (4, -1.0)],
         vec![(1, "raised")]),
        ("equal timestamps keep arrival order",
         "kind = \"high\"\nlimit = 0",
         vec![(7, 1.0), (7, -1.0), (7, 1.0)],
         vec![(7, "raised"), (7, "cleared"), (7, "raised")]),
        ("an alert active at the end gives no further event",
         "kind = \"high\"\nlimit = 0\noff_delay_s = 100",
         vec![(s(0), 1.0), (s(1), -1.0), (s(2), -1.0)],
         vec![(s(0), "raised")]),
    ];
    for (what, rule, readings, want) in cases {
        assert_eq!(&run(rule, readings), want, "{what}");
    }
}

#[test]
fn every_device_keeps_its_own_state_and_rules_match_by_name() {
    let set = rules(
        "[[rule]]\nid = \"all\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"high\"\nlimit = 0\non_delay_s = 1\n\
         [[rule]]\nid = \"one\"\ndevice = \"freezer\"\nmetric = \"t\"\nkind = \"low\"\nlimit = 0",
    );
    let a = replay(&set, "freezer", "t", [(0, 1.0), (1000, 1.0)]);
    let b = replay(&set, "fridge", "t", [(0, 1.0), (500, -1.0), (1000, 1.0)]);
    assert_eq!(
        a.iter()
            .map(|e| (e.rule.as_str(), e.ts))
            .collect::<Vec<_>>(),
        vec![("all", 1000)]
    );
    assert!(b.is_empty(), "{b:?}");
    let c = replay(&set, "freezer", "t", [(0, -1.0)]);
    assert_eq!(
        c.iter().map(|e| e.rule.as_str()).collect::<Vec<_>>(),
        vec!["one"]
    );
    assert!(replay(&set, "freezer", "humidity", [(0, 99.0)]).is_empty());
}

#[test]
fn bad_rules_are_refused_with_their_id() {
    let bad = [
        ("[[rule]]\nid = \"x\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"high\"\nlimit = 1\ndeadband = -1", "deadband"),
        ("[[rule]]\nid = \"x\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"high\"\nlimit = nan", "finite"),
        ("[[rule]]\nid = \"x\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"high\"\nlimit = 1\non_delay_s = -5", "on_delay_s"),
        ("[[rule]]\nid = \"\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"high\"\nlimit = 1", "id"),
        ("[[rule]]\nid = \"x\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"high\"\nlimit = 1\n[[rule]]\nid = \"x\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"low\"\nlimit = 1", "twice"),
    ];
    for (text, why) in bad {
        let err = toml::from_str::<RuleSet>(text)
            .unwrap()
            .validated()
            .unwrap_err()
            .to_string();
        assert!(err.contains(why), "{text}: {err}");
    }
    assert!(toml::from_str::<RuleSet>("[[rule]]\nid = \"x\"\nkind = \"sideways\"").is_err());
}
