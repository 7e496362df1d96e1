//! Scanning through btleplug's real BlueZ path: discovery of a device the fake adds, with its
//! advertised data; a later advertisement as btleplug events; the device forgotten and found
//! again; the radio switched off (and back on by btleplug's own start_scan). One scenario per
//! binary.

mod common;

use btleplug::api::{
    bleuuid::uuid_from_u16, Central, CentralEvent, CentralState, Peripheral as _, ScanFilter,
};
use telltale_fake_bluez::DeviceSpec;

use common::{next_matching, within};

const ADDRESS: &str = "C4:7C:8D:6A:3E:01";

#[tokio::test]
async fn scan_discovers_device_and_advertisements() {
    let (_bus, bluez, adapter) = common::start().await;
    let device = DeviceSpec {
        address: ADDRESS.to_lowercase(),
        name: Some("Thermo".into()),
        rssi: Some(-67),
        manufacturer_data: vec![(0x0499, vec![0x05, 0x12, 0x34])],
        service_data: vec![("181a".into(), vec![0xaa, 0xbb])],
        services: Vec::new(),
    };
    let (mut events, id) = common::scan_and_discover(&bluez, &adapter, device).await;
    let peripheral = within("peripheral", adapter.peripheral(&id))
        .await
        .expect("peripheral");
    assert_eq!(peripheral.address().to_string(), ADDRESS);
    let properties = within("properties", peripheral.properties())
        .await
        .expect("properties")
        .expect("some properties");
    assert_eq!(properties.local_name.as_deref(), Some("Thermo"));
    assert_eq!(properties.rssi, Some(-67));
    assert_eq!(
        properties.manufacturer_data.get(&0x0499),
        Some(&vec![0x05, 0x12, 0x34])
    );
    // btleplug keys service data by the full 128-bit UUID.
    assert_eq!(
        properties.service_data.get(&uuid_from_u16(0x181a)),
        Some(&vec![0xaa, 0xbb])
    );

    bluez
        .advertise(
            ADDRESS,
            -48,
            vec![(0x0499, vec![0x05, 0x56, 0x78])],
            vec![("0x181A".into(), vec![0xcc])],
        )
        .await
        .expect("advertise");

    let rssi = next_matching("RssiUpdate", &mut events, |event| match event {
        CentralEvent::RssiUpdate { id: from, rssi } if from == id => Some(rssi),
        _ => None,
    })
    .await;
    assert_eq!(rssi, -48);
    let manufacturer_data =
        next_matching(
            "ManufacturerDataAdvertisement",
            &mut events,
            |event| match event {
                CentralEvent::ManufacturerDataAdvertisement {
                    id: from,
                    manufacturer_data,
                } if from == id => Some(manufacturer_data),
                _ => None,
            },
        )
        .await;
    assert_eq!(
        manufacturer_data.get(&0x0499),
        Some(&vec![0x05, 0x56, 0x78])
    );
    let service_data = next_matching(
        "ServiceDataAdvertisement",
        &mut events,
        |event| match event {
            CentralEvent::ServiceDataAdvertisement {
                id: from,
                service_data,
            } if from == id => Some(service_data),
            _ => None,
        },
    )
    .await;
    assert_eq!(service_data.get(&uuid_from_u16(0x181a)), Some(&vec![0xcc]));

    within("stop_scan", adapter.stop_scan())
        .await
        .expect("stop_scan");
    assert!(!bluez.is_discovering());

    // bluetoothd forgets the device: btleplug has no event for it, the peripheral just goes.
    // Heard again, it is discovered again.
    bluez.remove_device(ADDRESS).await.expect("remove device");
    let known = within("peripherals", adapter.peripherals())
        .await
        .expect("peripherals");
    assert!(known.iter().all(|p| p.id() != id));
    bluez
        .add_device(DeviceSpec::new(ADDRESS))
        .await
        .expect("add again");
    assert_eq!(common::next_discovered(&mut events).await, id);

    // The radio goes off: btleplug reports the state. Its start_scan first sets Powered = true
    // (bluez-async does), so scanning switches the adapter back on.
    bluez.set_powered(false).await.expect("power off");
    assert_eq!(
        common::next_state(&mut events).await,
        CentralState::PoweredOff
    );
    within(
        "start_scan while off",
        adapter.start_scan(ScanFilter::default()),
    )
    .await
    .expect("start_scan powers on");
    assert_eq!(
        common::next_state(&mut events).await,
        CentralState::PoweredOn
    );
    assert!(bluez.is_discovering());
    assert_eq!(
        within("adapter_state", adapter.adapter_state())
            .await
            .expect("adapter_state"),
        CentralState::PoweredOn
    );
}
