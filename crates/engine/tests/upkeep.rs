//! Service plans and upkeep alerts through the engine: readings in the store, plans
//! through the single writer, alerts from the periodic upkeep pass.

use std::sync::Arc;
use std::time::Duration;
use telltale_engine::alerting::LogNotifier;
use telltale_engine::{upkeep, Engine};
use telltale_model::alert::{AlertKind, AlertState};
use telltale_model::upkeep::ServicePlan;
use telltale_model::{Device, DeviceId, Quality, Reading, Transport};

const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;

fn reading(device: &str, metric: &str, ts_ms: i64, value: f64) -> Reading {
    Reading {
        device: DeviceId::new(device),
        metric: metric.into(),
        unit: None,
        ts_ms,
        value,
        quality: Quality::Good,
    }
}

async fn register(engine: &Engine, id: &str, name: &str) {
    engine
        .ingest()
        .register(Device {
            id: DeviceId::new(id),
            name: name.into(),
            kind: "machine".into(),
            transport: Transport::Mqtt,
            site: "Plant".into(),
            expected_interval_ms: MIN,
            tags: vec![],
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_counts_hours_and_starts_and_restarts_when_serviced() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("u.db")).unwrap();
    let now = telltale_sources::now_ms();
    register(&engine, "mqtt:p/pump", "pump").await;
    let start = now - 10 * HOUR;
    let ingest = engine.ingest();
    engine
        .save_service_plan(
            ServicePlan {
                id: "seal".into(),
                device: DeviceId::new("mqtt:p/pump"),
                metric: "current".into(),
                on_above: 2.0,
                every_hours: Some(20.0),
                every_cycles: Some(100),
            },
            start,
        )
        .await
        .unwrap();
    // A reading a minute for ten hours: 30 min running, 30 min stopped, except hours 4 to 6,
    // when the collector was off (no data, so nothing counted though the pump was running).
    let mut readings = Vec::new();
    for m in 0..600 {
        let hour = m / 60;
        if (4..6).contains(&hour) {
            continue;
        }
        let running = m % 60 >= 30 || hour == 6;
        readings.push(reading(
            "mqtt:p/pump",
            "current",
            start + m * MIN,
            if running { 8.0 } else { 0.1 },
        ));
    }
    ingest.write(readings).await.unwrap();
    let status = &upkeep::service_statuses(engine.store(), now).unwrap()[0];
    // Half of each hour running (the last reading before the gap holds nothing: 29 min), all
    // of hour 6: 4 h 29 min.
    assert_eq!(status.hours * 60.0, 269.0, "{status:?}");
    // A start in each hour that begins stopped (0, 1, 2, 3, 7, 8, 9); none across the gap, as
    // the pump was running on both sides of it.
    assert_eq!(status.cycles, 7, "{status:?}");
    assert_eq!(status.cycles_left, Some(93));
    assert!(status.due_ms.is_some_and(|t| t > now), "{status:?}");

    engine.start_alerts(Arc::new(LogNotifier)).unwrap();
    // Due in about a day at this pace: a one-hour horizon stays quiet, three days raises.
    let alerts = engine.alerts().unwrap();
    let rule = |horizon_s: u32| {
        format!(
            "[[rule]]\nid = \"due\"\ndevice = \"*\"\nkind = \"service_due\"\nhorizon_s = {horizon_s}\n"
        )
    };
    alerts.set_rules(&rule(3_600)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(alerts.active().is_empty(), "{:?}", alerts.active());
    alerts.set_rules(&rule(259_200)).await.unwrap();
    let mut raised = Vec::new();
    for _ in 0..100 {
        raised = alerts.active();
        if !raised.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(raised.len(), 1, "the first upkeep pass runs at start");
    assert_eq!(
        (
            raised[0].id.device.as_str(),
            raised[0].id.metric.as_str(),
            raised[0].kind
        ),
        ("mqtt:p/pump", "current", AlertKind::ServiceDue)
    );

    engine.mark_serviced("seal", "ana", now).await.unwrap();
    let after = &upkeep::service_statuses(engine.store(), now + MIN).unwrap()[0];
    assert_eq!((after.cycles, after.since_ms), (0, now), "{after:?}");
    assert_eq!(after.history.len(), 1);
    assert_eq!(after.history[0].by, "ana");
    assert_eq!(after.history[0].cycles, 7);
    engine.delete_service_plan("seal").await.unwrap();
    assert!(upkeep::service_statuses(engine.store(), now)
        .unwrap()
        .is_empty());
    // Its alert does not outlive the plan.
    alerts.recheck_upkeep();
    let mut left = alerts.active();
    for _ in 0..100 {
        if left.iter().all(|a| a.state != AlertState::ActiveUnacked) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = alerts.active();
    }
    assert_eq!(left.len(), 1);
    assert_eq!(
        left[0].state,
        AlertState::ClearedUnacked,
        "cleared, waiting for an acknowledgement"
    );
    engine.shutdown().await;
}

/// Raw readings past their retention are gone; the count still covers them from the rollups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_older_than_the_raw_readings_counts_from_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("r.db")).unwrap();
    let now = telltale_sources::now_ms();
    register(&engine, "mqtt:p/fan", "fan").await;
    let ingest = engine.ingest();
    let start = now - 48 * HOUR;
    let plan = ServicePlan {
        id: "belt".into(),
        device: DeviceId::new("mqtt:p/fan"),
        metric: "running".into(),
        on_above: 0.5,
        every_hours: Some(100.0),
        every_cycles: None,
    };
    engine.save_service_plan(plan, start).await.unwrap();
    // Four hours of running, two days ago, a reading a minute.
    let readings = (0..240)
        .map(|m| reading("mqtt:p/fan", "running", start + m * MIN, 1.0))
        .collect();
    ingest.write(readings).await.unwrap();
    let before = &upkeep::service_statuses(engine.store(), now).unwrap()[0];
    ingest
        .set_retention(
            telltale_store::SeriesKey {
                device: DeviceId::new("mqtt:p/fan"),
                metric: "running".into(),
            },
            telltale_store::Retention {
                raw_ms: Some(24 * HOUR),
                minute_ms: None,
            },
        )
        .await
        .unwrap();
    while ingest.prune_step(now).await.unwrap() > 0 {}
    let after = &upkeep::service_statuses(engine.store(), now).unwrap()[0];
    // Raw: 239 one-minute steps, nothing held across the silence since. Rollups: the same
    // stretch at the minute grid's resolution (its edges fall between readings).
    assert_eq!(before.hours * 60.0, 239.0, "{before:?}");
    assert!(
        (after.hours - before.hours).abs() * 60.0 <= 5.0,
        "{after:?}"
    );
    // The pace is judged over the time the data covers: four hours, all running.
    assert_eq!(after.due_ms.is_some(), before.due_ms.is_some());
    engine.shutdown().await;
}

/// A screen watching upkeep is told, without asking: the pass runs at once for a new
/// watcher (even with no upkeep rule in force), and again at once after a plan changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_is_told_each_upkeep_pass() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("w.db")).unwrap();
    let now = telltale_sources::now_ms();
    register(&engine, "mqtt:p/fan", "fan").await;
    engine.start_alerts(Arc::new(LogNotifier)).unwrap();
    let alerts = engine.alerts().unwrap();
    // No forecast or service_due rule: only the watcher wants the pass.
    alerts
        .set_rules("[[rule]]\nid = \"hot\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"high\"\nlimit = 90.0\n")
        .await
        .unwrap();
    let mut watch = alerts.watch_upkeep();
    let first = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            watch.changed().await.unwrap();
            if let Some(u) = watch.borrow_and_update().clone() {
                return u;
            }
        }
    })
    .await
    .expect("a pass within 10 s of watching");
    assert!(first.plans.is_empty(), "{first:?}");

    engine
        .save_service_plan(
            ServicePlan {
                id: "belt".into(),
                device: DeviceId::new("mqtt:p/fan"),
                metric: "current".into(),
                on_above: 1.0,
                every_hours: Some(500.0),
                every_cycles: None,
            },
            now,
        )
        .await
        .unwrap();
    // Told within seconds, not at the next minute's pass.
    let told = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            watch.changed().await.unwrap();
            if let Some(u) = watch.borrow_and_update().clone() {
                if !u.plans.is_empty() {
                    return u;
                }
            }
        }
    })
    .await
    .expect("the new plan pushed within 10 s");
    assert_eq!(told.plans[0].plan.id, "belt");
    assert!(told.at_ms >= first.at_ms);
    engine.shutdown().await;
}
