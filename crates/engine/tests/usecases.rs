//! The engine's use cases as the app and the CLI call them: each validates, persists and
//! restarts what follows the change in one call.

mod common;

use common::MemoryKeyring;
use rumqttc::{AsyncClient, Event, MqttOptions, QoS};
use std::sync::Arc;
use std::time::{Duration, Instant};
use telltale_demo::LocalBroker;
use telltale_engine::Engine;
use telltale_model::ble::{BleDeviceConfig, SaveBleDevice};
use telltale_model::broker::{BrokerConfig, PayloadFormat, SaveBroker, TopicMap};
use telltale_model::{Device, DeviceId, Quality, Reading, Transport};
use telltale_sources::now_ms;

fn engine(dir: &tempfile::TempDir) -> Engine {
    Engine::open_with_secrets(&dir.path().join("u.db"), Arc::new(MemoryKeyring::default())).unwrap()
}

/// The newest value of a device's metric on the dashboard.
fn latest(engine: &Engine, device: &str, metric: &str) -> Option<f64> {
    engine
        .dashboard(now_ms())
        .ok()?
        .devices
        .into_iter()
        .find(|d| d.device.id.as_str() == device)?
        .latest
        .into_iter()
        .find(|v| v.metric == metric)
        .map(|v| v.value)
}

fn broker(port: u16, filter: &str) -> BrokerConfig {
    BrokerConfig {
        persistent_session: false,
        ..BrokerConfig::new(
            "plant",
            &format!("mqtt://127.0.0.1:{port}"),
            "telltale-usecases",
            vec![TopicMap::new(filter, PayloadFormat::Number, "{1}", "{2}")],
        )
    }
}

fn save(config: BrokerConfig) -> SaveBroker {
    SaveBroker {
        config,
        password: None,
        clear_password: false,
    }
}

/// Publishes `value` on `topic` every 200 ms until `done` holds (the connection and its
/// subscription take a moment).
async fn publish_until(
    client: &AsyncClient,
    topic: &str,
    value: &str,
    mut done: impl FnMut() -> bool,
) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out publishing {topic}"
        );
        client
            .publish(topic, QoS::AtLeastOnce, false, value.as_bytes().to_vec())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Publishes on `topic` and checks, half a second later, that nothing of it was stored.
async fn unheard(engine: &Engine, client: &AsyncClient, topic: &str) {
    for _ in 0..5 {
        client
            .publish(topic, QoS::AtLeastOnce, false, b"9.5".to_vec())
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        latest(engine, "mqtt:plant/pump", "flow"),
        Some(2.5),
        "{topic}"
    );
}

/// Saving a broker connects it; saving it again with other topics restarts it on them;
/// deleting it disconnects it and takes it off the status strip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_a_broker_restarts_it_and_deleting_it_stops_it() {
    let mosquitto = LocalBroker::start()
        .await
        .expect("mosquitto (apt install mosquitto)");
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let (client, mut events) = AsyncClient::new(
        MqttOptions::new("usecases-edge", "127.0.0.1", mosquitto.port()),
        64,
    );
    tokio::spawn(async move {
        while let Ok(event) = events.poll().await {
            let _: Event = event;
        }
    });

    // Refused before anything is kept: nothing connects, nothing is saved.
    let mut bad = broker(mosquitto.port(), "a/+/+");
    bad.url = "ftp://127.0.0.1".into();
    assert!(engine.save_broker(save(bad), now_ms()).await.is_err());
    assert!(engine.configured_brokers().unwrap().is_empty());
    assert!(engine.sources().iter().all(|s| s.id != "plant"));

    // Saved, then saved with new topics: the connection restarts on them each time.
    for (prefix, value) in [("a", 1.5), ("b", 2.5)] {
        let config = broker(mosquitto.port(), &format!("{prefix}/+/+"));
        engine.save_broker(save(config), now_ms()).await.unwrap();
        let topic = format!("{prefix}/pump/flow");
        publish_until(&client, &topic, &value.to_string(), || {
            latest(&engine, "mqtt:plant/pump", "flow") == Some(value)
        })
        .await;
    }
    // The old topics are no longer read.
    unheard(&engine, &client, "a/pump/flow").await;
    assert_eq!(engine.configured_brokers().unwrap().len(), 1);

    engine.delete_broker("plant", now_ms()).await.unwrap();
    assert!(engine.configured_brokers().unwrap().is_empty());
    assert!(engine.sources().iter().all(|s| s.id != "plant"));
    unheard(&engine, &client, "b/pump/flow").await;
    engine.shutdown().await;
    drop(mosquitto);
}

const ADDRESS: &str = "A4:C1:38:00:00:07";

