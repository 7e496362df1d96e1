//! The Bluetooth source end to end through btleplug's real Linux code path (btleplug ->
//! bluez-async -> libdbus), talking to a fake BlueZ on a private D-Bus bus, into a real SQLite
//! file: discovery, passive advertisements of every format decoded and stored, encrypted ones
//! with a bindkey and a replay check, a Heart Rate strap connected with its notifications
//! (and a Health Thermometer's indications, an Environmental Sensing device's reads),
//! stored, a dropped link reconnected, and devices going stale at their own learned intervals.
//!
//! libdbus reads `DBUS_SYSTEM_BUS_ADDRESS` once per process, so this binary holds exactly one
//! scenario, run as steps in order.

mod common;

use common::MemoryKeyring;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use telltale_decode::encode::{heart_rate_measurement, pvvx, ruuvi_rawv2};
use telltale_engine::secret::SecretStore;
use telltale_engine::{Engine, BLUETOOTH_SOURCE};
use telltale_fake_bluez::{
    bytes_of_hex as hex, CharacteristicSpec, DeviceSpec, FakeBluez, PrivateBus, ServiceSpec,
};
use telltale_model::ble::{BleDeviceConfig, SaveBleDevice};
use telltale_model::secret::SecretInput;
use telltale_model::{DeviceId, HistoryQuery, SourceState};

const THERMO: &str = "A4:C1:38:10:20:01"; // BTHome v2, plain
const SEALED: &str = "54:48:E6:8F:80:A5"; // BTHome v2, encrypted (bthome-ble's test key and frames)
const RUUVI: &str = "C7:3A:6B:11:22:33";
const PVVX: &str = "A4:C1:38:55:66:77";
const STRAP: &str = "E0:7D:EA:44:55:66"; // Heart Rate over GATT
const ATC: &str = "A4:C1:38:8D:18:B2"; // Xiaomi on atc1441 firmware
const MIBEACON: &str = "A4:C1:38:02:83:F4"; // stock Xiaomi firmware, encrypted MiBeacon v5
const RUUVI_V1: &str = "C7:3A:6B:11:22:44"; // RuuviTag RAWv1
const STRANGER: &str = "DE:AD:BE:EF:00:01"; // heard, never added
const EAR: &str = "00:1B:DC:11:22:33"; // Health Thermometer over GATT (indications)
const CLIMATE: &str = "00:1B:DC:11:22:44"; // Environmental Sensing over GATT

const SEALED_KEY: &str = "231d39c1d7cc1ab1aee224cd096db932";
/// Encryption counter 0x00112233, then 0x00112232 (older: a replay), from bthome-ble's tests.
const SEALED_FRAME: &str = "41e445f3c9962b332211006c7c4519";
const SEALED_OLDER: &str = "41723d3035fb88322211009e7414c0";
/// From the reference decoders' vectors (xiaomi-ble, atc-ble, the Ruuvi specification).
const MIBEACON_KEY: &str = "e9ea895fac7cca6d30532432a516f3a8";
const MIBEACON_FRAME: &str = "58585b0550f4830238c1a495ef58763c26000097e2abb5"; // humidity 46 %
const ATC_FRAME: &str = "a4c1388d18b201122f640ca025"; // 27.4 °C, 47 %
const RUUVI_V1_FRAME: &str = "03ff7f63ffff7fff7fff7fffffff"; // 127.99 °C, 127.5 %

fn bthome(packet_id: u8, temperature_c: f64) -> Vec<u8> {
    telltale_decode::encode::bthome_v2(packet_id, temperature_c, 45.0, 88)
}

async fn within<F: Future>(what: &str, limit: Duration, f: F) -> F::Output {
    tokio::time::timeout(limit, f)
        .await
        .unwrap_or_else(|_| panic!("timed out after {limit:?}: {what}"))
}

