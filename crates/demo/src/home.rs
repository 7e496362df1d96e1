//! The simulated home: BLE devices that advertise real payload bytes.

use super::signal::wave;
use std::sync::Arc;
use std::time::Duration;
use telltale_decode::encode::{bthome_v2, heart_rate_measurement, pvvx, ruuvi_rawv2};
use telltale_sources::ble::{BleEvent, BleFleet, KnownDevice, Radio, RadioFuture, RadioState};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Payload {
    /// BTHome v2 thermometer/hygrometer with battery, around `mean_c`.
    BtHome { mean_c: f64 },
    /// RuuviTag RAWv2.
    Ruuvi,
    /// Heart Rate Measurement notifications from a chest strap.
    HeartRate,
    /// A LYWSD03MMC thermometer on pvvx custom firmware (service data 0x181A).
    Pvvx,
    /// A BTHome door sensor that encrypts with [`FRONT_DOOR_BINDKEY`]: heard as "encrypted"
    /// until the user adds it with that key, as with a real one whose key came in its box.
    SealedDoor,
}

/// The demo front door's bindkey, printed in the README as a real sensor's is on its label.
pub const FRONT_DOOR_BINDKEY: &str = "7e1e7a1e5eed0d00c0ffee0ddba11000";

#[derive(Debug, Clone)]
pub struct DemoDevice {
    pub known: KnownDevice,
    pub payload: Payload,
    pub seed: u64,
    /// False for the neighbour's thermometer: heard by the scanner, stored only once the user
    /// adds it.
    pub in_fleet: bool,
}

pub fn home_devices() -> Vec<DemoDevice> {
    let device = |address: &str, name: &str, kind: &str, interval_ms, payload, seed| DemoDevice {
        known: KnownDevice {
            address: address.into(),
            name: name.into(),
            kind: kind.into(),
            site: "Home".into(),
            expected_interval_ms: interval_ms,
            // The demo freezer shows off rules aimed at every device tagged "freezer".
            tags: if name == "Freezer" {
                vec!["freezer".into()]
            } else {
                vec![]
            },
            connect: payload == Payload::HeartRate,
            bindkey: None,
        },
        payload,
        seed,
        in_fleet: true,
    };
    vec![
        device(
            "A4:C1:38:10:20:01",
            "Living room",
            "thermometer",
            2_000,
            Payload::BtHome { mean_c: 21.5 },
            11,
        ),
        device(
            "A4:C1:38:10:20:02",
            "Freezer",
            "thermometer",
            2_000,
            Payload::BtHome { mean_c: -18.0 },
            12,
        ),
        device(
            "C7:3A:6B:11:22:33",
            "Balcony",
            "environment_sensor",
            1_000,
            Payload::Ruuvi,
            13,
        ),
        device(
            "E0:7D:EA:44:55:66",
            "Chest strap",
            "heart_rate_strap",
            1_000,
            Payload::HeartRate,
            14,
        ),
        DemoDevice {
            in_fleet: false,
            ..device(
                "A4:C1:38:55:66:77",
                "Neighbour's thermometer",
                "thermometer",
                3_000,
                Payload::Pvvx,
                15,
            )
        },
        DemoDevice {
            in_fleet: false,
            ..device(
                "3C:2E:F5:D0:0A:11",
                "Front door",
                "door_sensor",
                4_000,
                Payload::SealedDoor,
                16,
            )
        },
    ]
}

/// A radio that hears the simulated home.
pub struct DemoRadio {
    devices: Vec<DemoDevice>,
}

impl DemoRadio {
    pub fn new(devices: Vec<DemoDevice>) -> Self {
        Self { devices }
    }
}

