//! Alerts are kept by device id: a name is what rules match, never what an alert belongs to.

use telltale_alerts::{Evaluator, Output, RuleSet, Snapshot, Target};

const RULES: &str = r#"
[[rule]]
id = "warm"
device = "*"
metric = "temperature"
kind = "high"
limit = -15.0
"#;

fn target<'a>(id: &'a str, name: &'a str) -> Target<'a> {
    Target {
        id,
        device: name,
        ..Target::new(name, "temperature")
    }
}

fn raised(out: &[Output]) -> Vec<(String, String)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Transition(t) if t.to.is_active() && !t.from.is_active() => {
                Some((t.device.clone(), t.device_name.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn one_name_two_devices_two_alerts_and_a_rename_keeps_the_alert() {
    let rules = RuleSet::from_toml(RULES).unwrap();
    let mut ev = Evaluator::new(rules.clone());
    let out = ev.observe(&target("ble:A", "Freezer"), 1_000, -10.0);
    assert_eq!(raised(&out), [("ble:A".to_owned(), "Freezer".to_owned())]);
    // The other freezer is cold: A's alert stays.
    assert!(ev
        .observe(&target("ble:B", "Freezer"), 2_000, -20.0)
        .is_empty());
    assert_eq!(ev.active().len(), 1);
    let out = ev.observe(&target("ble:B", "Freezer"), 3_000, -11.0);
    assert_eq!(raised(&out), [("ble:B".to_owned(), "Freezer".to_owned())]);
    assert_eq!(ev.active().len(), 2);

    // A renamed: the same alert, under its new name, across a snapshot and restore.
    let mut ev = Evaluator::restore(rules, ev.snapshot());
    assert!(ev
        .observe(&target("ble:A", "Chest freezer"), 4_000, -10.0)
        .is_empty());
    let a = ev
        .active()
        .into_iter()
        .find(|v| v.key.device == "ble:A")
        .unwrap();
    assert_eq!(a.device_name, "Chest freezer");
}

#[test]
fn an_old_snapshot_keyed_by_name_carries_on_under_the_device_id() {
    let rules = RuleSet::from_toml(RULES).unwrap();
    // As written before ids were kept: the series and the alert know the device by name.
    let old = r#"{"series":[{"device":"Freezer","metric":"temperature"}],
        "alerts":[{"key":{"rule":"warm","device":"Freezer","metric":"temperature"},
        "detector":{"limit":{"phase":"active"}},
        "life":{"state":"active_unacked","since":1000}}]}"#;
    let mut snapshot: Snapshot = serde_json::from_str(old).unwrap();
    snapshot.identify(|name| (name == "Freezer").then(|| "ble:A".to_owned()));
    let mut ev = Evaluator::restore(rules, snapshot);
    let active = ev.active();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].key.device, "ble:A");
    // Still active: the next warm reading raises nothing new; a cold one clears it.
    assert!(raised(&ev.observe(&target("ble:A", "Freezer"), 2_000, -10.0)).is_empty());
    let out = ev.observe(&target("ble:A", "Freezer"), 3_000, -20.0);
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Transition(t) if !t.to.is_active())));
}
