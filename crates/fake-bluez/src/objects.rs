//! The D-Bus objects: `org.bluez.Adapter1`, `Device1`, `GattService1`, `GattCharacteristic1`,
//! `GattDescriptor1`. Properties are read from the shared state on every call, and changes are
//! announced with explicit `PropertiesChanged` signals, so the control API and the bus never
//! disagree.
//!
//! Types follow BlueZ strictly because bluez-async silently drops a property of the wrong type:
//! `RSSI` is `n`, `ManufacturerData` is `a{qv}` of `ay`, `ServiceData` is `a{sv}` of `ay`,
//! `Flags` is `as`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use zbus::fdo;
use zbus::names::InterfaceName;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue, Value};
use zbus::Connection;

use crate::state::{lock, Device, Shared, ADAPTER_PATH, CCCD_UUID};

pub(crate) const ADAPTER1: &str = "org.bluez.Adapter1";
pub(crate) const DEVICE1: &str = "org.bluez.Device1";
pub(crate) const CHARACTERISTIC1: &str = "org.bluez.GattCharacteristic1";

/// How long after `Connect` the fake reports `ServicesResolved = true`. bluetoothd answers
/// `Connect` first and resolves services a little later; clients must wait for the property,
/// and a non-zero delay keeps that path exercised.
const RESOLVE_DELAY: Duration = Duration::from_millis(20);

/// The default ATT MTU: what a link has before any exchange.
const ATT_MTU: u16 = 23;

/// Errors as bluetoothd names them (`org.bluez.Error.*`).
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.bluez.Error")]
pub(crate) enum BluezError {
    #[zbus(error)]
    ZBus(zbus::Error),
    Failed(String),
    NotPermitted(String),
    NotSupported(String),
    NotReady(String),
    InvalidOffset(String),
    DoesNotExist(String),
}

impl From<crate::Error> for BluezError {
    fn from(error: crate::Error) -> Self {
        match error {
            crate::Error::Dbus(e) => Self::ZBus(e),
            other => Self::DoesNotExist(other.to_string()),
        }
    }
}

fn not_connected() -> BluezError {
    BluezError::Failed("Not connected".to_owned())
}

/// Emits `PropertiesChanged` for one interface of one object, from the connection that owns
/// `org.bluez` (clients match on that sender).
pub(crate) async fn emit_changed(
    conn: &Connection,
    path: &ObjectPath<'_>,
    interface: &'static str,
    changed: Vec<(&'static str, Value<'_>)>,
) -> zbus::Result<()> {
    let emitter = SignalEmitter::new(conn, path.clone())?;
    let changed: HashMap<&str, Value<'_>> = changed.into_iter().collect();
    fdo::Properties::properties_changed(
        &emitter,
        InterfaceName::from_static_str_unchecked(interface),
        changed,
        Cow::Borrowed(&[]),
    )
    .await
}

/// `PropertiesChanged` for one boolean of `Adapter1` (`Powered`, `Discovering`).
pub(crate) async fn emit_adapter_changed(
    conn: &Connection,
    property: &'static str,
    value: bool,
) -> zbus::Result<()> {
    emit_changed(
        conn,
        &ObjectPath::from_static_str_unchecked(ADAPTER_PATH),
        ADAPTER1,
        vec![(property, Value::from(value))],
    )
    .await
}

/// `a{qv}`: company id -> variant holding `ay`.
pub(crate) fn manufacturer_data_value(
    data: &BTreeMap<u16, Vec<u8>>,
) -> HashMap<u16, Value<'static>> {
    data.iter()
        .map(|(id, bytes)| (*id, Value::from(bytes.clone())))
        .collect()
}

/// `a{sv}`: 128-bit service UUID -> variant holding `ay`.
pub(crate) fn service_data_value(
    data: &BTreeMap<String, Vec<u8>>,
) -> HashMap<String, Value<'static>> {
    data.iter()
        .map(|(uuid, bytes)| (uuid.clone(), Value::from(bytes.clone())))
        .collect()
}

