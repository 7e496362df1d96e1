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

pub use home::{home_devices, DemoRadio};
pub use plant::{find_mosquitto, plant_machines, LocalBroker, Machine};

use crate::board::SourceBoard;
use crate::task::TaskHandle;
use telltale_store::Ingest;

/// The running demo: dropping it stops every part of it.
pub struct DemoFleet {
    tasks: Vec<TaskHandle>,
}

impl DemoFleet {
    pub fn start(ingest: Ingest, board: SourceBoard) -> Self {
        let home = crate::ble::start(
            "demo-home",
            Box::new(DemoRadio::new(home_devices())),
            home_devices().into_iter().map(|d| d.known).collect(),
            ingest.clone(),
            board.clone(),
        );
        let plant = plant::start(ingest, board);
        Self {
            tasks: vec![home, plant],
        }
    }

    /// Stops the fleet and waits until its last readings are handed to the store.
    pub async fn stop(self) {
        for t in self.tasks {
            t.stop().await;
        }
    }
}
