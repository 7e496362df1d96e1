//! A fake BlueZ (`bluetoothd`) on a private D-Bus bus, for testing Bluetooth LE code without a
//! radio. btleplug's real Linux path (btleplug 0.13 -> bluez-async 0.9 -> libdbus) talks to it
//! unmodified; a small control API makes tests deterministic.
//!
//! Dev-only: nothing in the app depends on it.
//!
//! # Use
//!
//! ```no_run
//! use telltale_fake_bluez::{CharacteristicSpec, DeviceSpec, FakeBluez, PrivateBus, ServiceSpec};
//!
//! # async fn demo() -> telltale_fake_bluez::Result<()> {
//! let bus = PrivateBus::start()?;
//! // libdbus reads this once per process, so set it before btleplug's first call and keep
//! // one scenario per test process.
//! // (`unsafe` from edition 2024 on: call it before other threads start.)
//! std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", bus.address());
//! let bluez = FakeBluez::start(bus.address()).await?;
//! bluez
//!     .add_device(DeviceSpec {
//!         address: "AA:BB:CC:DD:EE:FF".into(),
//!         name: Some("HRM".into()),
//!         rssi: Some(-60),
//!         services: vec![ServiceSpec {
//!             uuid: "180d".into(),
//!             characteristics: vec![CharacteristicSpec::new("2a37", &["notify"], vec![])],
//!         }],
//!         ..DeviceSpec::default()
//!     })
//!     .await?;
//! // ... btleplug: scan, connect, subscribe ...
//! bluez.notify("AA:BB:CC:DD:EE:FF", "2a37", vec![0x06, 72]).await?;
//! bluez.drop_connection("AA:BB:CC:DD:EE:FF").await?;
//! # Ok(()) }
//! ```
//!
//! # What it serves
//!
//! The fake owns `org.bluez` and serves, like bluetoothd:
//! - `org.freedesktop.DBus.ObjectManager` at `/` (`GetManagedObjects`, `InterfacesAdded`);
//! - `org.bluez.Adapter1` at `/org/bluez/hci0` (`StartDiscovery`, `StopDiscovery`,
//!   `SetDiscoveryFilter`, the `Discovering` property and signal, writable `Powered`);
//! - `org.bluez.Device1` at `/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF` (`Connect`, `Disconnect`);
//! - `GattService1`, `GattCharacteristic1` (`ReadValue`, `WriteValue`, `StartNotify`,
//!   `StopNotify`, `Notifying`) and a CCCD `GattDescriptor1` (0x2902) for characteristics that
//!   can notify, at `…/service000a/char000b/desc000d`, numbered by ATT handle.
//!
//! `Properties` (`Get`, `GetAll`, `Set`, `PropertiesChanged`) and `Introspectable` (interfaces
//! listed before child nodes) come from zbus's object server on every object.
//!
//! # Behaviour worth knowing
//! - GATT objects appear (with `InterfacesAdded`) on the first successful `Connect`, just before
//!   `ServicesResolved = true` (20 ms after `Connect` answers), and then stay, like BlueZ's GATT
//!   cache.
//! - [`FakeBluez::drop_connection`] and `Disconnect` emit `Notifying = false` for every
//!   notifying characteristic, then `ServicesResolved = false`, then `Connected = false`.
//! - Unlike bluetoothd, which only signals values that changed, [`FakeBluez::advertise`] always
//!   signals, so every call produces btleplug events.
//! - Lenient where bluetoothd would reject a harmless repeat: `Connect` on a connected device,
//!   `StartDiscovery` while discovering and a second `StartNotify` succeed.
//! - Powering the adapter off ([`FakeBluez::set_powered`] or `Properties.Set`) ends discovery
//!   and every link first, then `Powered` changes.
//! - UUIDs may be given as 16-bit (`"180d"`, `"0x180D"`), 32-bit or 128-bit strings; the bus
//!   always carries BlueZ's lower-case 128-bit form. Addresses are case-insensitive.
//!
//! # What btleplug 0.13 does with it (learned from these tests)
//! - `start_scan` sets `Powered = true` before `SetDiscoveryFilter` and `StartDiscovery`, so a
//!   scan switches a powered-off adapter back on.
//! - `connect` returns once `ServicesResolved` is true (here about 25 ms); it calls `Connect`
//!   only, so a failed `Connect` is an `Err` and nothing else changes.
//! - A dropped link surfaces as `CentralEvent::DeviceDisconnected` (from `Connected = false`);
//!   a stream from `Peripheral::notifications` survives it and delivers again after reconnect
//!   and a new `subscribe`.
//! - `ServiceData` keys arrive as full 128-bit `Uuid`s (`uuid_from_u16(0x181a)`); each
//!   `advertise` yields `RssiUpdate`, `ManufacturerDataAdvertisement` and
//!   `ServiceDataAdvertisement` events, in that order.

mod bus;
mod objects;
mod spec;
mod state;

use std::sync::{Arc, Mutex};

use zbus::zvariant::Value;
use zbus::Connection;

