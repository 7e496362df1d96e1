//! `telltale collect` with `[[ble]]` devices, run as an edge box runs it: the real btleplug path
//! against a fake bluetoothd on a private D-Bus system bus, the bindkey put into a private
//! keyring with `telltale secret set --ble`, readings checked with `telltale export`.

mod broker;

use broker::{export, Collector, SecretService, SHORT};
use std::path::Path;
use telltale_fake_bluez::{bytes_of_hex as hex, DeviceSpec, FakeBluez, PrivateBus};

const THERMO: &str = "A4:C1:38:10:20:01"; // BTHome v2, plain
const SEALED: &str = "54:48:E6:8F:80:A5"; // BTHome v2, encrypted (bthome-ble's test key and frame)
const STRANGER: &str = "DE:AD:BE:EF:00:01"; // heard, not in the config
const SEALED_KEY: &str = "231d39c1d7cc1ab1aee224cd096db932";
const SEALED_FRAME: &str = "41e445f3c9962b332211006c7c4519"; // 25.06 °C, 50.55 %

fn bthome(packet_id: u8, temperature_c: f64) -> Vec<u8> {
    telltale_decode::encode::bthome_v2(packet_id, temperature_c, 45.0, 88)
}

fn values(db: &Path, address: &str, metric: &str) -> Vec<f64> {
    export(db, &format!("ble:{address}"), metric)
        .into_iter()
        .map(|(_, v)| v)
        .collect()
}

#[test]
fn the_collector_listens_to_its_bluetooth_devices() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let bus = PrivateBus::start().expect("dbus-daemon (Debian package dbus) starts");
    let bluez = runtime
        .block_on(FakeBluez::start(bus.address()))
        .expect("fake BlueZ starts");
    let keyring = SecretService::start();

    // The bindkey goes into the keyring, checked first; a wrong one is refused.
    let (status, said) = keyring.set_secret(&["--ble", SEALED], "not a key");
    assert!(!status.success(), "a wrong bindkey is refused: {said}");
    assert!(said.contains("32 hex digits"), "{said}");
    assert_eq!(said.trim().lines().count(), 1, "{said}");
    let (status, said) = keyring.set_secret(&["--ble", &SEALED.to_lowercase()], SEALED_KEY);
    assert!(status.success(), "{said}");
    assert!(!said.contains(SEALED_KEY), "{said}");

    for spec in [
        DeviceSpec {
            name: Some("ATC_102001".into()),
            rssi: Some(-60),
            service_data: vec![("fcd2".into(), bthome(1, 21.5))],
            ..DeviceSpec::new(THERMO)
        },
        DeviceSpec {
            rssi: Some(-75),
            service_data: vec![("fcd2".into(), hex(SEALED_FRAME))],
            ..DeviceSpec::new(SEALED)
        },
        DeviceSpec {
            rssi: Some(-90),
            service_data: vec![("fcd2".into(), bthome(9, 30.0))],
            ..DeviceSpec::new(STRANGER)
        },
    ] {
        runtime
            .block_on(bluez.add_device(spec))
            .expect("device added");
    }

    let dir = tempfile::Builder::new()
        .prefix("telltale-collect-ble-")
        .tempdir()
        .unwrap();
    let (db, config, log) = (
        dir.path().join("telltale.db"),
        dir.path().join("collect.toml"),
        dir.path().join("collect.log"),
    );
    std::fs::write(
        &config,
        format!(
            "[[ble]]\naddress = \"{}\"\nname = \"Freezer\"\nkind = \"thermometer\"\n\n\
             [[ble]]\naddress = \"{SEALED}\"\nname = \"Garage\"\n",
            THERMO.to_lowercase()
        ),
    )
    .unwrap();
    let mut collector = Collector::start(
        &db,
        &config,
        &log,
        &[
            keyring.env(),
            ("DBUS_SYSTEM_BUS_ADDRESS", bus.address().to_owned()),
        ],
    );
    collector.wait_for("both devices' adverts are stored", SHORT, || {
        let (plain, sealed) = (
            values(&db, THERMO, "temperature"),
            values(&db, SEALED, "temperature"),
        );
        if plain == [21.5] && sealed == [25.06] {
            Ok(())
        } else {
            Err(format!("plain {plain:?}, sealed {sealed:?}"))
        }
    });
    assert_eq!(values(&db, SEALED, "humidity"), [50.55]);

    // What the device says next is stored too.
    runtime
        .block_on(bluez.advertise(THERMO, -61, vec![], vec![("fcd2".into(), bthome(2, 22.0))]))
        .unwrap();
    collector.wait_for("the next advert is stored", SHORT, || {
        let got = values(&db, THERMO, "temperature");
        if got == [21.5, 22.0] {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    });

    let log = collector.terminate();
    assert!(
        values(&db, STRANGER, "temperature").is_empty(),
        "a device not in the config is never stored"
    );
    assert!(!log.contains(SEALED_KEY), "the bindkey is never logged");
    let key_bytes = hex(SEALED_KEY);
    for file in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(16).any(|w| w == key_bytes.as_slice())
                && !bytes.windows(32).any(|w| w == SEALED_KEY.as_bytes()),
            "the bindkey is in no file the collector wrote"
        );
    }
}