/// The `offset` option of `ReadValue`/`WriteValue` (`q`), 0 when absent.
fn offset_option(options: &HashMap<String, OwnedValue>) -> Result<usize, BluezError> {
    match options.get("offset") {
        None => Ok(0),
        Some(value) => u16::try_from(value)
            .map(usize::from)
            .map_err(|_| BluezError::InvalidOffset("offset must be a uint16".to_owned())),
    }
}

fn read_at(value: &[u8], offset: usize) -> Result<Vec<u8>, BluezError> {
    value
        .get(offset..)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| BluezError::InvalidOffset(format!("offset {offset} > {}", value.len())))
}

/// `org.bluez.Adapter1` at `/org/bluez/hci0`.
pub(crate) struct Adapter {
    pub shared: Shared,
}

#[zbus::interface(name = "org.bluez.Adapter1")]
impl Adapter {
    async fn start_discovery(
        &self,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), BluezError> {
        {
            let mut state = lock(&self.shared);
            if !state.powered {
                return Err(BluezError::NotReady("Resource Not Ready".to_owned()));
            }
            if state.discovering {
                // Lenient where bluetoothd would say InProgress to the same client: a test
                // scanning twice should not fail on the fake's bookkeeping.
                return Ok(());
            }
            state.discovering = true;
        }
        emit_adapter_changed(conn, "Discovering", true).await?;
        Ok(())
    }

    async fn stop_discovery(
        &self,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), BluezError> {
        {
            let mut state = lock(&self.shared);
            if !state.discovering {
                return Err(BluezError::Failed("No discovery started".to_owned()));
            }
            state.discovering = false;
        }
        emit_adapter_changed(conn, "Discovering", false).await?;
        Ok(())
    }

    /// Accepted and ignored: the fake reports every device it knows.
    fn set_discovery_filter(&self, _filter: HashMap<String, OwnedValue>) {}

