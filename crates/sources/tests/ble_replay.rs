//! Replay protection survives a restart of the app: the counter of an encrypted advertisement
//! is stored with its readings, so a frame recorded before the restart is refused after it.
//! A recorded run played back while the device still sends is refused; a device that falls
//! silent, reboots and counts again from 1 is taken back after a short run of frames, and the
//! restart shows in its health (the frame-by-frame rules are unit-tested in `ble::replay`).

mod common;

use common::temperatures;
use std::future::Future;
use std::time::Duration;
use telltale_fake_bluez::bytes_of_hex as hex;
use telltale_model::{DeviceId, SourceState};
use telltale_sources::ble::{self, Bindkey, BleEvent, BleFleet, ChannelRadio, KnownDevice};
use telltale_sources::SourceBoard;
use telltale_store::Ingest;
use tokio::sync::mpsc;

const SEALED: &str = "54:48:E6:8F:80:A5";
/// bthome-ble's test key and frames: counter 0x00112233, then an older one (0x00112232).
const SEALED_KEY: [u8; 16] = [
    0x23, 0x1d, 0x39, 0xc1, 0xd7, 0xcc, 0x1a, 0xb1, 0xae, 0xe2, 0x24, 0xcd, 0x09, 0x6d, 0xb9, 0x32,
];
const SEALED_FRAME: &str = "41e445f3c9962b332211006c7c4519";
const SEALED_OLDER: &str = "41723d3035fb88322211009e7414c0";
const SOURCE: &str = "ble";

fn advert(frame: &str) -> BleEvent {
    advert_bytes(hex(frame))
}

fn advert_bytes(frame: Vec<u8>) -> BleEvent {
    BleEvent::Advertisement {
        address: SEALED.into(),
        name: None,
        rssi: Some(-70),
        service_data: vec![(0xFCD2, frame)],
        manufacturer_data: vec![],
        services: vec![],
    }
}

/// A BTHome v2 frame sealed with the test key: `counter`, one temperature.
fn sealed(counter: u32, temperature: f64) -> BleEvent {
    let mac = [0x54, 0x48, 0xe6, 0x8f, 0x80, 0xa5];
    let mut objects = vec![0x02];
    objects.extend_from_slice(&((temperature * 100.0).round() as i16).to_le_bytes());
    advert_bytes(telltale_decode::seal_bthome_v2(
        &objects,
        mac,
        &SEALED_KEY,
        counter,
    ))
}

fn fleet() -> BleFleet {
    BleFleet {
        devices: vec![KnownDevice {
            address: SEALED.into(),
            name: "Garage".into(),
            kind: "thermometer".into(),
            site: "Home".into(),
            expected_interval_ms: 10_000,
            tags: vec![],
            connect: false,
            bindkey: Some(Bindkey(SEALED_KEY)),
        }],
    }
}

async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn within<F: Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// Starts a source on the test's radio and waits until it listens.
async fn start(ingest: Ingest, board: &SourceBoard) -> (ble::BleSource, mpsc::Sender<BleEvent>) {
    let (tx, rx) = mpsc::channel(16);
    let source = ble::start(
        SOURCE,
        Box::new(ChannelRadio(rx)),
        fleet(),
        ingest,
        board.clone(),
    );
    eventually("the source listens", || {
        board
            .snapshot()
            .into_iter()
            .find(|s| s.id == SOURCE && s.state == SourceState::Connected)
    })
    .await;
    (source, tx)
}

#[tokio::test]
async fn a_frame_recorded_before_a_restart_is_refused_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = telltale_store::open(&dir.path().join("replay.db")).unwrap();
    let device = DeviceId::new(format!("ble:{SEALED}"));

    let board = SourceBoard::default();
    let (source, radio) = start(writer.ingest(), &board).await;
    radio.send(advert(SEALED_FRAME)).await.unwrap();
    eventually("the sealed frame is stored", || {
        (temperatures(&store, SEALED) == [25.06]).then_some(())
    })
    .await;
    let stored = within(
        "the counter",
        writer.ingest().replay_counter(device.clone()),
    )
    .await
    .unwrap();
    assert_eq!(stored, Some(0x0011_2233));
    within("the source stops", source.stop()).await;

    // The app starts again on the same database; an attacker plays back what it recorded.
    let board = SourceBoard::default();
    let (source, radio) = start(writer.ingest(), &board).await;
    radio.send(advert(SEALED_OLDER)).await.unwrap();
    radio.send(advert(SEALED_FRAME)).await.unwrap();
    let rejected = eventually("both playbacks are refused", || {
        let status = board.snapshot().into_iter().find(|s| s.id == SOURCE)?;
        let r = status.rejected.into_iter().find(|r| r.topic == SEALED)?;
        (r.count >= 2).then_some(r)
    })
    .await;
    assert_eq!(rejected.count, 2);
    assert!(
        rejected.last_reason.contains("replayed"),
        "{}",
        rejected.last_reason
    );
    assert_eq!(
        temperatures(&store, SEALED),
        [25.06],
        "nothing stored twice, nothing lost"
    );
    let kept = within(
        "the counter",
        writer.ingest().replay_counter(device.clone()),
    )
    .await
    .unwrap();
    assert_eq!(kept, Some(0x0011_2233));

    // A run counting from 1 right after the app starts is no reboot yet: the device's count
    // was not heard to fall silent (the app was not listening).
    for (counter, temperature) in [(1, 30.0), (2, 30.5), (3, 31.0)] {
        radio.send(sealed(counter, temperature)).await.unwrap();
    }
    eventually("the run is refused", || {
        (refused(&board).0 == 5).then_some(())
    })
    .await;
    assert_eq!(temperatures(&store, SEALED), [25.06]);
    assert_eq!(stored_counter(writer.ingest()).await, Some(0x0011_2233));
    within("the source stops", source.stop()).await;
}