impl Radio for DemoRadio {
    fn listen(
        self: Box<Self>,
        _fleet: watch::Receiver<Arc<BleFleet>>,
        events: mpsc::Sender<BleEvent>,
        state: mpsc::Sender<RadioState>,
        cancel: CancellationToken,
    ) -> RadioFuture {
        Box::pin(async move {
            let _ = state
                .send(RadioState::Scanning(format!(
                    "simulated home: {} devices",
                    self.devices.len()
                )))
                .await;
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            let mut next_due = vec![0i64; self.devices.len()];
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let now = telltale_sources::now_ms();
                for (device, due) in self.devices.iter().zip(next_due.iter_mut()) {
                    if now < *due {
                        continue;
                    }
                    *due = now + device.known.expected_interval_ms;
                    if events.send(event(device, now)).await.is_err() {
                        return;
                    }
                }
            }
        })
    }
}

/// What a device transmits at `t_ms`.
pub fn event(d: &DemoDevice, t_ms: i64) -> BleEvent {
    let address = d.known.address.clone();
    let rssi = Some((-62.0 + 6.0 * super::signal::noise(d.seed + 1, t_ms)) as i16);
    match d.payload {
        Payload::BtHome { mean_c } => BleEvent::Advertisement {
            address,
            name: Some("ATC_102001".into()),
            rssi,
            service_data: vec![(
                0xFCD2,
                bthome_v2(
                    (t_ms / 2_000) as u8,
                    wave(d.seed, t_ms, mean_c, 1.2, 900.0, 0.05),
                    wave(d.seed + 2, t_ms, 48.0, 6.0, 1_800.0, 0.3),
                    93,
                ),
            )],
            manufacturer_data: vec![],
            services: vec![],
        },
        Payload::Ruuvi => BleEvent::Advertisement {
            address: address.clone(),
            name: Some("Ruuvi 2233".into()),
            rssi,
            service_data: vec![],
            manufacturer_data: vec![(
                0x0499,
                ruuvi_rawv2(
                    wave(d.seed, t_ms, 8.0, 3.0, 1_200.0, 0.05),
                    wave(d.seed + 3, t_ms, 71.0, 8.0, 2_400.0, 0.4),
                    wave(d.seed + 4, t_ms, 101_325.0, 250.0, 3_600.0, 5.0),
                    2.95,
                    (t_ms / 1_000) as u16,
                    &address,
                ),
            )],
            services: vec![],
        },
        Payload::Pvvx => BleEvent::Advertisement {
            address: address.clone(),
            name: Some("ATC_556677".into()),
            rssi: rssi.map(|r| r - 20),
            service_data: vec![(
                0x181A,
                pvvx(
                    &address,
                    wave(d.seed, t_ms, 19.0, 1.5, 1_500.0, 0.05),
                    wave(d.seed + 2, t_ms, 55.0, 5.0, 2_000.0, 0.3),
                    (t_ms / 3_000) as u8,
                ),
            )],
            manufacturer_data: vec![],
            services: vec![],
        },
        Payload::SealedDoor => {
            // Open for 20 s every 3 minutes; the counter follows the clock, so it keeps going
            // up across restarts as a real device's does.
            let open = t_ms.rem_euclid(180_000) < 20_000;
            let objects = [0x01, 97, 0x1A, u8::from(open)];
            let key = telltale_model::ble::parse_bindkey(FRONT_DOOR_BINDKEY)
                .expect("the demo key is 32 hex digits");
            BleEvent::Advertisement {
                address: address.clone(),
                name: Some("SBDW-002C".into()),
                rssi: rssi.map(|r| r - 8),
                service_data: vec![(
                    0xFCD2,
                    telltale_decode::seal_bthome_v2(
                        &objects,
                        mac_of(&address),
                        &key,
                        (t_ms / 1_000) as u32,
                    ),
                )],
                manufacturer_data: vec![],
                services: vec![],
            }
        }
        Payload::HeartRate => {
            let bpm = wave(d.seed, t_ms, 74.0, 12.0, 300.0, 2.0).round();
            let rr_s = 60.0 / bpm;
            BleEvent::Notification {
                address,
                characteristic: 0x2A37,
                value: heart_rate_measurement(bpm as u8, &[rr_s]),
            }
        }
    }
}

