//! The built-in demo fleet: a simulated home and a simulated plant, so the app shows life with no
//! hardware and no broker of the user's own.
//!
//! Neither part takes a shortcut into the store. The home is a [`crate::ble::Radio`] that emits
//! real BTHome, Ruuvi and Heart Rate bytes, decoded by the same decoders a real adapter's adverts
//! go through. The plant publishes JSON to a real MQTT broker (a private mosquitto on a loopback
//! port), and the ordinary MQTT source subscribes to it.

mod home;
mod plant;
mod signal;

pub use home::{
    bthome_v2, heart_rate_measurement, home_devices, pvvx, ruuvi_rawv2, DemoRadio,
    FRONT_DOOR_BINDKEY,
};
pub use plant::{
    filter_pressure_drop, find_mosquitto, plant_machines, LocalBroker, Machine, FILTER,
    FILTER_HISTORY_MS,
};

use crate::ble::{BleFleet, BleSource};
use crate::board::SourceBoard;
use crate::task::TaskHandle;
use telltale_store::Ingest;

/// The running demo: dropping it stops every part of it.
pub struct DemoFleet {
    home: BleSource,
    plant: TaskHandle,
}

impl DemoFleet {
    /// `filter_installed_ms`: when the plant's filter was installed (see [`FILTER`]).
    pub fn start(ingest: Ingest, board: SourceBoard, filter_installed_ms: i64) -> Self {
        let home = crate::ble::start(
            "demo-home",
            Box::new(DemoRadio::new(home_devices())),
            Self::home_fleet(BleFleet::default()),
            ingest.clone(),
            board.clone(),
        );
        let plant = plant::start(ingest, board, filter_installed_ms);
        Self { home, plant }
    }

    /// The simulated home's radio, with its scanner list.
    pub fn home(&self) -> &BleSource {
        &self.home
    }

    /// The home's own devices plus the user's: a neighbour's device the user adds from the
    /// scanner is then stored like any other, and a home device the user renamed keeps the new
    /// name.
    pub fn home_fleet(user: BleFleet) -> BleFleet {
        let mut devices: Vec<_> = home_devices()
            .into_iter()
            .filter(|d| d.in_fleet && user.get(&d.known.address).is_none())
            .map(|d| d.known)
            .collect();
        devices.extend(user.devices);
        BleFleet { devices }
    }

    /// Stops the fleet and waits until its last readings are handed to the store.
    pub async fn stop(self) {
        self.home.stop().await;
        self.plant.stop().await;
    }
}
