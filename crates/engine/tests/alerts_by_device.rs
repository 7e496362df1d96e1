//! Alerts belong to devices, not to their names: two devices that share a name keep alerts of
//! their own, and a renamed device keeps its alert, its state and its history.

use std::sync::Arc;
use std::time::Duration;
use telltale_alerts::Notification;
use telltale_engine::alerting::{history, Alerts, Notifier};
use telltale_engine::Engine;
use telltale_model::alert::{AlertEvent, AlertHistoryQuery, AlertRecord, AlertState};
use telltale_model::{Device, DeviceId, Quality, Reading, Transport};
use tokio::sync::broadcast;

/// Every freezer (by kind), and the one named "Freezer" (by name): both kinds of targeting.
const RULES: &str = r#"
[[rule]]
id = "named-warm"
device = "Freezer"
metric = "temperature"
kind = "high"
limit = -15.0

[[rule]]
id = "any-freezer-warm"
device = "*"
device_kind = "freezer"
metric = "temperature"
kind = "high"
limit = -15.0
"#;

struct Quiet;

impl Notifier for Quiet {
    fn notify(&self, _: &Notification) {}
}

fn freezer(id: &str, name: &str) -> Device {
    Device {
        id: DeviceId::new(id),
        name: name.into(),
        kind: "freezer".into(),
        transport: Transport::Ble,
        site: "Home".into(),
        expected_interval_ms: 60_000,
        tags: vec![],
    }
}

fn reading(device: &str, ts_ms: i64, value: f64) -> Reading {
    Reading {
        device: DeviceId::new(device),
        metric: "temperature".into(),
        unit: Some("°C".into()),
        ts_ms,
        value,
        quality: Quality::Good,
    }
}

async fn next_record(rx: &mut broadcast::Receiver<AlertRecord>, what: &str) -> AlertRecord {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no alert record ({what}) within 10 s"))
        .unwrap()
}

/// The active alerts as (rule, device id, device name).
fn active(alerts: &Alerts) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = alerts
        .active()
        .into_iter()
        .map(|a| (a.id.rule, a.id.device, a.device_name))
        .collect();
    v.sort();
    v
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(800)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_with_one_name_keep_their_own_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("alerts.db")).unwrap();
    let ingest = engine.ingest();
    ingest.register(freezer("ble:A", "Freezer")).await.unwrap();
    ingest.register(freezer("ble:B", "Freezer")).await.unwrap();
    engine.start_alerts(Arc::new(Quiet)).unwrap();
    let alerts = engine.alerts().unwrap();
    alerts.set_rules(RULES).await.unwrap();
    let t0 = telltale_sources::now_ms() - 60_000;

    // A warms up: both rules raise, for A.
    ingest
        .write(vec![reading("ble:A", t0, -10.0)])
        .await
        .unwrap();
    settle().await;
    let a = |rule: &str| (rule.to_owned(), "ble:A".to_owned(), "Freezer".to_owned());
    let b = |rule: &str| (rule.to_owned(), "ble:B".to_owned(), "Freezer".to_owned());
    assert_eq!(active(&alerts), [a("any-freezer-warm"), a("named-warm")]);

    // B is cold: that says nothing about A, whose alerts stay.
    ingest
        .write(vec![reading("ble:B", t0 + 1_000, -20.0)])
        .await
        .unwrap();
    settle().await;
    assert_eq!(active(&alerts), [a("any-freezer-warm"), a("named-warm")]);

    // B warms up too: alerts of its own.
    ingest
        .write(vec![reading("ble:B", t0 + 2_000, -11.0)])
        .await
        .unwrap();
    settle().await;
    assert_eq!(
        active(&alerts),
        [
            a("any-freezer-warm"),
            b("any-freezer-warm"),
            a("named-warm"),
            b("named-warm")
        ]
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_device_keeps_its_alert_and_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("alerts.db");
    let engine = Engine::open(&db).unwrap();
    let ingest = engine.ingest();
    ingest.register(freezer("ble:A", "Freezer")).await.unwrap();
    engine.start_alerts(Arc::new(Quiet)).unwrap();
    let alerts = engine.alerts().unwrap();
    alerts.set_rules(RULES).await.unwrap();
    let mut records = alerts.subscribe();
    let t0 = telltale_sources::now_ms() - 60_000;

    ingest
        .write(vec![reading("ble:A", t0, -10.0)])
        .await
        .unwrap();
    let mut raised = [
        next_record(&mut records, "raised").await,
        next_record(&mut records, "raised").await,
    ];
    raised.sort_by(|x, y| x.id.rule.cmp(&y.id.rule));
    assert_eq!(raised[0].id.device, "ble:A", "recorded by the device's id");
    assert_eq!(raised[0].device_name.as_deref(), Some("Freezer"));

    // Renamed: the kind rule's alert is the same alert (no second raise); the name rule no
    // longer applies to it, so its alert ends.
    ingest
        .register(freezer("ble:A", "Chest freezer"))
        .await
        .unwrap();
    engine.shutdown().await;
    let engine = Engine::open(&db).unwrap();
    engine.start_alerts(Arc::new(Quiet)).unwrap();
    let alerts = engine.alerts().unwrap();
    let mut records = alerts.subscribe();
    let ingest = engine.ingest();
    ingest
        .write(vec![reading("ble:A", t0 + 1_000, -10.5)])
        .await
        .unwrap();
    let ended = next_record(&mut records, "the name rule's alert ends").await;
    assert_eq!(
        (ended.id.rule.as_str(), ended.to),
        ("named-warm", Some(AlertState::Inactive))
    );
    settle().await;
    assert_eq!(
        active(&alerts),
        [(
            "any-freezer-warm".to_owned(),
            "ble:A".to_owned(),
            "Chest freezer".to_owned()
        )],
        "the kind rule's alert carried on under the new name"
    );
    ingest
        .write(vec![reading("ble:A", t0 + 2_000, -20.0)])
        .await
        .unwrap();
    let cleared = next_record(&mut records, "cleared").await;
    assert_eq!(
        (cleared.event, cleared.id.rule.as_str()),
        (AlertEvent::Cleared, "any-freezer-warm")
    );
    assert_eq!(cleared.device_name.as_deref(), Some("Chest freezer"));

    // The whole story is the device's, under both names.
    let all = history(
        engine.store(),
        &AlertHistoryQuery {
            from_ms: 0,
            to_ms: t0 + 10_000_000,
            device: Some("ble:A".into()),
            limit: 100,
        },
    )
    .unwrap();
    let kind_rule: Vec<AlertEvent> = all
        .iter()
        .filter(|r| r.id.rule == "any-freezer-warm")
        .map(|r| r.event)
        .collect();
    assert_eq!(kind_rule, [AlertEvent::Cleared, AlertEvent::Raised]);
    engine.shutdown().await;
}