async fn ble_device_with_history(engine: &Engine) -> DeviceId {
    engine
        .save_ble_device(
            SaveBleDevice {
                config: BleDeviceConfig {
                    address: ADDRESS.to_lowercase(),
                    name: "Cellar".into(),
                    kind: "thermometer".into(),
                    connect: false,
                },
                bindkey: None,
                clear_bindkey: false,
            },
            now_ms(),
        )
        .await
        .unwrap();
    let id = telltale_sources::ble::device_id(ADDRESS);
    let ingest = engine.ingest();
    ingest
        .register(Device {
            id: id.clone(),
            name: "Cellar".into(),
            kind: "thermometer".into(),
            transport: Transport::Ble,
            site: "Home".into(),
            expected_interval_ms: 10_000,
            tags: vec![],
        })
        .await
        .unwrap();
    let now = now_ms();
    ingest
        .write(vec![Reading {
            device: id.clone(),
            metric: "temperature".into(),
            unit: None,
            ts_ms: now - 1_000,
            value: 11.5,
            quality: Quality::Good,
        }])
        .await
        .unwrap();
    id
}

/// Removing a BLE device forgets its settings; its readings go too only when asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_ble_device_deletes_its_history_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let id = ble_device_with_history(&engine).await;
    assert_eq!(engine.ble_device_configs().unwrap()[0].address, ADDRESS);

    engine
        .remove_ble_device(ADDRESS, false, now_ms())
        .await
        .unwrap();
    assert!(engine.ble_device_configs().unwrap().is_empty());
    assert_eq!(latest(&engine, id.as_str(), "temperature"), Some(11.5));

    ble_device_with_history(&engine).await;
    // Any spelling of the address names the same device.
    engine
        .remove_ble_device(&ADDRESS.to_lowercase(), true, now_ms())
        .await
        .unwrap();
    assert!(engine.ble_device_configs().unwrap().is_empty());
    assert!(engine.store().device(&id).is_err());
    assert_eq!(latest(&engine, id.as_str(), "temperature"), None);
    // An address that is not one is refused.
    assert!(engine
        .remove_ble_device("not an address", true, now_ms())
        .await
        .is_err());
    engine.shutdown().await;
}

/// A shelved alert's end is decided from the `now` it is given; out-of-range periods and use
/// cases of an alert engine that is not running are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_use_cases_need_the_alert_engine_and_valid_periods() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let id = telltale_model::alert::AlertId {
        rule: "cold".into(),
        device: "ble:X".into(),
        metric: "temperature".into(),
    };
    let err = engine
        .shelve_alert(&id, 10, "ana", now_ms())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not running"), "{err}");
    engine
        .start_alerts(Arc::new(telltale_engine::alerting::LogNotifier))
        .unwrap();
    for minutes in [0, 7 * 24 * 60 + 1] {
        let err = engine
            .shelve_alert(&id, minutes, "ana", now_ms())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("1 minute to 7 days"), "{err}");
    }
    assert!(engine
        .save_alert_rules(&"#".repeat(300 * 1024))
        .await
        .is_err());
    assert!(engine.save_alert_rules("[[rule]]\nid = 1").await.is_err());
    engine.shutdown().await;
}

/// "Test connection" listens for 5 s with settings not yet saved and says what they would make
/// of what the broker sends: readings with examples, messages it cannot read per topic. Nothing
/// is saved, stored or connected afterwards; an unreachable broker is said to be so, in time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testing_a_broker_reports_what_it_would_store_and_keeps_nothing() {
    let mosquitto = LocalBroker::start()
        .await
        .expect("mosquitto (apt install mosquitto)");
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let (client, mut events) = AsyncClient::new(
        MqttOptions::new("usecases-gateway", "127.0.0.1", mosquitto.port()),
        64,
    );
    tokio::spawn(async move {
        while let Ok(event) = events.poll().await {
            let _: Event = event;
        }
    });
    // A gateway publishing all along: numbers the settings read, and text they cannot.
    let gateway = client.clone();
    let publishing = tokio::spawn(async move {
        for i in 0..60 {
            let _ = gateway
                .publish(
                    "t/press/temperature",
                    QoS::AtLeastOnce,
                    false,
                    format!("{}.5", 60 + i % 3),
                )
                .await;
            let _ = gateway
                .publish(
                    "t/press/status",
                    QoS::AtLeastOnce,
                    false,
                    b"running".to_vec(),
                )
                .await;
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    });
    let started = Instant::now();
    let check = engine
        .test_broker(save(broker(mosquitto.port(), "t/+/+")))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!((4.5..=5.5).contains(&check.seconds), "{check:?}");
    assert!(check.messages >= 40, "{check:?}");
    assert_eq!(check.topics, 2, "{check:?}");
    assert!(
        check.readings >= 20 && check.readings < check.messages,
        "{check:?}"
    );
    assert!(
        check
            .examples
            .iter()
            .any(|e| e.starts_with("press · temperature = 6")),
        "{check:?}"
    );
    assert_eq!(check.rejected.len(), 1, "{check:?}");
    assert_eq!(check.rejected[0].topic, "t/press/status");
    assert!(check.rejected[0].count >= 20, "{check:?}");
    // Nothing kept: no settings, no source, no readings.
    assert!(engine.configured_brokers().unwrap().is_empty());
    assert!(engine.sources().iter().all(|s| s.id != "plant"));
    assert_eq!(latest(&engine, "mqtt:plant/press", "temperature"), None);
    publishing.abort();

    // Nobody listening there: said with the address, within the connect limit.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let refused = engine
        .test_broker(save(broker(closed, "t/+/+")))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains(&format!("127.0.0.1:{closed}")),
        "{refused}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
    engine.shutdown().await;
    drop(mosquitto);
}