pub use bus::PrivateBus;
pub use spec::{
    bytes_of_hex, normalize_uuid, uuid_from_u16, CharacteristicSpec, DeviceSpec, ServiceSpec,
};

use objects::{emit_changed, manufacturer_data_value, service_data_value, DEVICE1};
use spec::normalize_address;
use state::{lock, Device, Shared, State, ADAPTER_PATH};

/// Everything that can go wrong starting or driving the fake.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not start dbus-daemon (Debian package `dbus`): {0}")]
    SpawnBus(#[source] std::io::Error),
    #[error("dbus-daemon exited without printing its address: {0}")]
    BusAddress(String),
    #[error("I/O error preparing the private bus: {0}")]
    Io(#[source] std::io::Error),
    #[error("D-Bus: {0}")]
    Dbus(#[from] zbus::Error),
    #[error("invalid Bluetooth address {0:?} (expected AA:BB:CC:DD:EE:FF)")]
    InvalidAddress(String),
    #[error("invalid UUID {0:?} (expected 16-, 32- or 128-bit)")]
    InvalidUuid(String),
    #[error("device {0} is already known")]
    DuplicateDevice(String),
    #[error("no device {0}")]
    UnknownDevice(String),
    #[error("device {address} has no characteristic {uuid}")]
    UnknownCharacteristic { address: String, uuid: String },
    #[error("device {0} is not connected")]
    NotConnected(String),
    #[error("characteristic {uuid} of {address} is not notifying (no StartNotify)")]
    NotNotifying { address: String, uuid: String },
    #[error("more GATT attributes than ATT handles")]
    TooManyAttributes,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A running fake BlueZ; a cheap, clonable handle. It stops serving when the last clone is
/// dropped (the D-Bus connection closes and `org.bluez` is released).
#[derive(Clone, Debug)]
pub struct FakeBluez {
    conn: Connection,
    shared: Shared,
}

impl FakeBluez {
    /// Connects to the bus at `bus_address`, owns `org.bluez`, and serves the ObjectManager at
    /// `/` and a powered adapter at `/org/bluez/hci0`. Needs a tokio runtime.
    pub async fn start(bus_address: &str) -> Result<Self> {
        let shared: Shared = Arc::new(Mutex::new(State::new()));
        // Objects are registered before the name is requested, so no client can see
        // `org.bluez` without its adapter.
        let conn = zbus::connection::Builder::address(bus_address)?
            .serve_at("/", zbus::fdo::ObjectManager)?
            .serve_at(
                ADAPTER_PATH,
                objects::Adapter {
                    shared: shared.clone(),
                },
            )?
            .name("org.bluez")?
            .build()
            .await?;
        Ok(Self { conn, shared })
    }

    /// Adds a device object; clients see `InterfacesAdded` (btleplug: `DeviceDiscovered`).
    /// Its GATT services are exported when it is first connected.
    pub async fn add_device(&self, device: DeviceSpec) -> Result<()> {
        let address = normalize_address(&device.address)?;
        let device = Device::from_spec(address.clone(), device)?;
        let path = device.path.clone();
        {
            let mut state = lock(&self.shared);
            if state.devices.contains_key(&address) {
                return Err(Error::DuplicateDevice(address));
            }
            state.devices.insert(address.clone(), device);
        }
        let object = objects::DeviceObject {
            runtime: tokio::runtime::Handle::current(),
            shared: self.shared.clone(),
            address,
        };
        self.conn.object_server().at(path, object).await?;
        Ok(())
    }

    /// Forgets a device, as bluetoothd does some time after it stops advertising: the link
    /// drops (if any), then its objects go with `InterfacesRemoved`. btleplug emits no event for
    /// this; the device just leaves `Central::peripherals`. It may be added again.
    pub async fn remove_device(&self, address: &str) -> Result<()> {
        let address = normalize_address(address)?;
        objects::remove(&self.shared, &self.conn, &address).await
    }

    /// A new advertisement from a known device: one `PropertiesChanged` on `Device1` with `RSSI`
    /// and, when given, `ManufacturerData` / `ServiceData` (merged into what the device already
    /// advertised, by company id / UUID, as BlueZ does; the whole merged map is signalled).
    pub async fn advertise(
        &self,
        address: &str,
        rssi: i16,
        manufacturer_data: Vec<(u16, Vec<u8>)>,
        service_data: Vec<(String, Vec<u8>)>,
    ) -> Result<()> {
        let address = normalize_address(address)?;
        let service_data = service_data
            .into_iter()
            .map(|(uuid, data)| Ok((normalize_uuid(&uuid)?, data)))
            .collect::<Result<Vec<_>>>()?;
        let (path, manufacturer, service) = {
            let mut state = lock(&self.shared);
            let device = state.device_mut(&address)?;
            device.rssi = Some(rssi);
            let manufacturer = (!manufacturer_data.is_empty()).then(|| {
                device.manufacturer_data.extend(manufacturer_data);
                manufacturer_data_value(&device.manufacturer_data)
            });
            let service = (!service_data.is_empty()).then(|| {
                device.service_data.extend(service_data);
                service_data_value(&device.service_data)
            });
            (device.path.clone(), manufacturer, service)
        };
        let mut changed = vec![("RSSI", Value::from(rssi))];
        if let Some(map) = manufacturer {
            changed.push(("ManufacturerData", Value::from(map)));
        }
        if let Some(map) = service {
            changed.push(("ServiceData", Value::from(map)));
        }
        emit_changed(&self.conn, &path, DEVICE1, changed).await?;
        Ok(())
    }

    /// A GATT notification: `PropertiesChanged` `Value` on the characteristic, which also
    /// becomes what `ReadValue` returns. Fails with [`Error::NotNotifying`] unless a client
    /// started notifications on this link.
    pub async fn notify(
        &self,
        address: &str,
        characteristic_uuid: &str,
        value: Vec<u8>,
    ) -> Result<()> {
        let address = normalize_address(address)?;
        let uuid = normalize_uuid(characteristic_uuid)?;
        let path = {
            let mut state = lock(&self.shared);
            let device = state.device_mut(&address)?;
            if !device.connected {
                return Err(Error::NotConnected(address));
            }
            let characteristic = device.characteristic_mut(&uuid)?;
            if !characteristic.notifying {
                return Err(Error::NotNotifying { address, uuid });
            }
            characteristic.value.clone_from(&value);
            characteristic.path.clone()
        };
        emit_changed(
            &self.conn,
            &path,
            objects::CHARACTERISTIC1,
            vec![("Value", Value::from(value))],
        )
        .await?;
        Ok(())
    }

    /// The device drops the link (out of range, powered off): notifications stop, then
    /// `ServicesResolved = false` and `Connected = false` (btleplug: `DeviceDisconnected`).
    /// Fails with [`Error::NotConnected`] if there is no link to drop.
    pub async fn drop_connection(&self, address: &str) -> Result<()> {
        let address = normalize_address(address)?;
        if objects::disconnect(&self.shared, &self.conn, &address).await? {
            Ok(())
        } else {
            Err(Error::NotConnected(address))
        }
    }

    /// Switches the adapter on or off, as `rfkill` or a user would. Off ends discovery and every
    /// link first (their signals as in [`FakeBluez::drop_connection`]), then `Powered` changes
    /// (btleplug: `StateUpdate`); an unpowered adapter refuses `StartDiscovery`.
    pub async fn set_powered(&self, powered: bool) -> Result<()> {
        objects::power(&self.shared, &self.conn, powered).await?;
        objects::emit_adapter_changed(&self.conn, "Powered", powered).await?;
        Ok(())
    }

    /// Makes the next `n` `Connect` calls to this device fail with `org.bluez.Error.Failed`
    /// (they still count in [`FakeBluez::connect_calls`]), to test retries and backoff.
    pub fn fail_next_connects(&self, address: &str, n: usize) -> Result<()> {
        let address = normalize_address(address)?;
        lock(&self.shared).device_mut(&address)?.fail_next_connects = n;
        Ok(())
    }

    /// How many times a client called `Connect` on this device, failed calls included
    /// (0 for an unknown device).
    pub fn connect_calls(&self, address: &str) -> usize {
        self.observe(address, |d| d.connect_calls).unwrap_or(0)
    }

    /// Whether the device has a link (false for an unknown device).
    pub fn is_connected(&self, address: &str) -> bool {
        self.observe(address, |d| d.connected).unwrap_or(false)
    }

    /// Whether a client started notifications on this characteristic and they still run.
    pub fn is_notifying(&self, address: &str, characteristic_uuid: &str) -> bool {
        let Ok(uuid) = normalize_uuid(characteristic_uuid) else {
            return false;
        };
        self.observe(address, |d| {
            d.characteristic(&uuid)
                .map(|c| c.notifying)
                .unwrap_or(false)
        })
        .unwrap_or(false)
    }

    /// Everything clients wrote to this characteristic with `WriteValue`, oldest first.
    pub fn written_values(&self, address: &str, characteristic_uuid: &str) -> Vec<Vec<u8>> {
        let Ok(uuid) = normalize_uuid(characteristic_uuid) else {
            return Vec::new();
        };
        self.observe(address, |d| {
            d.characteristic(&uuid)
                .map(|c| c.writes.clone())
                .unwrap_or_default()
        })
        .unwrap_or_default()
    }

    /// Whether the adapter is switched on (by the test, or by a client setting `Powered`).
    pub fn is_powered(&self) -> bool {
        lock(&self.shared).powered
    }

    /// Whether the adapter is discovering (a client called `StartDiscovery` and not `StopDiscovery`).
    pub fn is_discovering(&self) -> bool {
        lock(&self.shared).discovering
    }

    fn observe<T>(&self, address: &str, f: impl FnOnce(&Device) -> T) -> Option<T> {
        let address = normalize_address(address).ok()?;
        let state = lock(&self.shared);
        state.device(&address).ok().map(f)
    }
}
