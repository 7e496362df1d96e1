//! Alerts evaluated on committed readings, with a real SQLite file: raised, acknowledged,
//! recorded, and continued across a restart in the middle of an on-delay.

mod common;

use common::{Collected, Collector};
use std::sync::Arc;
use std::time::Duration;
use telltale_engine::alerting::history;
use telltale_engine::Engine;
use telltale_model::alert::{
    AlertEvent, AlertHistoryQuery, AlertId, AlertRecord, AlertState, Severity,
};
use telltale_model::{Device, DeviceId, Quality, Reading, Transport};
use tokio::sync::broadcast;

const RULES: &str = r#"
[[rule]]
id = "freezer-warm"
device = "Freezer"
metric = "temperature"
kind = "high"
limit = -15.0
deadband = 1.0
on_delay_s = 60
severity = "critical"
"#;

fn reading(ts_ms: i64, value: f64) -> Reading {
    Reading {
        device: DeviceId::new("ble:FREEZER"),
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

async fn engine(db: &std::path::Path, notes: Arc<Collected>) -> Engine {
    let engine = Engine::open(db).unwrap();
    engine
        .ingest()
        .register(Device {
            id: DeviceId::new("ble:FREEZER"),
            name: "Freezer".into(),
            kind: "thermometer".into(),
            transport: Transport::Ble,
            site: "Home".into(),
            expected_interval_ms: 60_000,
            tags: vec![],
        })
        .await
        .unwrap();
    engine.start_alerts(Arc::new(Collector(notes))).unwrap();
    engine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raised_on_commit_acknowledged_and_continued_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("alerts.db");
    let notes = Arc::new(Collected::default());
    // Readings near the wall clock, which stamps acknowledgements.
    let t0 = telltale_sources::now_ms() - 75_000;

    // First run: the freezer warms up; the on-delay starts but has not run out.
    let first = engine(&db, notes.clone()).await;
    let alerts = first.alerts().unwrap();
    alerts.set_rules(RULES).await.unwrap();
    let bad = alerts
        .set_rules("[[rule]]\nid = \"x\"\nkind = \"sideways\"")
        .await;
    assert!(bad.is_err(), "bad rules are refused, the old ones stay");
    first
        .ingest()
        .write(vec![reading(t0, -20.0), reading(t0 + 10_000, -14.0)])
        .await
        .unwrap();
    // Let the evaluator see the commit and save its state.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(alerts.active().is_empty(), "the on-delay has not run out");
    first.shutdown().await;

    // Second run: the condition still holds 60 s after it began, so the alert is raised now,
    // which only works if the running on-delay survived the restart.
    let second = engine(&db, notes.clone()).await;
    let alerts = second.alerts().unwrap();
    assert!(
        alerts.rules_text().contains("freezer-warm"),
        "the rules were kept"
    );
    let mut records = alerts.subscribe();
    second
        .ingest()
        .write(vec![reading(t0 + 70_000, -13.5)])
        .await
        .unwrap();
    let raised = next_record(&mut records, "raised").await;
    assert_eq!(
        (raised.event, raised.ts_ms),
        (AlertEvent::Raised, t0 + 70_000)
    );
    assert_eq!(raised.value, Some(-13.5));
    assert_eq!(
        (raised.id.device.as_str(), raised.device_name.as_deref()),
        ("ble:FREEZER", Some("Freezer")),
        "kept by the device's id, named as people name it"
    );
    let active = alerts.active();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].state, AlertState::ActiveUnacked);
    assert_eq!(active[0].severity, Severity::Critical);

    let id = AlertId {
        rule: "freezer-warm".into(),
        device: "ble:FREEZER".into(),
        metric: "temperature".into(),
    };
    alerts.acknowledge(&id, "sam").await.unwrap();
    let acked = next_record(&mut records, "acknowledged").await;
    assert_eq!(
        (acked.event, acked.by.as_deref()),
        (AlertEvent::Acknowledged, Some("sam"))
    );
    assert_eq!(alerts.active()[0].acked_by.as_deref(), Some("sam"));
    let unknown = AlertId {
        rule: "no-such-rule".into(),
        ..id.clone()
    };
    assert!(alerts.acknowledge(&unknown, "sam").await.is_err());

    second
        .ingest()
        .write(vec![reading(t0 + 120_000, -17.0)])
        .await
        .unwrap();
    let cleared = next_record(&mut records, "cleared").await;
    assert_eq!(cleared.event, AlertEvent::Cleared);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        alerts.active().is_empty(),
        "acknowledged and cleared: nothing left to do"
    );

    // The history is on record, newest first.
    let all = history(
        second.store(),
        &AlertHistoryQuery {
            from_ms: 0,
            to_ms: t0 + 10_000_000,
            device: Some("ble:FREEZER".into()),
            limit: 100,
        },
    )
    .unwrap();
    let events: Vec<AlertEvent> = all.iter().map(|r| r.event).collect();
    assert_eq!(
        events,
        [
            AlertEvent::Cleared,
            AlertEvent::Acknowledged,
            AlertEvent::Raised
        ]
    );
    // The device chart's overlay: the limit, and the stretch the alert was active.
    let overlay = second
        .queries()
        .series_alerts(
            &DeviceId::new("ble:FREEZER"),
            "temperature",
            t0,
            t0 + 200_000,
        )
        .unwrap();
    assert_eq!(overlay.limits.len(), 1);
    assert_eq!(overlay.limits[0].value, -15.0);
    assert_eq!(overlay.periods.len(), 1, "{:?}", overlay.periods);
    assert_eq!(
        (overlay.periods[0].from_ms, overlay.periods[0].to_ms),
        (t0 + 70_000, t0 + 120_000)
    );
    {
        let n = notes.0.lock().unwrap();
        assert_eq!(n.len(), 1, "one notification for one raise: {n:?}");
        assert!(n[0].body.contains("Freezer"), "{}", n[0].body);
    }
    second.shutdown().await;
}

