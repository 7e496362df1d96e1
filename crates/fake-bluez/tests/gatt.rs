//! GATT through btleplug's real BlueZ path: connect, discover, read, write, subscribe, three
//! notifications in order, a dropped link, failed and successful reconnects. One scenario per
//! binary, steps in order.

mod common;

use std::time::Instant;

use btleplug::api::Central as _;
use btleplug::api::{
    bleuuid::uuid_from_u16, CentralEvent, CharPropFlags, Characteristic, Peripheral as _, WriteType,
};
use btleplug::platform::Peripheral;
use futures::StreamExt;
use telltale_fake_bluez::{CharacteristicSpec, DeviceSpec, ServiceSpec};

use common::{next_matching, within};

const ADDRESS: &str = "F1:E2:D3:C4:B5:A6";

fn heart_rate_monitor() -> DeviceSpec {
    DeviceSpec {
        address: ADDRESS.into(),
        name: Some("HRM".into()),
        rssi: Some(-58),
        services: vec![
            ServiceSpec {
                uuid: "180d".into(),
                characteristics: vec![
                    CharacteristicSpec::new("2a37", &["notify"], vec![0x00, 60]),
                    CharacteristicSpec::new("2a39", &["write"], Vec::new()),
                ],
            },
            ServiceSpec {
                uuid: "0x180F".into(),
                characteristics: vec![CharacteristicSpec::new("2a19", &["read"], vec![87])],
            },
        ],
        ..DeviceSpec::default()
    }
}

fn characteristic(peripheral: &Peripheral, uuid: u16) -> Characteristic {
    let uuid = uuid_from_u16(uuid);
    peripheral
        .characteristics()
        .into_iter()
        .find(|c| c.uuid == uuid)
        .unwrap_or_else(|| panic!("characteristic {uuid} discovered"))
}

#[tokio::test]
async fn connect_discover_read_subscribe_notify_drop_reconnect() {
    let (_bus, bluez, adapter) = common::start().await;
    let (mut events, id) = common::scan_and_discover(&bluez, &adapter, heart_rate_monitor()).await;
    within("stop_scan", adapter.stop_scan())
        .await
        .expect("stop_scan");
    let peripheral = within("peripheral", adapter.peripheral(&id))
        .await
        .expect("peripheral");

    // Connect: btleplug returns once ServicesResolved is true.
    let started = Instant::now();
    within("connect", peripheral.connect())
        .await
        .expect("connect");
    eprintln!("connect took {:?}", started.elapsed());
    assert!(bluez.is_connected(ADDRESS));
    assert_eq!(bluez.connect_calls(ADDRESS), 1);
    assert!(within("is_connected", peripheral.is_connected())
        .await
        .expect("is_connected"));
    next_matching("DeviceConnected", &mut events, |event| match event {
        CentralEvent::DeviceConnected(from) if from == id => Some(()),
        _ => None,
    })
    .await;

    within("discover_services", peripheral.discover_services())
        .await
        .expect("discover_services");
    let services: Vec<_> = peripheral.services().into_iter().map(|s| s.uuid).collect();
    assert!(services.contains(&uuid_from_u16(0x180d)), "{services:?}");
    assert!(services.contains(&uuid_from_u16(0x180f)), "{services:?}");
    let heart_rate = characteristic(&peripheral, 0x2a37);
    assert_eq!(heart_rate.service_uuid, uuid_from_u16(0x180d));
    assert!(heart_rate.properties.contains(CharPropFlags::NOTIFY));
    let cccd: Vec<_> = heart_rate.descriptors.iter().map(|d| d.uuid).collect();
    assert_eq!(cccd, vec![uuid_from_u16(0x2902)]);
    let battery = characteristic(&peripheral, 0x2a19);
    assert_eq!(battery.service_uuid, uuid_from_u16(0x180f));
    assert!(battery.properties.contains(CharPropFlags::READ));
    assert!(!battery.properties.contains(CharPropFlags::NOTIFY));

    let level = within("read battery", peripheral.read(&battery))
        .await
        .expect("read battery");
    assert_eq!(level, vec![87]);

    let control_point = characteristic(&peripheral, 0x2a39);
    within(
        "write control point",
        peripheral.write(&control_point, &[0x01], WriteType::WithResponse),
    )
    .await
    .expect("write control point");
    assert_eq!(bluez.written_values(ADDRESS, "2a39"), vec![vec![0x01]]);

    // Subscribe, then three notifications arrive in order.
    let mut notifications = within("notifications", peripheral.notifications())
        .await
        .expect("notifications");
    within("subscribe", peripheral.subscribe(&heart_rate))
        .await
        .expect("subscribe");
    assert!(bluez.is_notifying(ADDRESS, "2A37"));
    for bpm in [61u8, 62, 63] {
        bluez
            .notify(ADDRESS, "2a37", vec![0x00, bpm])
            .await
            .expect("notify");
    }
    for bpm in [61u8, 62, 63] {
        let notification = within("notification", notifications.next())
            .await
            .expect("notification stream open");
        assert_eq!(notification.uuid, uuid_from_u16(0x2a37));
        assert_eq!(notification.service_uuid, uuid_from_u16(0x180d));
        assert_eq!(notification.value, vec![0x00, bpm]);
    }

    // The device drops the link: btleplug reports it and notifications stop.
    bluez.drop_connection(ADDRESS).await.expect("drop");
    next_matching("DeviceDisconnected", &mut events, |event| match event {
        CentralEvent::DeviceDisconnected(from) if from == id => Some(()),
        _ => None,
    })
    .await;
    assert!(!within("is_connected", peripheral.is_connected())
        .await
        .expect("is_connected"));
    assert!(!bluez.is_notifying(ADDRESS, "2a37"));
    assert!(bluez.notify(ADDRESS, "2a37", vec![0, 1]).await.is_err());

    // A failed reconnect surfaces as an error; the next one works and GATT works again.
    bluez.fail_next_connects(ADDRESS, 1).expect("fail next");
    assert!(within("failing connect", peripheral.connect())
        .await
        .is_err());
    assert!(!bluez.is_connected(ADDRESS));
    within("reconnect", peripheral.connect())
        .await
        .expect("reconnect");
    assert_eq!(bluez.connect_calls(ADDRESS), 3);
    assert!(bluez.is_connected(ADDRESS));
    within("discover again", peripheral.discover_services())
        .await
        .expect("discover again");
    within("subscribe again", peripheral.subscribe(&heart_rate))
        .await
        .expect("subscribe again");
    bluez
        .notify(ADDRESS, "2a37", vec![0x00, 64])
        .await
        .expect("notify after reconnect");
    let notification = within("notification after reconnect", notifications.next())
        .await
        .expect("notification stream open");
    assert_eq!(notification.value, vec![0x00, 64]);

    // The client disconnects.
    within("unsubscribe", peripheral.unsubscribe(&heart_rate))
        .await
        .expect("unsubscribe");
    assert!(!bluez.is_notifying(ADDRESS, "2a37"));
    within("disconnect", peripheral.disconnect())
        .await
        .expect("disconnect");
    assert!(!bluez.is_connected(ADDRESS));
}
