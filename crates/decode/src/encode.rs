//! Encoders of the payloads the decoders read: pvvx, BTHome v2 (plain; sealed is
//! [`crate::seal_bthome_v2`]), RuuviTag RAWv2 and Heart Rate Measurement. They live beside the
//! decoders so the two are tested against each other (`decode(encode(x)) == x`), and serve the
//! demo home, the benches and tests that need real bytes. Pure functions.

/// pvvx custom format (15 bytes, little-endian): MAC reversed, temperature (0.01 °C), humidity
/// (0.01 %), battery mV, battery %, measurement counter, flags.
pub fn pvvx(address: &str, temperature_c: f64, humidity: f64, counter: u8) -> Vec<u8> {
    let mut b: Vec<u8> = address
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap_or(0))
        .rev()
        .collect();
    b.resize(6, 0);
    b.extend_from_slice(&((temperature_c * 100.0).round() as i16).to_le_bytes());
    b.extend_from_slice(&((humidity * 100.0).round().clamp(0.0, 10_000.0) as u16).to_le_bytes());
    b.extend_from_slice(&2_950u16.to_le_bytes());
    b.push(87);
    b.push(counter);
    b.push(0x04);
    b
}

/// BTHome v2, unencrypted: packet id, battery, temperature (0.01 °C), humidity (0.01 %), in the
/// ascending object-id order the specification asks for.
pub fn bthome_v2(packet_id: u8, temperature_c: f64, humidity: f64, battery: u8) -> Vec<u8> {
    let mut b = vec![0x40, 0x00, packet_id, 0x01, battery, 0x02];
    b.extend_from_slice(&((temperature_c * 100.0).round() as i16).to_le_bytes());
    b.push(0x03);
    b.extend_from_slice(&((humidity * 100.0).round().clamp(0.0, 10_000.0) as u16).to_le_bytes());
    b
}

/// RuuviTag data format 5 (RAWv2), big-endian, after the company id.
pub fn ruuvi_rawv2(
    temperature_c: f64,
    humidity: f64,
    pressure_pa: f64,
    battery_v: f64,
    sequence: u16,
    address: &str,
) -> Vec<u8> {
    let mut b = vec![5];
    b.extend_from_slice(&((temperature_c / 0.005).round() as i16).to_be_bytes());
    b.extend_from_slice(&((humidity / 0.0025).round() as u16).to_be_bytes());
    b.extend_from_slice(&((pressure_pa - 50_000.0).round() as u16).to_be_bytes());
    for acc_mg in [12i16, -8, 1_004] {
        b.extend_from_slice(&acc_mg.to_be_bytes());
    }
    let battery = ((battery_v * 1000.0 - 1600.0).round() as u16) & 0x07FF;
    let tx_power = ((4 + 40) / 2) as u16;
    b.extend_from_slice(&((battery << 5) | tx_power).to_be_bytes());
    b.push((sequence / 60) as u8);
    b.extend_from_slice(&sequence.to_be_bytes());
    let mac: Vec<u8> = address
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap_or(0))
        .collect();
    b.extend_from_slice(&mac[..6.min(mac.len())]);
    b.resize(24, 0);
    b
}

/// Heart Rate Measurement (0x2A37): uint8 rate, contact detected, RR intervals in 1/1024 s.
pub fn heart_rate_measurement(bpm: u8, rr_s: &[f64]) -> Vec<u8> {
    let mut b = vec![0x16, bpm];
    for rr in rr_s {
        b.extend_from_slice(&((rr * 1024.0).round() as u16).to_le_bytes());
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decoded, Value};

    fn number(d: &Decoded, metric: &str) -> f64 {
        d.readings
            .iter()
            .find(|r| r.metric == metric)
            .and_then(|r| match r.value {
                Value::Number(v) => Some(v),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{metric} in {d:?}"))
    }

    #[test]
    fn what_is_encoded_decodes_back() {
        let d = crate::bthome_v2(&bthome_v2(7, -18.25, 53.5, 88)).unwrap();
        assert_eq!(
            (
                number(&d, "temperature"),
                number(&d, "humidity"),
                number(&d, "battery")
            ),
            (-18.25, 53.5, 88.0)
        );
        let mac = [0xa4, 0xc1, 0x38, 0x00, 0x00, 0x01];
        let d = crate::xiaomi_atc(&pvvx("A4:C1:38:00:00:01", 22.75, 41.2, 9), mac, None).unwrap();
        assert_eq!(
            (number(&d, "temperature"), number(&d, "humidity")),
            (22.75, 41.2)
        );
        let d = crate::ruuvi(&ruuvi_rawv2(
            10.5,
            76.25,
            101_450.0,
            2.95,
            120,
            "C0:FF:EE:00:00:01",
        ))
        .unwrap();
        assert_eq!(
            (
                number(&d, "temperature"),
                number(&d, "humidity"),
                number(&d, "pressure")
            ),
            (10.5, 76.25, 1014.5)
        );
        let d = crate::gatt_heart_rate(&heart_rate_measurement(67, &[0.875])).unwrap();
        assert_eq!(number(&d, "heart_rate"), 67.0);
    }
}