/// "Every freezer": a rule aimed at a tag watches the devices people tagged, and no others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_aimed_at_a_tag_watches_the_tagged_devices() {
    let dir = tempfile::tempdir().unwrap();
    let notes = Arc::new(Collected::default());
    let engine = engine(&dir.path().join("tags.db"), notes).await;
    let ingest = engine.ingest();
    ingest
        .register(Device {
            id: DeviceId::new("ble:FRIDGE"),
            name: "Fridge".into(),
            kind: "thermometer".into(),
            transport: Transport::Ble,
            site: "Home".into(),
            expected_interval_ms: 60_000,
            tags: vec![],
        })
        .await
        .unwrap();
    engine
        .set_device_tags(DeviceId::new("ble:FREEZER"), &[" Freezer ".into()])
        .await
        .unwrap();
    assert!(engine
        .set_device_tags(DeviceId::new("ble:FREEZER"), &["two words".into()])
        .await
        .is_err());
    assert!(
        engine
            .set_device_tags(DeviceId::new("ble:NOPE"), &["x".into()])
            .await
            .is_err(),
        "an unknown device is an error"
    );
    assert_eq!(
        engine
            .store()
            .device(&DeviceId::new("ble:FREEZER"))
            .unwrap()
            .tags,
        ["freezer"]
    );
    let alerts = engine.alerts().unwrap();
    alerts
        .set_rules("[[rule]]\nid = \"any-freezer-warm\"\ndevice = \"*\"\ntags = [\"freezer\"]\nmetric = \"temperature\"\nkind = \"high\"\nlimit = -15.0\n")
        .await
        .unwrap();
    let mut records = alerts.subscribe();
    let now = telltale_sources::now_ms();
    let warm = |device: &str| Reading {
        device: DeviceId::new(device),
        metric: "temperature".into(),
        unit: Some("°C".into()),
        ts_ms: now,
        value: -5.0,
        quality: Quality::Good,
    };
    ingest
        .write(vec![warm("ble:FRIDGE"), warm("ble:FREEZER")])
        .await
        .unwrap();
    let raised = next_record(&mut records, "raised").await;
    assert_eq!(
        raised.id.device, "ble:FREEZER",
        "only the tagged device: {raised:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(alerts.active().len(), 1);
    drop(ingest);
    engine.shutdown().await;
}

/// A reading stamped hours ahead of the clock (a gateway's clock running fast) must not keep its
/// device "fresh" until then: the stale rule judges it as heard when it arrived, and raises once
/// the device has been silent that long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reading_from_the_future_does_not_silence_a_stale_rule() {
    let dir = tempfile::tempdir().unwrap();
    let notes = Arc::new(Collected::default());
    let engine = engine(&dir.path().join("alerts.db"), notes).await;
    let alerts = engine.alerts().unwrap();
    alerts
        .set_rules(
            "[[rule]]\nid = \"freezer-quiet\"\ndevice = \"Freezer\"\nkind = \"stale\"\nstale_after_s = 2\n",
        )
        .await
        .unwrap();
    let mut records = alerts.subscribe();
    let twenty_hours = 20 * 3_600_000;
    engine
        .ingest()
        .write(vec![reading(
            telltale_sources::now_ms() + twenty_hours,
            -18.0,
        )])
        .await
        .unwrap();
    let raised = next_record(&mut records, "the stale rule raised").await;
    assert_eq!(raised.event, AlertEvent::Raised, "{raised:?}");
    assert!(
        raised.ts_ms < telltale_sources::now_ms() + 1_000,
        "{raised:?}"
    );
    engine.shutdown().await;
}