    fn get_discovery_filters(&self) -> Vec<String> {
        [
            "UUIDs",
            "RSSI",
            "Pathloss",
            "Transport",
            "DuplicateData",
            "Discoverable",
            "Pattern",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect()
    }

    #[zbus(property)]
    fn address(&self) -> String {
        "00:1A:7D:DA:71:13".to_owned()
    }

    #[zbus(property)]
    fn address_type(&self) -> String {
        "public".to_owned()
    }

    #[zbus(property)]
    fn name(&self) -> String {
        "fake-bluez".to_owned()
    }

    #[zbus(property)]
    fn alias(&self) -> String {
        "fake-bluez".to_owned()
    }

    #[zbus(property)]
    fn class(&self) -> u32 {
        0
    }

    #[zbus(property)]
    fn powered(&self) -> bool {
        lock(&self.shared).powered
    }

    /// zbus announces `Powered` itself after this returns.
    #[zbus(property)]
    async fn set_powered(
        &self,
        powered: bool,
        #[zbus(connection)] conn: &Connection,
    ) -> fdo::Result<()> {
        power(&self.shared, conn, powered)
            .await
            .map_err(|e| fdo::Error::Failed(e.to_string()))
    }

    #[zbus(property)]
    fn discoverable(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn pairable(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn discovering(&self) -> bool {
        lock(&self.shared).discovering
    }

    #[zbus(property, name = "UUIDs")]
    fn uuids(&self) -> Vec<String> {
        Vec::new()
    }

    /// bluez-async parses this (`usb:vXXXXpXXXXdXXXX`) and drops the adapter without it.
    #[zbus(property)]
    fn modalias(&self) -> String {
        "usb:v1D6Bp0246d054F".to_owned()
    }

    #[zbus(property)]
    fn roles(&self) -> Vec<String> {
        vec!["central".to_owned(), "peripheral".to_owned()]
    }
}

/// Switches the adapter on or off. Off, like bluetoothd, ends discovery and every link first.
/// The caller announces `Powered` (zbus does it for `Properties.Set`).
pub(crate) async fn power(shared: &Shared, conn: &Connection, powered: bool) -> crate::Result<()> {
    let (stopped_discovery, connected) = {
        let mut state = lock(shared);
        state.powered = powered;
        let stopped_discovery = !powered && std::mem::take(&mut state.discovering);
        let connected: Vec<String> = if powered {
            Vec::new()
        } else {
            state
                .devices
                .values()
                .filter(|d| d.connected)
                .map(|d| d.address.clone())
                .collect()
        };
        (stopped_discovery, connected)
    };
    for address in connected {
        disconnect(shared, conn, &address).await?;
    }
    if stopped_discovery {
        emit_adapter_changed(conn, "Discovering", false).await?;
    }
    Ok(())
}

/// `org.bluez.Device1` at `/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF`.
pub(crate) struct DeviceObject {
    pub shared: Shared,
    pub address: String,
    /// The test's runtime: zbus runs method handlers on its own executor thread (async-io),
    /// where there is no tokio context to spawn the delayed service resolution on.
    pub runtime: tokio::runtime::Handle,
}

impl DeviceObject {
    fn read<T>(&self, f: impl FnOnce(&Device) -> T) -> fdo::Result<T> {
        let state = lock(&self.shared);
        let device = state
            .device(&self.address)
            .map_err(|e| fdo::Error::UnknownObject(e.to_string()))?;
        Ok(f(device))
    }

    /// For optional properties: `Err` leaves the property out of `GetAll`, as BlueZ does.
    fn read_optional<T>(&self, f: impl FnOnce(&Device) -> Option<T>) -> fdo::Result<T> {
        self.read(f)?
            .ok_or_else(|| fdo::Error::InvalidArgs("No such property".to_owned()))
    }
}

#[zbus::interface(name = "org.bluez.Device1")]
impl DeviceObject {
    async fn connect(&self, #[zbus(connection)] conn: &Connection) -> Result<(), BluezError> {
        let (path, link) = {
            let mut state = lock(&self.shared);
            let device = state.device_mut(&self.address)?;
            device.connect_calls += 1;
            if device.fail_next_connects > 0 {
                device.fail_next_connects -= 1;
                return Err(BluezError::Failed(
                    "le-connection-abort-by-local".to_owned(),
                ));
            }
            if device.connected {
                return Ok(());
            }
            device.connected = true;
            device.link += 1;
            (device.path.clone(), device.link)
        };
        emit_changed(conn, &path, DEVICE1, vec![("Connected", Value::from(true))]).await?;
        // Service resolution finishes after the reply, as with bluetoothd.
        let shared = self.shared.clone();
        let address = self.address.clone();
        let conn = conn.clone();
        self.runtime.spawn(async move {
            tokio::time::sleep(RESOLVE_DELAY).await;
            if let Err(error) = resolve_services(&shared, &conn, &address, link).await {
                tracing::warn!(%address, %error, "fake-bluez: resolving services failed");
            }
        });
        Ok(())
    }

    async fn disconnect(&self, #[zbus(connection)] conn: &Connection) -> Result<(), BluezError> {
        disconnect(&self.shared, conn, &self.address).await?;
        Ok(())
    }

    #[zbus(property)]
    fn address(&self) -> fdo::Result<String> {
        self.read(|d| d.address.clone())
    }

    #[zbus(property)]
    fn address_type(&self) -> String {
        "public".to_owned()
    }

    #[zbus(property)]
    fn name(&self) -> fdo::Result<String> {
        self.read_optional(|d| d.name.clone())
    }

    /// BlueZ's alias falls back to the address with dashes when there is no name.
    #[zbus(property)]
    fn alias(&self) -> fdo::Result<String> {
        self.read(|d| {
            d.name
                .clone()
                .unwrap_or_else(|| d.address.replace(':', "-"))
        })
    }

    #[zbus(property)]
    fn adapter(&self) -> OwnedObjectPath {
        ObjectPath::from_static_str_unchecked(ADAPTER_PATH).into()
    }

    #[zbus(property)]
    fn paired(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn bonded(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn trusted(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn blocked(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn legacy_pairing(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn connected(&self) -> fdo::Result<bool> {
        self.read(|d| d.connected)
    }

    #[zbus(property)]
    fn services_resolved(&self) -> fdo::Result<bool> {
        self.read(|d| d.services_resolved)
    }

    #[zbus(property, name = "RSSI")]
    fn rssi(&self) -> fdo::Result<i16> {
        self.read_optional(|d| d.rssi)
    }

    #[zbus(property, name = "UUIDs")]
    fn uuids(&self) -> fdo::Result<Vec<String>> {
        self.read(Device::uuids)
    }

    #[zbus(property)]
    fn manufacturer_data(&self) -> fdo::Result<HashMap<u16, Value<'static>>> {
        self.read_optional(|d| {
            (!d.manufacturer_data.is_empty()).then(|| manufacturer_data_value(&d.manufacturer_data))
        })
    }

    #[zbus(property)]
    fn service_data(&self) -> fdo::Result<HashMap<String, Value<'static>>> {
        self.read_optional(|d| {
            (!d.service_data.is_empty()).then(|| service_data_value(&d.service_data))
        })
    }
}

/// After `Connect`: export the GATT objects (first time only), then `ServicesResolved = true`,
/// unless the link went away meanwhile.
async fn resolve_services(
    shared: &Shared,
    conn: &Connection,
    address: &str,
    link: u64,
) -> crate::Result<()> {
    let to_export = {
        let mut state = lock(shared);
        // Removed meanwhile: nothing left to resolve.
        let Ok(device) = state.device_mut(address) else {
            return Ok(());
        };
        if device.link != link || !device.connected {
            return Ok(());
        }
        let export = !device.gatt_exported;
        device.gatt_exported = true;
        export.then(|| gatt_objects(shared, device))
    };
    if let Some(objects) = to_export {
        let server = conn.object_server();
        for object in objects {
            match object {
                GattObject::Service(path, object) => server.at(path, object).await?,
                GattObject::Characteristic(path, object) => server.at(path, object).await?,
                GattObject::Descriptor(path, object) => server.at(path, object).await?,
            };
        }
    }
    let path = {
        let mut state = lock(shared);
        let Ok(device) = state.device_mut(address) else {
            return Ok(());
        };
        if device.link != link || !device.connected {
            return Ok(());
        }
        device.services_resolved = true;
        device.path.clone()
    };
    emit_changed(
        conn,
        &path,
        DEVICE1,
        vec![("ServicesResolved", Value::from(true))],
    )
    .await?;
    Ok(())
}

enum GattObject {
    Service(OwnedObjectPath, ServiceObject),
    Characteristic(OwnedObjectPath, CharacteristicObject),
    Descriptor(OwnedObjectPath, DescriptorObject),
}

/// Parents before children, so every `InterfacesAdded` names an object whose parent exists.
fn gatt_objects(shared: &Shared, device: &Device) -> Vec<GattObject> {
    let mut objects = Vec::new();
    for (s, service) in device.services.iter().enumerate() {
        let key = GattKey {
            address: device.address.clone(),
            service: s,
            characteristic: 0,
        };
        objects.push(GattObject::Service(
            service.path.clone(),
            ServiceObject {
                shared: shared.clone(),
                key: key.clone(),
            },
        ));
        for (c, characteristic) in service.characteristics.iter().enumerate() {
            let key = GattKey {
                characteristic: c,
                ..key.clone()
            };
            objects.push(GattObject::Characteristic(
                characteristic.path.clone(),
                CharacteristicObject {
                    shared: shared.clone(),
                    key: key.clone(),
                },
            ));
            if let Some((path, _)) = &characteristic.cccd {
                objects.push(GattObject::Descriptor(
                    path.clone(),
                    DescriptorObject {
                        shared: shared.clone(),
                        key,
                    },
                ));
            }
        }
    }
    objects
}

/// Drops the link: `ServicesResolved = false`, then `Connected = false` (bluetoothd's order),
/// and every notification session ends with `Notifying = false`. Returns whether it was connected.
pub(crate) async fn disconnect(
    shared: &Shared,
    conn: &Connection,
    address: &str,
) -> crate::Result<bool> {
    let (path, stopped) = {
        let mut state = lock(shared);
        let device = state.device_mut(address)?;
        if !device.connected {
            return Ok(false);
        }
        device.connected = false;
        device.services_resolved = false;
        device.link += 1;
        let mut stopped = Vec::new();
        for characteristic in device
            .services
            .iter_mut()
            .flat_map(|s| s.characteristics.iter_mut())
        {
            if characteristic.notifying {
                characteristic.notifying = false;
                stopped.push(characteristic.path.clone());
            }
        }
        (device.path.clone(), stopped)
    };
    for char_path in stopped {
        emit_changed(
            conn,
            &char_path,
            CHARACTERISTIC1,
            vec![("Notifying", Value::from(false))],
        )
        .await?;
    }
    emit_changed(
        conn,
        &path,
        DEVICE1,
        vec![("ServicesResolved", Value::from(false))],
    )
    .await?;
    emit_changed(
        conn,
        &path,
        DEVICE1,
        vec![("Connected", Value::from(false))],
    )
    .await?;
    Ok(true)
}

/// Forgets a device as bluetoothd does when it leaves range: the link drops first, then its
/// objects go, children before parents, each with `InterfacesRemoved`.
pub(crate) async fn remove(shared: &Shared, conn: &Connection, address: &str) -> crate::Result<()> {
    disconnect(shared, conn, address).await?;
    let (device_path, gatt_paths) = {
        let state = lock(shared);
        let device = state.device(address)?;
        let mut gatt_paths = Vec::new();
        if device.gatt_exported {
            for service in &device.services {
                for characteristic in &service.characteristics {
                    if let Some((path, _)) = &characteristic.cccd {
                        gatt_paths.push(GattPath::Descriptor(path.clone()));
                    }
                    gatt_paths.push(GattPath::Characteristic(characteristic.path.clone()));
                }
                gatt_paths.push(GattPath::Service(service.path.clone()));
            }
        }
        (device.path.clone(), gatt_paths)
    };
    let server = conn.object_server();
    for path in gatt_paths {
        match path {
            GattPath::Descriptor(path) => server.remove::<DescriptorObject, _>(path).await?,
            GattPath::Characteristic(path) => {
                server.remove::<CharacteristicObject, _>(path).await?
            }
            GattPath::Service(path) => server.remove::<ServiceObject, _>(path).await?,
        };
    }
    server.remove::<DeviceObject, _>(device_path).await?;
    lock(shared).devices.remove(address);
    Ok(())
}

enum GattPath {
    Service(OwnedObjectPath),
    Characteristic(OwnedObjectPath),
    Descriptor(OwnedObjectPath),
}

/// Where a GATT object's state lives: device, service index, characteristic index.
#[derive(Clone, Debug)]
pub(crate) struct GattKey {
    address: String,
    service: usize,
    characteristic: usize,
}

/// Runs `f` on the GATT object's device, service index and characteristic index.
fn with_gatt<T>(
    shared: &Shared,
    key: &GattKey,
    f: impl FnOnce(&mut Device) -> Option<T>,
) -> Result<T, BluezError> {
    let mut state = lock(shared);
    let device = state.device_mut(&key.address)?;
    f(device).ok_or_else(|| BluezError::DoesNotExist("No such GATT object".to_owned()))
}

fn read_gatt<T>(
    shared: &Shared,
    key: &GattKey,
    f: impl FnOnce(&mut Device) -> Option<T>,
) -> fdo::Result<T> {
    with_gatt(shared, key, f).map_err(|e| fdo::Error::UnknownObject(format!("{e:?}")))
}

/// `org.bluez.GattService1` at `…/dev_…/serviceXXXX`.
pub(crate) struct ServiceObject {
    shared: Shared,
    key: GattKey,
}

#[zbus::interface(name = "org.bluez.GattService1")]
impl ServiceObject {
    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> fdo::Result<String> {
        read_gatt(&self.shared, &self.key, |d| {
            Some(d.services.get(self.key.service)?.uuid.clone())
        })
    }

    #[zbus(property)]
    fn primary(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn device(&self) -> fdo::Result<OwnedObjectPath> {
        read_gatt(&self.shared, &self.key, |d| Some(d.path.clone()))
    }

    #[zbus(property)]
    fn includes(&self) -> Vec<OwnedObjectPath> {
        Vec::new()
    }

    #[zbus(property)]
    fn handle(&self) -> fdo::Result<u16> {
        read_gatt(&self.shared, &self.key, |d| {
            Some(d.services.get(self.key.service)?.handle)
        })
    }
}

/// `org.bluez.GattCharacteristic1` at `…/serviceXXXX/charYYYY`.
pub(crate) struct CharacteristicObject {
    shared: Shared,
    key: GattKey,
}

impl CharacteristicObject {
    fn with<T>(
        &self,
        f: impl FnOnce(bool, &mut crate::state::Characteristic) -> Result<T, BluezError>,
    ) -> Result<T, BluezError> {
        let key = &self.key;
        with_gatt(&self.shared, key, |d| {
            let connected = d.connected;
            let characteristic = d
                .services
                .get_mut(key.service)?
                .characteristics
                .get_mut(key.characteristic)?;
            Some(f(connected, characteristic))
        })?
    }

    fn property<T>(&self, f: impl FnOnce(&crate::state::Characteristic) -> T) -> fdo::Result<T> {
        self.with(|_, c| Ok(f(c)))
            .map_err(|e| fdo::Error::UnknownObject(format!("{e:?}")))
    }

    /// Sets `Notifying` and announces it, if it changed.
    async fn set_notifying(&self, conn: &Connection, notifying: bool) -> Result<(), BluezError> {
        let path = self.with(|connected, c| {
            if !connected {
                return Err(not_connected());
            }
            if !c.has_flag("notify") && !c.has_flag("indicate") {
                return Err(BluezError::NotSupported(
                    "Operation is not supported".to_owned(),
                ));
            }
            if c.notifying == notifying {
                if notifying {
                    // Lenient: bluetoothd tells a second StartNotify from the same client
                    // "InProgress"; a fake should not punish a harmless repeat.
                    return Ok(None);
                }
                return Err(BluezError::Failed("No notify session started".to_owned()));
            }
            c.notifying = notifying;
            Ok(Some(c.path.clone()))
        })?;
        if let Some(path) = path {
            emit_changed(
                conn,
                &path,
                CHARACTERISTIC1,
                vec![("Notifying", Value::from(notifying))],
            )
            .await?;
        }
        Ok(())
    }
}

#[zbus::interface(name = "org.bluez.GattCharacteristic1")]
impl CharacteristicObject {
    fn read_value(&self, options: HashMap<String, OwnedValue>) -> Result<Vec<u8>, BluezError> {
        let offset = offset_option(&options)?;
        self.with(|connected, c| {
            if !connected {
                return Err(not_connected());
            }
            if !c.has_flag("read") {
                return Err(BluezError::NotPermitted("Read not permitted".to_owned()));
            }
            read_at(&c.value, offset)
        })
    }

    fn write_value(
        &self,
        value: Vec<u8>,
        options: HashMap<String, OwnedValue>,
    ) -> Result<(), BluezError> {
        let offset = offset_option(&options)?;
        self.with(|connected, c| {
            if !connected {
                return Err(not_connected());
            }
            if !c.has_flag("write") && !c.has_flag("write-without-response") {
                return Err(BluezError::NotPermitted("Write not permitted".to_owned()));
            }
            if offset != 0 {
                return Err(BluezError::NotSupported(
                    "The fake supports writes at offset 0 only".to_owned(),
                ));
            }
            c.writes.push(value);
            Ok(())
        })
    }

    async fn start_notify(&self, #[zbus(connection)] conn: &Connection) -> Result<(), BluezError> {
        self.set_notifying(conn, true).await
    }

    async fn stop_notify(&self, #[zbus(connection)] conn: &Connection) -> Result<(), BluezError> {
        self.set_notifying(conn, false).await
    }

    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> fdo::Result<String> {
        self.property(|c| c.uuid.clone())
    }

    #[zbus(property)]
    fn service(&self) -> fdo::Result<OwnedObjectPath> {
        let key = &self.key;
        read_gatt(&self.shared, key, |d| {
            Some(d.services.get(key.service)?.path.clone())
        })
    }

    #[zbus(property)]
    fn value(&self) -> fdo::Result<Vec<u8>> {
        self.property(|c| c.value.clone())
    }

    #[zbus(property)]
    fn notifying(&self) -> fdo::Result<bool> {
        self.property(|c| c.notifying)
    }

    #[zbus(property)]
    fn flags(&self) -> fdo::Result<Vec<String>> {
        self.property(|c| c.flags.clone())
    }

    #[zbus(property)]
    fn handle(&self) -> fdo::Result<u16> {
        self.property(|c| c.handle)
    }

    #[zbus(property, name = "MTU")]
    fn mtu(&self) -> u16 {
        ATT_MTU
    }
}

/// `org.bluez.GattDescriptor1` at `…/charYYYY/descZZZZ`: the CCCD (0x2902) of a characteristic
/// that can notify. Its value mirrors `Notifying`; bluetoothd refuses writes to it because
/// `StartNotify`/`StopNotify` own it.
pub(crate) struct DescriptorObject {
    shared: Shared,
    key: GattKey,
}

impl DescriptorObject {
    fn with<T>(
        &self,
        f: impl FnOnce(bool, &crate::state::Characteristic) -> T,
    ) -> Result<T, BluezError> {
        let key = &self.key;
        with_gatt(&self.shared, key, |d| {
            let connected = d.connected;
            let characteristic = d
                .services
                .get(key.service)?
                .characteristics
                .get(key.characteristic)?;
            Some(f(connected, characteristic))
        })
    }

    fn cccd_value(c: &crate::state::Characteristic) -> Vec<u8> {
        match (c.notifying, c.has_flag("notify")) {
            (false, _) => vec![0, 0],
            (true, true) => vec![1, 0],
            (true, false) => vec![2, 0],
        }
    }
}

#[zbus::interface(name = "org.bluez.GattDescriptor1")]
impl DescriptorObject {
    fn read_value(&self, options: HashMap<String, OwnedValue>) -> Result<Vec<u8>, BluezError> {
        let offset = offset_option(&options)?;
        self.with(|connected, c| {
            if !connected {
                return Err(not_connected());
            }
            read_at(&Self::cccd_value(c), offset)
        })?
    }

    fn write_value(
        &self,
        _value: Vec<u8>,
        _options: HashMap<String, OwnedValue>,
    ) -> Result<(), BluezError> {
        Err(BluezError::NotPermitted("Write not permitted".to_owned()))
    }

    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> String {
        CCCD_UUID.to_owned()
    }

    #[zbus(property)]
    fn characteristic(&self) -> fdo::Result<OwnedObjectPath> {
        self.with(|_, c| c.path.clone())
            .map_err(|e| fdo::Error::UnknownObject(format!("{e:?}")))
    }

    #[zbus(property)]
    fn value(&self) -> fdo::Result<Vec<u8>> {
        self.with(|_, c| Self::cccd_value(c))
            .map_err(|e| fdo::Error::UnknownObject(format!("{e:?}")))
    }

    #[zbus(property)]
    fn flags(&self) -> Vec<String> {
        vec!["read".to_owned(), "write".to_owned()]
    }

    #[zbus(property)]
    fn handle(&self) -> fdo::Result<u16> {
        self.with(|_, c| c.cccd.as_ref().map_or(0, |(_, handle)| *handle))
            .map_err(|e| fdo::Error::UnknownObject(format!("{e:?}")))
    }
}
