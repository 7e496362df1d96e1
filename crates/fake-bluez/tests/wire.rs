//! The fake as seen on the bus by a plain zbus client: the exact D-Bus types btleplug would
//! silently drop if wrong, optional properties left out, introspection order, the GATT tree
//! appearing on connect, `Powered` writable, BlueZ error names, a removed device's tree gone.

mod common;

use std::collections::HashMap;

use telltale_fake_bluez::{CharacteristicSpec, DeviceSpec, FakeBluez, PrivateBus, ServiceSpec};
use zbus::fdo::{IntrospectableProxy, ObjectManagerProxy, PropertiesProxy};
use zbus::names::InterfaceName;
use zbus::zvariant::{OwnedValue, Value};
use zbus::Connection;

use common::within;

const DEVICE: &str = "/org/bluez/hci0/dev_11_22_33_44_55_66";
const SERVICE: &str = "/org/bluez/hci0/dev_11_22_33_44_55_66/service000a";
const CHARACTERISTIC: &str = "/org/bluez/hci0/dev_11_22_33_44_55_66/service000a/char000b";
const CCCD: &str = "/org/bluez/hci0/dev_11_22_33_44_55_66/service000a/char000b/desc000d";

/// A proxy of any `fdo` kind for the fake's object at `path`.
async fn proxy<P>(conn: &Connection, path: &'static str) -> P
where
    P: From<zbus::Proxy<'static>> + zbus::proxy::Defaults,
{
    within("proxy", async {
        zbus::proxy::Builder::<P>::new(conn)
            .destination("org.bluez")
            .expect("destination")
            .path(path)
            .expect("path")
            .build()
            .await
            .expect("proxy")
    })
    .await
}

async fn properties(conn: &Connection, path: &'static str) -> PropertiesProxy<'static> {
    proxy(conn, path).await
}

async fn introspect(conn: &Connection, path: &'static str) -> String {
    let proxy: IntrospectableProxy<'static> = proxy(conn, path).await;
    within("Introspect", proxy.introspect())
        .await
        .expect("Introspect")
}

async fn get_all(
    conn: &Connection,
    path: &'static str,
    interface: &'static str,
) -> HashMap<String, OwnedValue> {
    let proxy = properties(conn, path).await;
    within(
        "GetAll",
        proxy.get_all(InterfaceName::from_static_str_unchecked(interface)),
    )
    .await
    .expect("GetAll")
}

fn signature(props: &HashMap<String, OwnedValue>, name: &str) -> String {
    props
        .get(name)
        .unwrap_or_else(|| panic!("{name} present"))
        .value_signature()
        .to_string()
}

async fn call(conn: &Connection, path: &str, interface: &str, method: &str) -> zbus::Result<()> {
    within(
        method,
        conn.call_method(Some("org.bluez"), path, Some(interface), method, &()),
    )
    .await
    .map(|_| ())
}

fn error_name(result: zbus::Result<()>) -> String {
    match result {
        Err(zbus::Error::MethodError(name, _, _)) => name.to_string(),
        other => panic!("expected a D-Bus error, got {other:?}"),
    }
}

#[tokio::test]
async fn wire_types_introspection_and_errors() {
    let bus = PrivateBus::start().expect("start dbus-daemon");
    let bluez = within("fake start", FakeBluez::start(bus.address()))
        .await
        .expect("start fake bluez");
    let conn = within("client", async {
        zbus::connection::Builder::address(bus.address())
            .expect("address")
            .build()
            .await
            .expect("client connection")
    })
    .await;

    bluez
        .add_device(DeviceSpec {
            address: "11:22:33:44:55:66".into(),
            name: Some("Sensor".into()),
            rssi: Some(-70),
            manufacturer_data: vec![(0xffff, vec![1, 2])],
            service_data: vec![("fe95".into(), vec![3])],
            services: vec![ServiceSpec {
                uuid: "180d".into(),
                characteristics: vec![CharacteristicSpec::new(
                    "2a37",
                    &["read", "notify"],
                    vec![7],
                )],
            }],
        })
        .await
        .expect("add device");
    bluez
        .add_device(DeviceSpec::new("66:55:44:33:22:11"))
        .await
        .expect("add bare device");
    assert!(bluez
        .add_device(DeviceSpec::new("66:55:44:33:22:11"))
        .await
        .is_err());

    // Device1 types, exactly as bluetoothd sends them.
    let device = get_all(&conn, DEVICE, "org.bluez.Device1").await;
    assert_eq!(signature(&device, "RSSI"), "n");
    assert_eq!(signature(&device, "ManufacturerData"), "a{qv}");
    assert_eq!(signature(&device, "ServiceData"), "a{sv}");
    assert_eq!(signature(&device, "UUIDs"), "as");
    assert_eq!(signature(&device, "Adapter"), "o");
    for flag in [
        "Paired",
        "Connected",
        "ServicesResolved",
        "Trusted",
        "Blocked",
        "LegacyPairing",
    ] {
        assert_eq!(signature(&device, flag), "b", "{flag}");
    }
    let manufacturer =
        HashMap::<u16, OwnedValue>::try_from(device["ManufacturerData"].clone()).expect("a{qv}");
    assert_eq!(
        Vec::<u8>::try_from(manufacturer[&0xffff].clone()).ok(),
        Some(vec![1, 2])
    );
    let service_data =
        HashMap::<String, OwnedValue>::try_from(device["ServiceData"].clone()).expect("a{sv}");
    let payload = service_data["0000fe95-0000-1000-8000-00805f9b34fb"].clone();
    assert_eq!(Vec::<u8>::try_from(payload).ok(), Some(vec![3]));

    // Optional properties are absent, not defaulted.
    let bare = get_all(
        &conn,
        "/org/bluez/hci0/dev_66_55_44_33_22_11",
        "org.bluez.Device1",
    )
    .await;
    for absent in ["Name", "RSSI", "ManufacturerData", "ServiceData"] {
        assert!(!bare.contains_key(absent), "{absent} should be absent");
    }
    assert_eq!(
        bare.get("Alias").map(|v| v.to_string()),
        Some("\"66-55-44-33-22-11\"".to_owned())
    );

    // No GATT objects before the first connect.
    assert!(!introspect(&conn, DEVICE)
        .await
        .contains("<node name=\"service000a\""));

    // A failing connect, then a real one: Connected at once, the GATT tree and
    // ServicesResolved shortly after.
    bluez
        .fail_next_connects("11:22:33:44:55:66", 1)
        .expect("fail next");
    let failed = call(&conn, DEVICE, "org.bluez.Device1", "Connect").await;
    assert_eq!(error_name(failed), "org.bluez.Error.Failed");
    call(&conn, DEVICE, "org.bluez.Device1", "Connect")
        .await
        .expect("Connect");
    assert_eq!(bluez.connect_calls("11:22:33:44:55:66"), 2);
    let device_props = properties(&conn, DEVICE).await;
    within("ServicesResolved", async {
        loop {
            let resolved = device_props
                .get(
                    InterfaceName::from_static_str_unchecked("org.bluez.Device1"),
                    "ServicesResolved",
                )
                .await
                .expect("Get ServicesResolved");
            if bool::try_from(resolved).expect("b") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;

    // Interfaces before child nodes (bluez-async's parser needs that order).
    for (path, child) in [
        (DEVICE, "service000a"),
        (SERVICE, "char000b"),
        (CHARACTERISTIC, "desc000d"),
    ] {
        let xml = introspect(&conn, path).await;
        let interface = xml.find("<interface").expect("an interface");
        let node = xml
            .find(&format!("<node name=\"{child}\""))
            .unwrap_or_else(|| panic!("{child} in {xml}"));
        assert!(interface < node, "{path}: interfaces must come first");
    }

    let service = get_all(&conn, SERVICE, "org.bluez.GattService1").await;
    assert_eq!(
        service["UUID"].to_string(),
        "\"0000180d-0000-1000-8000-00805f9b34fb\""
    );
    assert_eq!(signature(&service, "Primary"), "b");
    assert_eq!(signature(&service, "Device"), "o");
    let characteristic = get_all(&conn, CHARACTERISTIC, "org.bluez.GattCharacteristic1").await;
    assert_eq!(signature(&characteristic, "Flags"), "as");
    assert_eq!(signature(&characteristic, "Value"), "ay");
    assert_eq!(signature(&characteristic, "Service"), "o");

    // ReadValue / StartNotify / the CCCD mirroring Notifying.
    let empty: HashMap<String, Value<'_>> = HashMap::new();
    let read = within(
        "ReadValue",
        conn.call_method(
            Some("org.bluez"),
            CHARACTERISTIC,
            Some("org.bluez.GattCharacteristic1"),
            "ReadValue",
            &(empty.clone(),),
        ),
    )
    .await
    .expect("ReadValue");
    assert_eq!(read.body().deserialize::<Vec<u8>>().expect("ay"), vec![7]);
    call(
        &conn,
        CHARACTERISTIC,
        "org.bluez.GattCharacteristic1",
        "StartNotify",
    )
    .await
    .expect("StartNotify");
    let cccd = within(
        "CCCD ReadValue",
        conn.call_method(
            Some("org.bluez"),
            CCCD,
            Some("org.bluez.GattDescriptor1"),
            "ReadValue",
            &(empty,),
        ),
    )
    .await
    .expect("CCCD ReadValue");
    assert_eq!(
        cccd.body().deserialize::<Vec<u8>>().expect("ay"),
        vec![1, 0]
    );
    call(
        &conn,
        CHARACTERISTIC,
        "org.bluez.GattCharacteristic1",
        "StopNotify",
    )
    .await
    .expect("StopNotify");
    let twice = call(
        &conn,
        CHARACTERISTIC,
        "org.bluez.GattCharacteristic1",
        "StopNotify",
    )
    .await;
    assert_eq!(error_name(twice), "org.bluez.Error.Failed");

    // Powered is writable through Properties.Set; off ends links; an unpowered adapter cannot
    // discover.
    assert!(bluez.is_connected("11:22:33:44:55:66"));
    let adapter = properties(&conn, "/org/bluez/hci0").await;
    let adapter1 = InterfaceName::from_static_str_unchecked("org.bluez.Adapter1");
    within(
        "Set Powered",
        adapter.set(adapter1.clone(), "Powered", Value::from(false)),
    )
    .await
    .expect("Set Powered");
    let powered = within("Get Powered", adapter.get(adapter1.clone(), "Powered"))
        .await
        .expect("Get Powered");
    assert_eq!(bool::try_from(powered).ok(), Some(false));
    assert!(!bluez.is_connected("11:22:33:44:55:66"));
    let refused = call(
        &conn,
        "/org/bluez/hci0",
        "org.bluez.Adapter1",
        "StartDiscovery",
    )
    .await;
    assert_eq!(error_name(refused), "org.bluez.Error.NotReady");
    assert!(!bluez.is_discovering());
    let adapter_props = get_all(&conn, "/org/bluez/hci0", "org.bluez.Adapter1").await;
    for required in [
        "Address",
        "AddressType",
        "Name",
        "Alias",
        "Powered",
        "Discovering",
        "Modalias",
    ] {
        assert!(adapter_props.contains_key(required), "{required}");
    }

    // Removing a device takes its whole tree off the bus.
    bluez
        .remove_device("11:22:33:44:55:66")
        .await
        .expect("remove device");
    let manager: ObjectManagerProxy<'static> = proxy(&conn, "/").await;
    let objects = within("GetManagedObjects", manager.get_managed_objects())
        .await
        .expect("GetManagedObjects");
    assert!(
        objects
            .keys()
            .all(|path| !path.as_str().starts_with(DEVICE)),
        "{objects:?}"
    );
    assert!(objects
        .keys()
        .any(|path| path.as_str() == "/org/bluez/hci0/dev_66_55_44_33_22_11"));
    assert!(!introspect(&conn, "/org/bluez/hci0")
        .await
        .contains("dev_11_22_33_44_55_66"));
    assert!(bluez.remove_device("11:22:33:44:55:66").await.is_err());
}
