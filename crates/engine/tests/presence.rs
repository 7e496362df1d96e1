//! A gateway's "this device is gone" outlives a restart: the engine puts the devices that were
//! declared offline (and never back) on the status board when their broker starts again, so the
//! dashboard does not show a dead Sparkplug node as merely quiet until it is heard from.

use telltale_engine::Engine;
use telltale_model::{DeviceId, Freshness, Quality, Reading};
use telltale_sources::mqtt::{BrokerConfig, PayloadFormat, TopicMap};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_declared_offline_is_offline_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("presence.db");
    let now = 1_700_000_000_000;
    let (dead, alive) = (
        DeviceId::new("mqtt:plant/Line1/Press"),
        DeviceId::new("mqtt:plant/Line1/Pump"),
    );
    {
        let engine = Engine::open(&db).unwrap();
        let ingest = engine.ingest();
        let reading = |device: &DeviceId| Reading {
            device: device.clone(),
            metric: "t".into(),
            unit: None,
            ts_ms: now,
            value: 1.0,
            quality: Quality::Good,
        };
        ingest
            .write(vec![reading(&dead), reading(&alive)])
            .await
            .unwrap();
        ingest
            .set_offline(dead.clone(), Some(now + 5), now + 5)
            .await
            .unwrap();
        // Declared gone, then back: online.
        ingest
            .set_offline(alive.clone(), Some(now + 6), now + 6)
            .await
            .unwrap();
        ingest
            .set_offline(alive.clone(), None, now + 7)
            .await
            .unwrap();
        engine.shutdown().await;
    }
    let engine = Engine::open(&db).unwrap();
    // Nothing listens on this port: the connection never comes up, which is the point — the
    // state is known before the gateway says anything.
    let config = BrokerConfig::new(
        "plant",
        "mqtt://127.0.0.1:9",
        "telltale-presence-test",
        vec![TopicMap::new("spBv1.0/#", PayloadFormat::Sparkplug, "", "")],
    );
    // No username: the keyring is never asked.
    engine.start_broker(config).unwrap();
    let board = engine.dashboard(now + 10).unwrap();
    let freshness = |id: &DeviceId| {
        board
            .devices
            .iter()
            .find(|d| &d.device.id == id)
            .map(|d| d.freshness)
    };
    assert_eq!(freshness(&dead), Some(Freshness::Offline), "{board:?}");
    assert_ne!(freshness(&alive), Some(Freshness::Offline), "{board:?}");
    engine.shutdown().await;
}
