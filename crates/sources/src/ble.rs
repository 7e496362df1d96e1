//! Bluetooth LE: what a radio hears, decoded into readings.
//!
//! A [`Radio`] is anything that hears BLE: btleplug on a real adapter, or the demo home. It only
//! reports raw advertisements and GATT notifications; decoding, device bookkeeping and storage are
//! done here, once, for every radio.

use crate::board::SourceBoard;
use crate::task::TaskHandle;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use telltale_decode::{Decoded, Value};
use telltale_model::{Device, DeviceId, Quality, Reading, SourceState, Transport};
use telltale_store::Ingest;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What a radio hears.
#[derive(Debug, Clone, PartialEq)]
pub enum BleEvent {
    /// A passive advertisement. Payloads are the bytes after their UUID or company id.
    Advertisement {
        address: String,
        rssi: Option<i16>,
        /// (16-bit service UUID, data)
        service_data: Vec<(u16, Vec<u8>)>,
        /// (company id, data)
        manufacturer_data: Vec<(u16, Vec<u8>)>,
    },
    /// A GATT characteristic value pushed by a connected device.
    Notification {
        address: String,
        characteristic: u16,
        value: Vec<u8>,
    },
}

/// The radio's state, as the UI shows it ("Bluetooth unavailable" rather than a hang).
#[derive(Debug, Clone, PartialEq)]
pub enum RadioState {
    Scanning(String),
    Unavailable(String),
}

pub type RadioFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Something that hears BLE devices: a real adapter behind btleplug, or a simulation.
pub trait Radio: Send + 'static {
    /// Streams events into `events` and state changes into `state` until `cancel` fires.
    fn listen(
        self: Box<Self>,
        events: mpsc::Sender<BleEvent>,
        state: mpsc::Sender<RadioState>,
        cancel: CancellationToken,
    ) -> RadioFuture;
}

/// A device the user added (or the demo ships), keyed by its address.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownDevice {
    pub address: String,
    pub name: String,
    pub kind: String,
    pub site: String,
    pub expected_interval_ms: i64,
    pub tags: Vec<String>,
}

/// Decodes one event into readings stamped `now_ms`. Unknown formats and malformed payloads are
/// errors for the caller to count; they never stop the stream.
pub fn readings_of(event: &BleEvent, now_ms: i64) -> Result<Vec<Reading>, String> {
    let (address, decoded, rssi) = match event {
        BleEvent::Advertisement {
            address,
            rssi,
            service_data,
            manufacturer_data,
        } => (
            address,
            decode_advertisement(service_data, manufacturer_data)?,
            *rssi,
        ),
        BleEvent::Notification {
            address,
            characteristic,
            value,
        } => (
            address,
            telltale_decode::gatt(*characteristic, value).map_err(|e| e.to_string())?,
            None,
        ),
    };
    let device = device_id(address);
    let mut out: Vec<Reading> = decoded
        .readings
        .iter()
        .filter_map(|r| {
            let value = match &r.value {
                Value::Number(v) => *v,
                Value::Bool(b) => f64::from(u8::from(*b)),
                // Events (button presses) are not series; the alert engine will take them.
                Value::Event(_) | Value::Text(_) => return None,
            };
            Some(Reading {
                device: device.clone(),
                metric: r.metric.clone(),
                unit: r.unit.map(str::to_owned),
                ts_ms: now_ms,
                value,
                quality: Quality::Good,
            })
        })
        .collect();
    dedupe_same_instant(&mut out);
    if let Some(rssi) = rssi {
        out.push(Reading {
            device,
            metric: "rssi".into(),
            unit: Some("dBm".into()),
            ts_ms: now_ms,
            value: f64::from(rssi),
            quality: Quality::Good,
        });
    }
    Ok(out)
}

/// Several RR intervals in one notification share the receipt instant; a series holds one value
/// per ms, so later ones move forward a millisecond each instead of being dropped as duplicates.
fn dedupe_same_instant(readings: &mut [Reading]) {
    let mut last: HashMap<String, i64> = HashMap::new();
    for r in readings.iter_mut() {
        if let Some(prev) = last.get(&r.metric) {
            if r.ts_ms <= *prev {
                r.ts_ms = prev + 1;
            }
        }
        last.insert(r.metric.clone(), r.ts_ms);
    }
}

/// Detects the format from what is in the advertisement, as a scanner must.
pub fn decode_advertisement(
    service_data: &[(u16, Vec<u8>)],
    manufacturer_data: &[(u16, Vec<u8>)],
) -> Result<Decoded, String> {
    const BTHOME: u16 = 0xFCD2;
    const RUUVI: u16 = 0x0499;
    if let Some((_, data)) = service_data.iter().find(|(uuid, _)| *uuid == BTHOME) {
        return telltale_decode::bthome_v2(data).map_err(|e| e.to_string());
    }
    if let Some((_, data)) = manufacturer_data.iter().find(|(id, _)| *id == RUUVI) {
        return telltale_decode::ruuvi(data).map_err(|e| e.to_string());
    }
    Err("no known format in this advertisement".into())
}

pub fn device_id(address: &str) -> DeviceId {
    DeviceId::new(format!("ble:{}", address.to_ascii_uppercase()))
}

/// Runs a radio and stores what it hears from known devices.
pub fn start(
    id: &str,
    radio: Box<dyn Radio>,
    known: Vec<KnownDevice>,
    ingest: Ingest,
    board: SourceBoard,
) -> TaskHandle {
    let id = id.to_owned();
    TaskHandle::spawn(format!("ble:{id}"), move |cancel| async move {
        board.set(&id, Transport::Ble, SourceState::Starting, "starting radio");
        for k in &known {
            let device = Device {
                id: device_id(&k.address),
                name: k.name.clone(),
                kind: k.kind.clone(),
                transport: Transport::Ble,
                site: k.site.clone(),
                expected_interval_ms: k.expected_interval_ms,
                tags: k.tags.clone(),
            };
            if let Err(e) = ingest.register(device).await {
                board.set(&id, Transport::Ble, SourceState::Failed, e.to_string());
                return;
            }
        }
        let known: HashMap<DeviceId, KnownDevice> = known
            .into_iter()
            .map(|k| (device_id(&k.address), k))
            .collect();
        let (events_tx, mut events) = mpsc::channel(256);
        let (state_tx, mut states) = mpsc::channel(8);
        let radio_task = tokio::spawn(radio.listen(events_tx, state_tx, cancel.clone()));
        let mut rejected: u64 = 0;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                Some(state) = states.recv() => match state {
                    RadioState::Scanning(detail) => board.set(&id, Transport::Ble, SourceState::Connected, detail),
                    RadioState::Unavailable(detail) => board.set(&id, Transport::Ble, SourceState::Failed, detail),
                },
                event = events.recv() => {
                    let Some(event) = event else { break };
                    let address = match &event {
                        BleEvent::Advertisement { address, .. } | BleEvent::Notification { address, .. } => address,
                    };
                    if !known.contains_key(&device_id(address)) {
                        continue;
                    }
                    match readings_of(&event, crate::now_ms()) {
                        Ok(readings) => {
                            if let Err(e) = ingest.write(readings).await {
                                board.set(&id, Transport::Ble, SourceState::Failed, e.to_string());
                                break;
                            }
                        }
                        Err(reason) => {
                            rejected += 1;
                            tracing::debug!(%address, %reason, rejected, "undecodable BLE event");
                        }
                    }
                }
            }
        }
        let _ = radio_task.await;
        board.set(&id, Transport::Ble, SourceState::Stopped, "stopped");
    })
}
