//! The built-in demo fleet: a simulated home and a simulated plant, so the app shows life with no
//! hardware and no broker of the user's own.
//!
//! Neither part takes a shortcut into the store. The home is a [`telltale_sources::ble::Radio`] that emits
//! real BTHome, Ruuvi and Heart Rate bytes, decoded by the same decoders a real adapter's adverts
//! go through. The plant publishes JSON to a real MQTT broker (a private mosquitto on a loopback
//! port), and the ordinary MQTT source subscribes to it; where no mosquitto runs (phones) the
//! plant publishes into that same source in process ([`PlantLink`]).

mod home;
mod plant;
mod signal;

pub use home::{home_devices, DemoRadio, FRONT_DOOR_BINDKEY};
pub use plant::{
    filter_pressure_drop, find_mosquitto, plant_machines, LocalBroker, Machine, PlantLink, FILTER,
    FILTER_HISTORY_MS,
};

use telltale_sources::ble::{BleFleet, BleSource};
use telltale_sources::SourceBoard;
use telltale_sources::TaskHandle;
use telltale_store::Ingest;

/// The demo fleet's extra rules, so the demo shows alerts coming and going.
pub const RULES: &str = r#"
[[rule]]
id = "machine-wear"
device = "*"
device_kind = "machine"
kind = "forecast"                     # a machine's trend reaches one of its limits
horizon_s = 604800                    # within a week
off_delay_s = 3600
severity = "warning"

[[rule]]
id = "machine-vibration"
device = "*"
device_kind = "machine"
metric = "vibration"
kind = "high"
limit = 3.2
deadband = 0.2
on_delay_s = 3
severity = "warning"

[[rule]]
id = "filter-clogged"
device = "filter-04"
metric = "pressure_drop"
kind = "high"
limit = 250.0                         # Pa: change the filter
deadband = 5.0
on_delay_s = 60
severity = "warning"

[[rule]]
id = "machine-hot"
device = "*"
device_kind = "machine"
metric = "temperature"
kind = "high"
limit = 64.5
deadband = 1.0
on_delay_s = 10
severity = "critical"

[[rule]]
id = "freezer-warm"
device = "*"
tags = ["freezer"]                    # every device tagged "freezer"
metric = "temperature"
kind = "high"
limit = -15.0
deadband = 1.0
on_delay_s = 300
severity = "critical"
"#;

/// The running demo: dropping it stops every part of it.
pub struct DemoFleet {
    home: BleSource,
    plant: TaskHandle,
}

/// A fleet history in the C-MAPSS layout (`asset cycle setting1..3 sensor1..21`), as the Upkeep
/// page's fleet panel and `telltale forecast rul` read: for each (asset, life, cycles kept), a
/// unit whose sensors 1–14 rise with a wear that grows towards failure at `life`, each with its
/// own wobble, cut after `kept` cycles. For trying the fleet model without a fleet, and tests.
pub fn wearing_fleet(units: &[(u32, u32, u32)]) -> String {
    let mut text = String::new();
    for &(asset, life, kept) in units {
        for cycle in 1..=kept {
            let wear = ((f64::from(cycle) - f64::from(life)) / 30.0).exp();
            text.push_str(&format!("{asset} {cycle} 0 0 100"));
            for sensor in 1..=21u32 {
                let gain = if sensor <= 14 { f64::from(sensor) } else { 0.0 };
                let wobble = 0.02 * (f64::from(cycle * sensor + asset) * 1.7).sin();
                text.push_str(&format!(" {:.4}", 100.0 + gain * wear + wobble));
            }
            text.push('\n');
        }
    }
    text
}

impl DemoFleet {
    /// `filter_installed_ms`: when the plant's filter was installed (see [`FILTER`]). The plant
    /// goes through mosquitto where it is installed ([`PlantLink::available`]).
    pub fn start(ingest: Ingest, board: SourceBoard, filter_installed_ms: i64) -> Self {
        Self::start_with(ingest, board, filter_installed_ms, PlantLink::available())
    }

    /// As [`DemoFleet::start`], the plant reached through `link`.
    pub fn start_with(
        ingest: Ingest,
        board: SourceBoard,
        filter_installed_ms: i64,
        link: PlantLink,
    ) -> Self {
        let home = telltale_sources::ble::start(
            "demo-home",
            Box::new(DemoRadio::new(home_devices())),
            Self::home_fleet(BleFleet::default()),
            ingest.clone(),
            board.clone(),
        );
        let plant = plant::start(ingest, board, filter_installed_ms, link);
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
