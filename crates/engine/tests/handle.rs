//! The engine is one handle shared by clones: a shutdown through any of them stops them all.

use std::sync::Arc;
use telltale_engine::alerting::LogNotifier;
use telltale_engine::Engine;
use telltale_model::{Device, DeviceId, Quality, Reading, Transport};
use telltale_store::StoreError;
use tokio::sync::broadcast::error::RecvError;

fn thermometer() -> Device {
    Device {
        id: DeviceId::new("ble:AA"),
        name: "Fridge".into(),
        kind: "thermometer".into(),
        transport: Transport::Ble,
        site: "Home".into(),
        expected_interval_ms: 10_000,
        tags: vec![],
    }
}

fn reading(ts_ms: i64) -> Reading {
    Reading {
        device: DeviceId::new("ble:AA"),
        metric: "temperature".into(),
        unit: Some("°C".into()),
        ts_ms,
        value: 4.0,
        quality: Quality::Good,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_shuts_down_every_handle_once_and_reads_still_answer() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("h.db")).unwrap();
    engine.start_pruning();
    engine.start_alerts(Arc::new(LogNotifier)).unwrap();
    let clone = engine.clone();
    let mut committed = clone.committed();
    let now = telltale_sources::now_ms();
    clone.ingest().register(thermometer()).await.unwrap();
    clone.ingest().write(vec![reading(now)]).await.unwrap();
    assert_eq!(committed.recv().await.unwrap().len(), 1);
    assert!(engine.alerts().is_some());

    clone.shutdown().await;
    assert!(engine.is_shut_down());
    assert!(
        engine.alerts().is_none(),
        "the alert engine stopped with it"
    );
    assert!(matches!(
        engine.ingest().write(vec![reading(now + 1)]).await,
        Err(StoreError::WriterStopped)
    ));
    assert!(matches!(
        engine.committed().recv().await,
        Err(RecvError::Closed)
    ));
    // Nothing starts again, a second shutdown does nothing, and what was committed is there.
    engine.start_pruning();
    engine.shutdown().await;
    assert!(engine.is_shut_down());
    let dashboard = engine.dashboard(now).unwrap();
    assert_eq!(dashboard.devices.len(), 1, "{dashboard:?}");
}