/// Polls `check` until it returns Some, or fails the test after `limit`.
async fn eventually<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out after {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn values(engine: &Engine, address: &str, metric: &str) -> Vec<f64> {
    let history = engine.history(&HistoryQuery {
        device: DeviceId::new(format!("ble:{address}")),
        metric: metric.into(),
        from_ms: telltale_sources::now_ms() - 600_000,
        to_ms: telltale_sources::now_ms() + 600_000,
        points: 10_000,
    });
    match history {
        Ok(h) => h.buckets.iter().map(|b| b.mean).collect(),
        Err(telltale_engine::EngineError::Store(telltale_store::StoreError::NotFound(_))) => {
            Vec::new()
        }
        Err(e) => panic!("history of {address} {metric}: {e}"),
    }
}

/// What a save does with the device's bindkey.
enum Bindkey {
    Keep,
    Set(String),
    Clear,
}

fn save(config: BleDeviceConfig, bindkey: Bindkey) -> SaveBleDevice {
    let (bindkey, clear_bindkey) = match bindkey {
        Bindkey::Keep => (None, false),
        Bindkey::Set(key) => (Some(SecretInput::from(key.as_str())), false),
        Bindkey::Clear => (None, true),
    };
    SaveBleDevice {
        config,
        bindkey,
        clear_bindkey,
    }
}

fn config(address: &str, name: &str, kind: &str, connect: bool) -> BleDeviceConfig {
    BleDeviceConfig {
        address: address.to_lowercase(),
        name: name.into(),
        kind: kind.into(),
        connect,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bluetooth_devices_through_btleplug_and_a_fake_bluez() {
    let limit = Duration::from_secs(15);
    let bus = PrivateBus::start().expect("dbus-daemon (Debian package dbus) starts");
    // Before btleplug's first call; the only system bus this process will use.
    std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", bus.address());
    let bluez = within("fake BlueZ", limit, FakeBluez::start(bus.address()))
        .await
        .expect("fake BlueZ starts");

    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryKeyring::default());
    let engine = Engine::open_with_secrets(&dir.path().join("ble.db"), secrets.clone()).unwrap();

    // The user's devices; the strap is connected to, the others are only listened to.
    for (c, key) in [
        (
            config(THERMO, "Living room", "thermometer", false),
            Bindkey::Keep,
        ),
        (
            config(SEALED, "Garage", "thermometer", false),
            Bindkey::Set(SEALED_KEY.to_uppercase()),
        ),
        (
            config(RUUVI, "Balcony", "environment_sensor", false),
            Bindkey::Keep,
        ),
        (config(PVVX, "Bedroom", "thermometer", false), Bindkey::Keep),
        (
            config(STRAP, "Chest strap", "heart_rate_strap", true),
            Bindkey::Keep,
        ),
        (
            config(EAR, "Ear thermometer", "body_thermometer", true),
            Bindkey::Keep,
        ),
        (
            config(CLIMATE, "Study", "environment_sensor", true),
            Bindkey::Keep,
        ),
        (config(ATC, "Kitchen", "thermometer", false), Bindkey::Keep),
        (
            config(MIBEACON, "Bathroom", "thermometer", false),
            Bindkey::Set(MIBEACON_KEY.to_owned()),
        ),
        (
            config(RUUVI_V1, "Shed", "environment_sensor", false),
            Bindkey::Keep,
        ),
    ] {
        engine
            .save_ble_device(save(c, key), telltale_sources::now_ms())
            .await
            .expect("device saved");
    }
    // A wrong bindkey is refused before anything is saved.
    let refused = engine
        .save_ble_device(
            save(
                config(THERMO, "Living room", "thermometer", false),
                Bindkey::Set("not a key".to_owned()),
            ),
            telltale_sources::now_ms(),
        )
        .await;
    assert!(refused.is_err());
    assert!(secrets
        .get("ble:A4:C1:38:10:20:01:bindkey")
        .unwrap()
        .is_none());

    // Devices the fake knows before the scan starts (bluetoothd's cache) and one added later.
    let strap_services = vec![
        ServiceSpec {
            uuid: "180d".into(),
            characteristics: vec![CharacteristicSpec::new("2a37", &["notify"], vec![])],
        },
        ServiceSpec {
            uuid: "180f".into(),
            characteristics: vec![CharacteristicSpec::new("2a19", &["read"], vec![77])],
        },
    ];
    for spec in [
        DeviceSpec {
            name: Some("ATC_102001".into()),
            rssi: Some(-60),
            service_data: vec![("fcd2".into(), bthome(1, 21.5))],
            ..DeviceSpec::new(THERMO)
        },
        DeviceSpec {
            name: Some("Polar H10".into()),
            rssi: Some(-70),
            services: strap_services,
            ..DeviceSpec::new(STRAP)
        },
        DeviceSpec {
            name: Some("Ear thermometer".into()),
            rssi: Some(-71),
            services: vec![ServiceSpec {
                uuid: "1809".into(),
                characteristics: vec![CharacteristicSpec::new("2a1c", &["indicate"], vec![])],
            }],
            ..DeviceSpec::new(EAR)
        },
        DeviceSpec {
            name: Some("ESS".into()),
            rssi: Some(-72),
            services: vec![ServiceSpec {
                uuid: "181a".into(),
                characteristics: vec![
                    // 22.50 °C (0.01 °C), 45.00 % (0.01 %), 101325.0 Pa (0.1 Pa): read at connect.
                    CharacteristicSpec::new("2a6e", &["read", "notify"], vec![0xCA, 0x08]),
                    CharacteristicSpec::new("2a6f", &["read"], vec![0x94, 0x11]),
                    CharacteristicSpec::new("2a6d", &["read"], 1_013_250u32.to_le_bytes().to_vec()),
                ],
            }],
            ..DeviceSpec::new(CLIMATE)
        },
    ] {
        bluez.add_device(spec).await.expect("device added");
    }

    // The user switched Bluetooth off: the app says so and leaves it off (scanning would
    // switch it on); it scans as soon as Bluetooth is switched on.
    bluez.set_powered(false).await.unwrap();
    engine.start_bluetooth().expect("bluetooth starts");
    let status = |engine: &Engine| {
        engine
            .dashboard(0)
            .ok()?
            .sources
            .into_iter()
            .find(|s| s.id == BLUETOOTH_SOURCE)
    };
    let off = eventually("'Bluetooth is off' on the status strip", limit, || {
        status(&engine).filter(|s| s.state == SourceState::Failed)
    })
    .await;
    assert!(off.detail.contains("Bluetooth is off"), "{}", off.detail);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !bluez.is_powered() && !bluez.is_discovering(),
        "the app left Bluetooth as the user set it"
    );
    bluez.set_powered(true).await.unwrap();
    eventually("scanning starts", limit, || {
        status(&engine).filter(|s| s.state == SourceState::Connected)
    })
    .await;
    assert!(bluez.is_discovering(), "the adapter was asked to discover");

    // Discovery: a device known before the scan is decoded from its cached advertisement.
    eventually("the cached thermometer is stored", limit, || {
        let v = values(&engine, THERMO, "temperature");
        (v == [21.5]).then_some(())
    })
    .await;

    // Passive advertisements of each format, from devices that appear while scanning.
    for spec in [
        DeviceSpec {
            rssi: Some(-75),
            service_data: vec![("fcd2".into(), hex(SEALED_FRAME))],
            ..DeviceSpec::new(SEALED)
        },
        DeviceSpec {
            rssi: Some(-65),
            manufacturer_data: vec![(0x0499, ruuvi_rawv2(8.5, 71.0, 101_325.0, 2.95, 7, RUUVI))],
            ..DeviceSpec::new(RUUVI)
        },
        DeviceSpec {
            name: Some("ATC_556677".into()),
            rssi: Some(-80),
            service_data: vec![("181a".into(), pvvx(PVVX, 19.25, 55.5, 1))],
            ..DeviceSpec::new(PVVX)
        },
        DeviceSpec {
            name: Some("ATC_8D18B2".into()),
            rssi: Some(-81),
            service_data: vec![("181a".into(), hex(ATC_FRAME))],
            ..DeviceSpec::new(ATC)
        },
        DeviceSpec {
            name: Some("LYWSD03MMC".into()),
            rssi: Some(-82),
            service_data: vec![("fe95".into(), hex(MIBEACON_FRAME))],
            ..DeviceSpec::new(MIBEACON)
        },
        DeviceSpec {
            rssi: Some(-83),
            manufacturer_data: vec![(0x0499, hex(RUUVI_V1_FRAME))],
            ..DeviceSpec::new(RUUVI_V1)
        },
        DeviceSpec {
            name: Some("Someone's tag".into()),
            rssi: Some(-90),
            service_data: vec![("fcd2".into(), bthome(9, 30.0))],
            ..DeviceSpec::new(STRANGER)
        },
    ] {
        bluez.add_device(spec).await.expect("device added");
    }
    eventually("every format is decoded and stored", limit, || {
        let ok = values(&engine, SEALED, "temperature") == [25.06]
            && values(&engine, SEALED, "humidity") == [50.55]
            && values(&engine, RUUVI, "temperature") == [8.5]
            && values(&engine, RUUVI, "movement_counter").len() == 1
            && values(&engine, PVVX, "temperature") == [19.25]
            && values(&engine, PVVX, "humidity") == [55.5]
            && values(&engine, ATC, "temperature") == [27.4]
            && values(&engine, ATC, "humidity") == [47.0]
            && values(&engine, MIBEACON, "humidity") == [46.0]
            && values(&engine, RUUVI_V1, "temperature") == [127.99]
            && values(&engine, RUUVI_V1, "humidity") == [127.5];
        ok.then_some(())
    })
    .await;
    // Events are not series: a button press shows as the device's last event.
    bluez
        .advertise(
            THERMO,
            -60,
            vec![],
            vec![("fcd2".into(), vec![0x40, 0x00, 5, 0x3A, 0x02])],
        )
        .await
        .unwrap();
    let event = eventually(
        "the button press is the thermometer's last event",
        limit,
        || {
            engine
                .ble_devices()
                .into_iter()
                .find(|d| d.config.address == THERMO)?
                .last_event
        },
    )
    .await;
    assert_eq!(event.0, "button double press");
    let rssi = values(&engine, RUUVI, "rssi");
    assert_eq!(rssi, [-65.0], "signal strength is stored with the values");

    // The scanner lists the stranger with a preview, not added, and stores nothing of it.
    let stranger = eventually("the stranger is listed", limit, || {
        engine
            .nearby(telltale_sources::now_ms())
            .into_iter()
            .find(|d| d.address == STRANGER)
    })
    .await;
    assert!(!stranger.added);
    assert_eq!(stranger.format.as_deref(), Some("bthome_v2"));
    assert!(
        stranger.preview.iter().any(|p| p == "temperature 30 °C"),
        "{:?}",
        stranger.preview
    );
    assert!(values(&engine, STRANGER, "temperature").is_empty());

    // Replays of an encrypted advertisement (the same counter, or an older one) are refused;
    // a tampered one fails its MIC. Nothing already stored is lost.
    bluez
        .advertise(
            SEALED,
            -74,
            vec![],
            vec![("fcd2".into(), hex(SEALED_OLDER))],
        )
        .await
        .unwrap();
    bluez
        .advertise(
            SEALED,
            -74,
            vec![],
            vec![("fcd2".into(), hex(SEALED_FRAME))],
        )
        .await
        .unwrap();
    let mut tampered = hex(SEALED_FRAME);
    tampered[3] ^= 0x40;
    bluez
        .advertise(SEALED, -74, vec![], vec![("fcd2".into(), tampered)])
        .await
        .unwrap();
    let rejected = eventually("three refusals are counted", limit, || {
        let s = status(&engine)?;
        let r = s.rejected.iter().find(|r| r.topic == SEALED)?;
        (r.count >= 3).then(|| r.clone())
    })
    .await;
    assert!(
        rejected.last_reason.contains("decryption failed"),
        "{}",
        rejected.last_reason
    );
    assert_eq!(values(&engine, SEALED, "temperature"), [25.06]);
    // The device list says what to do about it.
    let problem = |engine: &Engine, address: &str| {
        engine
            .ble_devices()
            .into_iter()
            .find(|d| d.config.address == address)
            .and_then(|d| d.problem)
    };
    let said = eventually("the Garage thermometer's problem is told", limit, || {
        problem(&engine, SEALED)
    })
    .await;
    assert!(said.contains("check the bindkey"), "{said}");
    assert_eq!(problem(&engine, THERMO), None);

    // A bindkey given to a device that does not encrypt: its plain frames are refused (they
    // could come from anyone) and the list says why; clearing the key ends it.
    for (key, temperature) in [
        (Bindkey::Set(SEALED_KEY.to_owned()), 18.0),
        (Bindkey::Clear, 18.5),
    ] {
        engine
            .save_ble_device(
                save(config(PVVX, "Bedroom", "thermometer", false), key),
                telltale_sources::now_ms(),
            )
            .await
            .unwrap();
        // The fleet reaches the source through a channel: advertise until the change shows.
        let start = Instant::now();
        let mut counter = 100u8;
        let outcome = loop {
            counter = counter.wrapping_add(1);
            bluez
                .advertise(
                    PVVX,
                    -79,
                    vec![],
                    vec![("181a".into(), pvvx(PVVX, temperature, 55.0, counter))],
                )
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
            let stored = values(&engine, PVVX, "temperature").contains(&temperature);
            match (temperature == 18.0, stored, problem(&engine, PVVX)) {
                (true, false, Some(p)) => break p,
                (false, true, None) => break String::new(),
                _ => {}
            }
            assert!(
                start.elapsed() < limit,
                "timed out: the bindkey change to take effect ({temperature} °C)"
            );
        };
        if temperature == 18.0 {
            assert!(outcome.contains("unencrypted"), "{outcome}");
        }
    }

    // GATT: the strap is connected to, its battery read, its notifications stored in order.
    eventually("the strap is connected", limit, || {
        bluez.is_notifying(STRAP, "2a37").then_some(())
    })
    .await;
    for (bpm, rr) in [(61u8, 0.98), (62, 0.97), (63, 0.95)] {
        bluez
            .notify(STRAP, "2a37", heart_rate_measurement(bpm, &[rr]))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eventually("heart rate and battery are stored", limit, || {
        let ok = values(&engine, STRAP, "heart_rate") == [61.0, 62.0, 63.0]
            && values(&engine, STRAP, "rr_interval").len() == 3
            && values(&engine, STRAP, "battery") == [77.0];
        ok.then_some(())
    })
    .await;
    // Health Thermometer indications (IEEE-11073 FLOAT: 366 × 10⁻¹ °C) and Environmental
    // Sensing values read at connect, then notified.
    eventually("the thermometers are connected", limit, || {
        (bluez.is_notifying(EAR, "2a1c") && bluez.is_notifying(CLIMATE, "2a6e")).then_some(())
    })
    .await;
    bluez
        .notify(EAR, "2a1c", vec![0x00, 0x6E, 0x01, 0x00, 0xFF])
        .await
        .unwrap();
    bluez
        .notify(CLIMATE, "2a6e", vec![0x2C, 0x09]) // 23.48 °C
        .await
        .unwrap();
    eventually(
        "body temperature and the study's climate are stored",
        limit,
        || {
            let ok = values(&engine, EAR, "temperature") == [36.6]
                && values(&engine, CLIMATE, "temperature") == [22.5, 23.48]
                && values(&engine, CLIMATE, "humidity") == [45.0]
                && values(&engine, CLIMATE, "pressure") == [101_325.0];
            ok.then_some(())
        },
    )
    .await;
    let strap = engine
        .ble_devices()
        .into_iter()
        .find(|d| d.config.address == STRAP)
        .unwrap();
    assert_eq!(strap.link.as_deref(), Some("connected"));
    assert_eq!(strap.battery_pct, Some(77.0), "the Battery service's level");
    let thermo = engine
        .ble_devices()
        .into_iter()
        .find(|d| d.config.address == THERMO)
        .unwrap();
    assert_eq!(thermo.battery_pct, Some(88.0), "the advertised level");

    // The strap drops the link: the source reconnects by itself (first retry after ~1 s).
    let calls = bluez.connect_calls(STRAP);
    bluez.drop_connection(STRAP).await.unwrap();
    eventually("the strap is connected again", limit, || {
        (bluez.connect_calls(STRAP) > calls && bluez.is_notifying(STRAP, "2a37")).then_some(())
    })
    .await;
    bluez
        .notify(STRAP, "2a37", heart_rate_measurement(70, &[0.86]))
        .await
        .unwrap();
    eventually("notifications flow again", limit, || {
        (values(&engine, STRAP, "heart_rate").last() == Some(&70.0)).then_some(())
    })
    .await;

    // Health: the thermometer advertises every 250 ms, the Xiaomi every 1.2 s. Each learns its
    // own interval and goes stale after three of its own intervals of silence (1 s at least):
    // the thermometer after about a second, the Xiaomi after about four.
    let stop = Instant::now() + Duration::from_millis(6_000);
    let mut next_pvvx = Instant::now();
    let mut packet = 10u8;
    // When each was last sent: the source heard it then or a little later.
    let (mut thermo_sends, mut pvvx_sends): (Vec<Instant>, Vec<Instant>) = (vec![], vec![]);
    while Instant::now() < stop {
        packet = packet.wrapping_add(1);
        bluez
            .advertise(
                THERMO,
                -58,
                vec![],
                vec![("fcd2".into(), bthome(packet, 21.0))],
            )
            .await
            .unwrap();
        thermo_sends.push(Instant::now());
        if Instant::now() >= next_pvvx {
            bluez
                .advertise(
                    PVVX,
                    -79,
                    vec![],
                    vec![("181a".into(), pvvx(PVVX, 19.5, 55.0, packet))],
                )
                .await
                .unwrap();
            pvvx_sends.push(Instant::now());
            next_pvvx += Duration::from_millis(1_200);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let silent_since = Instant::now();
    let health = |address: &str| {
        engine
            .ble_devices()
            .into_iter()
            .find(|d| d.config.address == address)
            .unwrap()
    };
    let thermo = health(THERMO);
    // What the source learned is the largest gap between the last 16 sends (as they really
    // went out: a loaded machine stretches the loop), give or take delivery jitter.
    let largest_gap = |sends: &[Instant]| {
        let n = sends.len();
        sends[n.saturating_sub(17)..]
            .windows(2)
            .map(|w| (w[1] - w[0]).as_millis() as i64)
            .max()
            .unwrap()
    };
    let learned = thermo.learned_interval_ms.expect("learned");
    let sent = largest_gap(&thermo_sends);
    assert!(
        (learned - sent).abs() <= 300,
        "thermometer learned {learned} ms, sent every {sent} ms at most"
    );
    let xiaomi = health(PVVX);
    let learned_x = xiaomi.learned_interval_ms.expect("learned");
    let sent_x = largest_gap(&pvvx_sends);
    // Its window also holds the gap before this round (it advertised once when it appeared),
    // so it learned at least what this round's sends say.
    assert!(
        learned_x + 300 >= sent_x && learned_x <= 5_000,
        "Xiaomi learned {learned_x} ms, sent every {sent_x} ms at most"
    );
    assert!(
        learned_x > 2 * learned,
        "the two devices learned different paces"
    );
    assert!(!thermo.stale && !xiaomi.stale);
    // What was learned is kept on the device row, so a restart starts from it.
    let after_restart = eventually("the learned interval stored", limit, || {
        let fleet = engine.ble_fleet().ok()?;
        let kept = fleet.get(THERMO)?.expected_interval_ms;
        (kept < 1_000).then_some(kept)
    })
    .await;
    assert!(
        (after_restart - learned).abs() <= learned / 2,
        "kept {after_restart} ms, learned {learned} ms"
    );

    eventually("the thermometer goes stale", limit, || {
        health(THERMO).stale.then_some(())
    })
    .await;
    let thermo_after = silent_since.elapsed();
    let thermo_silence = thermo_sends.last().unwrap().elapsed();
    assert!(
        !health(PVVX).stale,
        "the Xiaomi's own interval is longer: not stale yet after {thermo_after:?}"
    );
    eventually("the Xiaomi goes stale", limit, || {
        health(PVVX).stale.then_some(())
    })
    .await;
    let xiaomi_after = silent_since.elapsed();
    let xiaomi_silence = pvvx_sends.last().unwrap().elapsed();
    // Never before three of its own intervals of silence (the source heard the last
    // advertisement when it was sent or a little later, so the silence it judged is shorter).
    let ms = |d: Duration| d.as_millis() as i64;
    assert!(
        ms(thermo_silence) >= (3 * learned).max(1_000),
        "{thermo_silence:?}"
    );
    assert!(ms(xiaomi_silence) >= 3 * learned_x, "{xiaomi_silence:?}");
    eprintln!(
        "learned {learned} ms and {learned_x} ms; stale after {thermo_silence:?} and {xiaomi_silence:?} of silence (detected {thermo_after:?} and {xiaomi_after:?} after the last round)"
    );
    let dashboard = engine.dashboard(telltale_sources::now_ms()).unwrap();
    let offline = &status(&engine).unwrap().offline;
    assert!(offline
        .iter()
        .any(|o| o.device.as_str() == format!("ble:{THERMO}")));
    assert!(!dashboard.devices.is_empty());

    // Heard again: no longer stale.
    bluez
        .advertise(
            THERMO,
            -58,
            vec![],
            vec![("fcd2".into(), bthome(200, 22.0))],
        )
        .await
        .unwrap();
    eventually("the thermometer is back", limit, || {
        (!health(THERMO).stale).then_some(())
    })
    .await;

    // Bluetooth switched off and on while running: the strip follows, scanning resumes.
    bluez.set_powered(false).await.unwrap();
    eventually("'Bluetooth is off' while running", limit, || {
        status(&engine).filter(|s| s.state == SourceState::Failed && s.detail.contains("off"))
    })
    .await;
    bluez.set_powered(true).await.unwrap();
    eventually("scanning again", limit, || {
        (bluez.is_discovering()
            && status(&engine).is_some_and(|s| s.state == SourceState::Connected))
        .then_some(())
    })
    .await;
    bluez
        .advertise(
            THERMO,
            -58,
            vec![],
            vec![("fcd2".into(), bthome(250, 23.25))],
        )
        .await
        .unwrap();
    eventually("adverts are stored again", limit, || {
        (values(&engine, THERMO, "temperature").last() == Some(&23.25)).then_some(())
    })
    .await;

    // Removing a device with its history: gone from the list, the store and the keyring.
    engine
        .remove_ble_device(SEALED, true, telltale_sources::now_ms())
        .await
        .unwrap();
    assert!(values(&engine, SEALED, "temperature").is_empty());
    assert!(secrets
        .get(&format!("ble:{SEALED}:bindkey"))
        .unwrap()
        .is_none());
    assert!(!engine
        .ble_devices()
        .iter()
        .any(|d| d.config.address == SEALED));

    within("shutdown", limit, engine.shutdown()).await;
    drop(bluez);
    drop(bus);
}
