//! The BLE source rides out a store that cannot write for a while (another process holding the
//! database's write lock longer than the busy timeout): the frame heard meanwhile is stored once
//! the lock goes, and the source goes on listening, instead of stopping for good at its first
//! failed write.

mod common;

use common::temperatures;
use std::time::Duration;
use telltale_model::SourceState;
use telltale_sources::ble::{self, BleEvent, BleFleet, ChannelRadio, KnownDevice};
use telltale_sources::SourceBoard;
use tokio::sync::mpsc;

const ADDRESS: &str = "A4:C1:38:00:00:01";
const SOURCE: &str = "ble";

/// A plain BTHome v2 frame: device info 0x40 (v2, not encrypted), temperature (0x02, 0.01 °C).
fn advert(centi_degrees: i16) -> BleEvent {
    let [lo, hi] = centi_degrees.to_le_bytes();
    BleEvent::Advertisement {
        address: ADDRESS.into(),
        name: None,
        rssi: Some(-60),
        service_data: vec![(0xFCD2, vec![0x40, 0x02, lo, hi])],
        manufacturer_data: vec![],
        services: vec![],
    }
}

async fn eventually<T>(what: &str, within: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_does_not_stop_the_ble_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ble.db");
    let (store, writer) = telltale_store::open(&path).unwrap();
    let board = SourceBoard::default();
    let (radio, rx) = mpsc::channel(16);
    let fleet = BleFleet {
        devices: vec![KnownDevice {
            address: ADDRESS.into(),
            name: "Cellar".into(),
            kind: "thermometer".into(),
            site: "Home".into(),
            expected_interval_ms: 10_000,
            tags: vec![],
            connect: false,
            bindkey: None,
        }],
    };
    let source = ble::start(
        SOURCE,
        Box::new(ChannelRadio(rx)),
        fleet,
        writer.ingest(),
        board.clone(),
    );
    let listening = || {
        board
            .snapshot()
            .into_iter()
            .find(|s| s.id == SOURCE && s.state == SourceState::Connected)
    };
    eventually("the source listens", Duration::from_secs(10), listening).await;
    radio.send(advert(1000)).await.unwrap();
    eventually("the first frame", Duration::from_secs(10), || {
        (temperatures(&store, ADDRESS) == [10.0]).then_some(())
    })
    .await;

    // Another process holds the write lock for longer than the writer's 5 s busy timeout.
    let (locked_tx, locked) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let mut other = rusqlite::Connection::open(&path).unwrap();
        let tx = other
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        locked_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(6_500));
        tx.commit().unwrap();
    });
    locked.recv().unwrap();
    radio.send(advert(1100)).await.unwrap();
    eventually(
        "the frame heard during the lock, stored after it",
        Duration::from_secs(30),
        || (temperatures(&store, ADDRESS) == [10.0, 11.0]).then_some(()),
    )
    .await;
    holder.join().unwrap();
    radio.send(advert(1200)).await.unwrap();
    eventually(
        "the source still listening",
        Duration::from_secs(10),
        || (temperatures(&store, ADDRESS) == [10.0, 11.0, 12.0]).then_some(()),
    )
    .await;
    assert!(listening().is_some(), "{:?}", board.snapshot());
    source.stop().await;
}