/// The sealed device's counter as the store keeps it.
async fn stored_counter(ingest: Ingest) -> Option<u32> {
    let device = DeviceId::new(format!("ble:{SEALED}"));
    within("the counter", ingest.replay_counter(device))
        .await
        .unwrap()
}

/// How many of the sealed device's frames were refused, and the last reason.
fn refused(board: &SourceBoard) -> (u64, String) {
    board
        .snapshot()
        .into_iter()
        .find(|s| s.id == SOURCE)
        .and_then(|s| s.rejected.into_iter().find(|r| r.topic == SEALED))
        .map_or((0, String::new()), |r| (r.count, r.last_reason))
}

#[tokio::test]
async fn a_recorded_run_is_refused_while_the_device_sends_and_a_reboot_is_taken_after_a_silence() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = telltale_store::open(&dir.path().join("reboot.db")).unwrap();
    let board = SourceBoard::default();
    let (source, radio) = start(writer.ingest(), &board).await;

    // The device is far into its count; an attacker recorded three frames right after an
    // earlier reboot and plays them back between two of its real ones.
    let mut stored = Vec::new();
    for (counter, temperature) in [(1_000_000, 20.0), (1_000_001, 20.5)] {
        radio.send(sealed(counter, temperature)).await.unwrap();
        stored.push(temperature);
        eventually("a real frame is stored", || {
            (temperatures(&store, SEALED) == stored).then_some(())
        })
        .await;
    }
    for (counter, temperature) in [(5, 10.0), (6, 10.5), (7, 11.0)] {
        radio.send(sealed(counter, temperature)).await.unwrap();
    }
    radio.send(sealed(1_000_002, 21.0)).await.unwrap();
    stored.push(21.0);
    eventually("the real frame after the playback is stored", || {
        (temperatures(&store, SEALED) == stored).then_some(())
    })
    .await;
    let (count, reason) = refused(&board);
    assert_eq!(count, 3, "the whole recorded run is refused");
    assert!(reason.contains("replayed"), "{reason}");
    assert_eq!(stored_counter(writer.ingest()).await, Some(1_000_002));
    assert_eq!(source.health(SEALED).restarts, 0);

    // The battery is changed: silent for longer than the restart needs (three intervals, at
    // least 30 s), the device counts from 1 again and the third frame of the run is stored.
    let silent_from = telltale_sources::now_ms();
    tokio::time::sleep(Duration::from_millis(31_000)).await;
    for (counter, temperature) in [(1, 30.0), (2, 30.5), (3, 31.0)] {
        radio.send(sealed(counter, temperature)).await.unwrap();
    }
    stored.push(31.0);
    eventually("the third frame after the reboot is stored", || {
        (temperatures(&store, SEALED) == stored).then_some(())
    })
    .await;
    assert_eq!(stored_counter(writer.ingest()).await, Some(3));
    let health = source.health(SEALED);
    assert_eq!(health.restarts, 1, "the restart shows on the device's row");
    assert!(
        health.last_restart_ms.is_some_and(|t| t > silent_from),
        "{:?}",
        health.last_restart_ms
    );

    // The old count's frames are recordings now: refused, the counter stays where it is.
    radio.send(sealed(1_000_002, 21.0)).await.unwrap();
    eventually("the old count's frame is refused", || {
        (refused(&board).0 == 6).then_some(())
    })
    .await;
    radio.send(sealed(4, 31.5)).await.unwrap();
    stored.push(31.5);
    eventually("the new count goes on", || {
        (temperatures(&store, SEALED) == stored).then_some(())
    })
    .await;
    assert_eq!(stored_counter(writer.ingest()).await, Some(4));
    assert_eq!(source.health(SEALED).restarts, 1);
    within("the source stops", source.stop()).await;

    // The restart is on record with the device: the next run of the app counts on from it.
    let record = within(
        "the record",
        writer
            .ingest()
            .counter_record(DeviceId::new(format!("ble:{SEALED}"))),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        (record.restarts, record.last_restart_ms),
        (1, health.last_restart_ms)
    );
    let board = SourceBoard::default();
    let (source, radio) = start(writer.ingest(), &board).await;
    radio.send(sealed(5, 32.0)).await.unwrap();
    stored.push(32.0);
    eventually("the count goes on after the app restarts", || {
        (temperatures(&store, SEALED) == stored).then_some(())
    })
    .await;
    let health = source.health(SEALED);
    assert_eq!(health.restarts, 1, "still on the device's row");
    assert_eq!(health.last_restart_ms, record.last_restart_ms);
    within("the source stops", source.stop()).await;
}