/// An address's bytes in display order (`A4:C1:..` is `[0xa4, 0xc1, ..]`).
fn mac_of(address: &str) -> [u8; 6] {
    let mut mac = [0u8; 6];
    for (byte, hex) in mac.iter_mut().zip(address.split(':')) {
        *byte = u8::from_str_radix(hex, 16).unwrap_or(0);
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_sources::ble::readings_of;

    fn value(readings: &[telltale_model::Reading], metric: &str) -> f64 {
        readings
            .iter()
            .find(|r| r.metric == metric)
            .unwrap_or_else(|| panic!("no {metric} in {readings:?}"))
            .value
    }

    /// The simulated bytes must decode, through the production decoders, to the values the
    /// simulation meant: otherwise the demo would be showing the encoder's bugs.
    #[test]
    fn every_demo_device_decodes_to_what_it_simulated() {
        let t = 1_700_000_123_000;
        for d in home_devices() {
            if d.payload == Payload::SealedDoor {
                continue;
            }
            let readings = readings_of(&event(&d, t), t).expect("demo payload decodes");
            match d.payload {
                Payload::BtHome { mean_c } => {
                    let want = wave(d.seed, t, mean_c, 1.2, 900.0, 0.05);
                    assert!((value(&readings, "temperature") - want).abs() <= 0.005 + 1e-9);
                    assert_eq!(value(&readings, "battery"), 93.0);
                    assert!((0.0..=100.0).contains(&value(&readings, "humidity")));
                }
                Payload::Ruuvi => {
                    let want = wave(d.seed, t, 8.0, 3.0, 1_200.0, 0.05);
                    assert!((value(&readings, "temperature") - want).abs() <= 0.0025 + 1e-9);
                    assert!((value(&readings, "voltage") - 2.95).abs() < 1e-9);
                }
                Payload::Pvvx => {
                    let want = wave(d.seed, t, 19.0, 1.5, 1_500.0, 0.05);
                    assert!((value(&readings, "temperature") - want).abs() <= 0.005 + 1e-9);
                    assert_eq!(value(&readings, "battery"), 87.0);
                }
                Payload::SealedDoor => unreachable!("decoded with its key below"),
                Payload::HeartRate => {
                    let bpm = value(&readings, "heart_rate");
                    assert!((50.0..=100.0).contains(&bpm), "{bpm}");
                    let rr = value(&readings, "rr_interval");
                    assert!((rr - 60.0 / bpm).abs() < 1.0 / 1024.0, "{rr} vs {bpm}");
                }
            }
        }
    }

    /// The front door is encrypted: nothing without its key, its state and a fresh counter
    /// with it.
    #[test]
    fn the_front_door_opens_only_with_its_key() {
        let door = home_devices()
            .into_iter()
            .find(|d| d.payload == Payload::SealedDoor)
            .unwrap();
        let key = telltale_model::ble::parse_bindkey(FRONT_DOOR_BINDKEY).unwrap();
        let decode = |t_ms: i64, key: Option<&[u8; 16]>| {
            let BleEvent::Advertisement {
                address,
                service_data,
                ..
            } = event(&door, t_ms)
            else {
                panic!("the door advertises");
            };
            telltale_decode::advertisement(&telltale_decode::Advertisement {
                address: mac_of(&address),
                local_name: None,
                service_data: &service_data,
                manufacturer_data: &[],
                bindkey: key,
            })
        };
        assert!(matches!(
            decode(1_000, None),
            Err(telltale_decode::DecodeError::Encrypted(_))
        ));
        // 1_700_000_100_000 is a multiple of the 3-minute cycle.
        let shut = decode(1_700_000_160_000, Some(&key)).unwrap();
        let open = decode(1_700_000_285_000, Some(&key)).unwrap();
        let door_of = |d: &telltale_decode::Decoded| {
            d.readings
                .iter()
                .find(|r| r.metric == "door")
                .map(|r| r.value.clone())
        };
        assert_eq!(door_of(&shut), Some(telltale_decode::Value::Bool(false)));
        assert_eq!(door_of(&open), Some(telltale_decode::Value::Bool(true)));
        assert!(open.replay_counter > shut.replay_counter);
    }
}
