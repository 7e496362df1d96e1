//! RuuviTag manufacturer data (company 0x0499), data formats 5 (RAWv2) and 3 (RAWv1), per
//! docs.ruuvi.com. Both are big-endian, unlike most BLE payloads.

use crate::{DecodeError, Decoded, DecodedReading, Format, Result};

const RAWV2_LEN: usize = 24;
const RAWV1_LEN: usize = 14;
const MILLI_G: Option<&str> = Some("mG");

/// Decodes RuuviTag manufacturer data: the bytes after the 2-byte company id, starting with
/// the data-format byte.
///
/// Fields holding the format's "not available" value are left out rather than reported.
/// Bytes past the format's length are ignored (as ruuvitag-sensor does); the MAC address that
/// format 5 carries is not a reading and is not returned.
pub fn ruuvi(manufacturer_data: &[u8]) -> Result<Decoded> {
    match manufacturer_data.first() {
        None => Err(DecodeError::Truncated {
            what: "Ruuvi manufacturer data",
            needed: 1,
            got: 0,
        }),
        Some(5) => rawv2(manufacturer_data),
        Some(3) => rawv1(manufacturer_data),
        Some(&other) => Err(DecodeError::UnsupportedRuuviFormat(other)),
    }
}

fn rawv2(data: &[u8]) -> Result<Decoded> {
    let data = fixed(data, RAWV2_LEN, "Ruuvi data format 5")?;
    let i16_at = |at: usize| i16::from_be_bytes([data[at], data[at + 1]]);
    let u16_at = |at: usize| u16::from_be_bytes([data[at], data[at + 1]]);
    let mut decoded = Decoded::new(Format::RuuviRawV2);
    let readings = &mut decoded.readings;

    let temperature = i16_at(1);
    if temperature != i16::MIN {
        readings.push(DecodedReading::number(
            "temperature",
            f64::from(temperature) / 200.0,
            Some("°C"),
        ));
    }
    let humidity = u16_at(3);
    if humidity != u16::MAX {
        readings.push(DecodedReading::number(
            "humidity",
            f64::from(humidity) / 400.0,
            Some("%"),
        ));
    }
    let pressure = u16_at(5);
    if pressure != u16::MAX {
        readings.push(pressure_reading(pressure));
    }
    for (metric, at) in [
        ("acceleration_x", 7),
        ("acceleration_y", 9),
        ("acceleration_z", 11),
    ] {
        let acceleration = i16_at(at);
        if acceleration != i16::MIN {
            readings.push(DecodedReading::number(
                metric,
                f64::from(acceleration),
                MILLI_G,
            ));
        }
    }
    // 11 bits of battery voltage above 1.6 V in mV, then 5 bits of TX power above -40 dBm in
    // 2 dBm steps; all ones in either field means "not available".
    let power_info = u16_at(13);
    let battery = power_info >> 5;
    if battery != 0x7ff {
        readings.push(DecodedReading::number(
            "voltage",
            f64::from(battery + 1600) / 1000.0,
            Some("V"),
        ));
    }
    let tx_power = power_info & 0x1f;
    if tx_power != 0x1f {
        readings.push(DecodedReading::number(
            "tx_power",
            f64::from(tx_power) * 2.0 - 40.0,
            Some("dBm"),
        ));
    }
    let movement_counter = data[15];
    if movement_counter != u8::MAX {
        readings.push(DecodedReading::number(
            "movement_counter",
            f64::from(movement_counter),
            None,
        ));
    }
    let sequence = u16_at(16);
    if sequence != u16::MAX {
        readings.push(DecodedReading::number(
            "measurement_sequence",
            f64::from(sequence),
            None,
        ));
    }
    Ok(decoded)
}

/// Format 3 has no "not available" values: every field is always reported.
fn rawv1(data: &[u8]) -> Result<Decoded> {
    let data = fixed(data, RAWV1_LEN, "Ruuvi data format 3")?;
    let i16_at = |at: usize| i16::from_be_bytes([data[at], data[at + 1]]);
    let u16_at = |at: usize| u16::from_be_bytes([data[at], data[at + 1]]);
    let mut decoded = Decoded::new(Format::RuuviRawV1);
    let readings = &mut decoded.readings;

    // Sign and magnitude: bit 7 of the integer byte is the sign of the whole value, and the
    // next byte adds hundredths (0..=99 in the spec; larger values are added as sent, as the
    // reference does).
    let integer = data[2];
    let magnitude = f64::from(integer & 0x7f) + f64::from(data[3]) / 100.0;
    let temperature = if integer & 0x80 != 0 {
        -magnitude
    } else {
        magnitude
    };
    readings.push(DecodedReading::number(
        "temperature",
        temperature,
        Some("°C"),
    ));
    readings.push(DecodedReading::number(
        "humidity",
        f64::from(data[1]) / 2.0,
        Some("%"),
    ));
    readings.push(pressure_reading(u16_at(4)));
    for (metric, at) in [
        ("acceleration_x", 6),
        ("acceleration_y", 8),
        ("acceleration_z", 10),
    ] {
        readings.push(DecodedReading::number(
            metric,
            f64::from(i16_at(at)),
            MILLI_G,
        ));
    }
    readings.push(DecodedReading::number(
        "voltage",
        f64::from(u16_at(12)) / 1000.0,
        Some("V"),
    ));
    Ok(decoded)
}

/// Both formats send pressure in Pa above 50 000 Pa.
fn pressure_reading(raw: u16) -> DecodedReading {
    DecodedReading::number("pressure", (f64::from(raw) + 50_000.0) / 100.0, Some("hPa"))
}

fn fixed<'a>(data: &'a [u8], len: usize, what: &'static str) -> Result<&'a [u8]> {
    data.get(..len).ok_or(DecodeError::Truncated {
        what,
        needed: len,
        got: data.len(),
    })
}
