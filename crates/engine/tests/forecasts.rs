//! Maintenance forecasts from stored history and the alert limits in force.

use std::sync::Arc;
use telltale_engine::alerting::LogNotifier;
use telltale_engine::Engine;
use telltale_model::{Device, DeviceId, Quality, Reading, Transport};

const HOUR: i64 = 3_600_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rising_series_is_dated_and_a_flat_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("m.db")).unwrap();
    let now = telltale_sources::now_ms();
    let ingest = engine.ingest();
    for (id, name) in [("mqtt:p/pump", "pump"), ("mqtt:p/fan", "fan")] {
        ingest
            .register(Device {
                id: DeviceId::new(id),
                name: name.into(),
                kind: "machine".into(),
                transport: Transport::Mqtt,
                site: "Plant".into(),
                expected_interval_ms: HOUR,
                tags: vec![],
            })
            .await
            .unwrap();
    }
    // Twenty days of hourly vibration: the pump wears (0.05 mm/s a day), the fan does not.
    let mut readings = Vec::new();
    for h in 0..480 {
        let t = now - (480 - h) * HOUR;
        let wobble = ((h * 7919) % 13) as f64 / 100.0;
        for (device, value) in [
            ("mqtt:p/pump", 2.0 + 0.05 * h as f64 / 24.0 + wobble),
            ("mqtt:p/fan", 2.0 + wobble),
        ] {
            readings.push(Reading {
                device: DeviceId::new(device),
                metric: "vibration".into(),
                unit: Some("mm/s".into()),
                ts_ms: t,
                value,
                quality: Quality::Good,
            });
        }
    }
    ingest.write(readings).await.unwrap();
    engine.start_alerts(Arc::new(LogNotifier)).unwrap();
    engine
        .alerts()
        .unwrap()
        .set_rules(
            "[[rule]]\nid = \"vibration-limit\"\ndevice = \"*\"\nmetric = \"vibration\"\nkind = \"high\"\nlimit = 4.0\n",
        )
        .await
        .unwrap();
    let forecasts = engine.queries().forecasts(now).unwrap();
    assert_eq!(forecasts.len(), 2, "{forecasts:?}");
    let pump = &forecasts[0];
    assert_eq!(pump.device_name, "pump", "dated forecasts come first");
    // 2.0 + 0.05/day reaches 4.0 about 40 days after the start, i.e. ~20 days from now.
    let eta_days = (pump.eta_ms.unwrap() - now) as f64 / (24.0 * HOUR as f64);
    assert!(
        (14.0..=26.0).contains(&eta_days),
        "{eta_days} days: {}",
        pump.basis
    );
    assert!(pump.low_ms.unwrap() <= pump.eta_ms.unwrap());
    assert!(pump.eta_ms.unwrap() <= pump.high_ms.unwrap());
    let fan = &forecasts[1];
    assert_eq!(
        fan.eta_ms, None,
        "a flat series gets no date: {}",
        fan.basis
    );
    assert!(!fan.basis.is_empty());

    // The device chart's projection starts at the newest reading and reaches the limit.
    let pump_id = DeviceId::new("mqtt:p/pump");
    let drawn = engine
        .queries()
        .chart_forecasts(&pump_id, "vibration", now)
        .unwrap();
    assert_eq!(drawn.len(), 1, "{drawn:?}");
    assert_eq!((drawn[0].from_ms, drawn[0].threshold), (now - HOUR, 4.0));
    assert_eq!(drawn[0].eta_ms, pump.eta_ms.unwrap());
    let fan_id = DeviceId::new("mqtt:p/fan");
    assert!(engine
        .queries()
        .chart_forecasts(&fan_id, "vibration", now)
        .unwrap()
        .is_empty());

    // A upkeep rule: the pump's date is inside 30 days, the fan has none.
    let alerts = engine.alerts().unwrap();
    alerts
        .set_rules(
            "[[rule]]\nid = \"vibration-limit\"\ndevice = \"*\"\nmetric = \"vibration\"\nkind = \"high\"\nlimit = 4.0\n\
             [[rule]]\nid = \"wear\"\ndevice = \"*\"\nkind = \"forecast\"\nhorizon_s = 2592000\n",
        )
        .await
        .unwrap();
    let mut raised = Vec::new();
    for _ in 0..100 {
        raised = alerts.active();
        if !raised.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let raised: Vec<(&str, &str, &str)> = raised
        .iter()
        .map(|a| {
            (
                a.id.rule.as_str(),
                a.id.device.as_str(),
                a.id.metric.as_str(),
            )
        })
        .collect();
    assert_eq!(raised, [("wear", "mqtt:p/pump", "vibration")]);
    assert_eq!(alerts.active()[0].device_name, "pump");
    engine.shutdown().await;
}
