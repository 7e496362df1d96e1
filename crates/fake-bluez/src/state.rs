//! The fake's state, shared by the control handle and the D-Bus objects.
//!
//! One `std::sync::Mutex` guards everything: it is never held across an `.await`, so method
//! handlers and the control API cannot deadlock, and every observation is consistent.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use zbus::zvariant::OwnedObjectPath;

use crate::spec::{normalize_uuid, DeviceSpec};
use crate::{Error, Result};

pub(crate) const ADAPTER_PATH: &str = "/org/bluez/hci0";
/// The CCCD: BlueZ exposes it as a descriptor of every notifying characteristic.
pub(crate) const CCCD_UUID: &str = "00002902-0000-1000-8000-00805f9b34fb";
/// BlueZ numbers GATT objects by ATT handle; real devices start their first service above the
/// GAP/GATT services, so this keeps paths looking like `service000a/char000b`.
const FIRST_HANDLE: u16 = 0x000a;

pub(crate) type Shared = Arc<Mutex<State>>;

/// Locks the state. A panic while holding the lock cannot leave it half-updated in a way that
/// matters to a test fake, so poisoning is ignored rather than turned into a second panic.
pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug)]
pub(crate) struct State {
    pub powered: bool,
    pub discovering: bool,
    /// Keyed by upper-case address.
    pub devices: BTreeMap<String, Device>,
}

impl State {
    pub fn new() -> Self {
        Self {
            powered: true,
            discovering: false,
            devices: BTreeMap::new(),
        }
    }

    pub fn device(&self, address: &str) -> Result<&Device> {
        self.devices
            .get(address)
            .ok_or_else(|| Error::UnknownDevice(address.to_owned()))
    }

    pub fn device_mut(&mut self, address: &str) -> Result<&mut Device> {
        self.devices
            .get_mut(address)
            .ok_or_else(|| Error::UnknownDevice(address.to_owned()))
    }
}

#[derive(Debug)]
pub(crate) struct Device {
    pub path: OwnedObjectPath,
    pub address: String,
    pub name: Option<String>,
    pub rssi: Option<i16>,
    pub manufacturer_data: BTreeMap<u16, Vec<u8>>,
    pub service_data: BTreeMap<String, Vec<u8>>,
    pub connected: bool,
    pub services_resolved: bool,
    pub connect_calls: usize,
    pub fail_next_connects: usize,
    /// Bumped on every connect and disconnect, so a delayed "services resolved" step can tell
    /// that the link it was started for is gone.
    pub link: u64,
    /// GATT objects are exported on the first connect and then kept, like BlueZ's GATT cache.
    pub gatt_exported: bool,
    pub services: Vec<Service>,
}

#[derive(Debug)]
pub(crate) struct Service {
    pub path: OwnedObjectPath,
    pub handle: u16,
    pub uuid: String,
    pub characteristics: Vec<Characteristic>,
}

#[derive(Debug)]
pub(crate) struct Characteristic {
    pub path: OwnedObjectPath,
    pub handle: u16,
    pub uuid: String,
    pub flags: Vec<String>,
    pub value: Vec<u8>,
    pub notifying: bool,
    pub writes: Vec<Vec<u8>>,
    /// The CCCD's path and handle, for characteristics that can notify or indicate.
    pub cccd: Option<(OwnedObjectPath, u16)>,
}

impl Characteristic {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

/// Hands out ATT handles; a device has at most 0xffff attributes.
struct HandleAllocator(u16);

impl HandleAllocator {
    fn take(&mut self, count: u16) -> Result<u16> {
        let handle = self.0;
        self.0 = handle.checked_add(count).ok_or(Error::TooManyAttributes)?;
        Ok(handle)
    }
}

fn object_path(path: String) -> Result<OwnedObjectPath> {
    OwnedObjectPath::try_from(path).map_err(|e| Error::Dbus(e.into()))
}

impl Device {
    /// Builds the device and its GATT tree from a spec whose address is already normalized.
    pub fn from_spec(address: String, spec: DeviceSpec) -> Result<Self> {
        let device_path = format!("{ADAPTER_PATH}/dev_{}", address.replace(':', "_"));
        let mut next_handle = HandleAllocator(FIRST_HANDLE);
        let mut services = Vec::with_capacity(spec.services.len());
        for service_spec in spec.services {
            let service_handle = next_handle.take(1)?;
            let service_path = format!("{device_path}/service{service_handle:04x}");
            let mut characteristics = Vec::with_capacity(service_spec.characteristics.len());
            for char_spec in service_spec.characteristics {
                // Declaration handle, then the value handle, as on a real ATT server.
                let char_handle = next_handle.take(2)?;
                let char_path = format!("{service_path}/char{char_handle:04x}");
                let can_notify = char_spec
                    .flags
                    .iter()
                    .any(|f| f == "notify" || f == "indicate");
                let cccd = if can_notify {
                    let desc_handle = next_handle.take(1)?;
                    Some((
                        object_path(format!("{char_path}/desc{desc_handle:04x}"))?,
                        desc_handle,
                    ))
                } else {
                    None
                };
                characteristics.push(Characteristic {
                    path: object_path(char_path)?,
                    handle: char_handle,
                    uuid: normalize_uuid(&char_spec.uuid)?,
                    flags: char_spec.flags,
                    value: char_spec.value,
                    notifying: false,
                    writes: Vec::new(),
                    cccd,
                });
            }
            services.push(Service {
                path: object_path(service_path)?,
                handle: service_handle,
                uuid: normalize_uuid(&service_spec.uuid)?,
                characteristics,
            });
        }
        let service_data = spec
            .service_data
            .into_iter()
            .map(|(uuid, data)| Ok((normalize_uuid(&uuid)?, data)))
            .collect::<Result<_>>()?;
        Ok(Self {
            path: object_path(device_path)?,
            address,
            name: spec.name,
            rssi: spec.rssi,
            manufacturer_data: spec.manufacturer_data.into_iter().collect(),
            service_data,
            connected: false,
            services_resolved: false,
            connect_calls: 0,
            fail_next_connects: 0,
            link: 0,
            gatt_exported: false,
            services,
        })
    }

    /// `UUIDs`: the device's primary services, as if it advertised them all.
    pub fn uuids(&self) -> Vec<String> {
        self.services.iter().map(|s| s.uuid.clone()).collect()
    }

    pub fn characteristic(&self, uuid: &str) -> Result<&Characteristic> {
        self.services
            .iter()
            .flat_map(|s| s.characteristics.iter())
            .find(|c| c.uuid == uuid)
            .ok_or_else(|| Error::UnknownCharacteristic {
                address: self.address.clone(),
                uuid: uuid.to_owned(),
            })
    }

    pub fn characteristic_mut(&mut self, uuid: &str) -> Result<&mut Characteristic> {
        let address = self.address.clone();
        self.services
            .iter_mut()
            .flat_map(|s| s.characteristics.iter_mut())
            .find(|c| c.uuid == uuid)
            .ok_or_else(|| Error::UnknownCharacteristic {
                address,
                uuid: uuid.to_owned(),
            })
    }
}
