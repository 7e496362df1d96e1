//! Standard GATT characteristic values, as the GATT Specification Supplement defines them.
//! All little-endian.

use crate::ieee11073::{float32, MderFloat};
use crate::{DecodeError, Decoded, DecodedReading, Format, Result};

const HEART_RATE: &str = "Heart Rate Measurement (0x2A37)";
const TEMPERATURE_MEASUREMENT: &str = "Temperature Measurement (0x2A1C)";

/// Decodes a characteristic value by its 16-bit UUID: 0x2A37, 0x2A1C, 0x2A19, 0x2A6E, 0x2A6F
/// or 0x2A6D.
pub fn gatt(characteristic: u16, value: &[u8]) -> Result<Decoded> {
    match characteristic {
        0x2a37 => gatt_heart_rate(value),
        0x2a1c => gatt_temperature_measurement(value),
        0x2a19 => gatt_battery_level(value),
        0x2a6e => gatt_temperature(value),
        0x2a6f => gatt_humidity(value),
        0x2a6d => gatt_pressure(value),
        other => Err(DecodeError::UnsupportedCharacteristic(other)),
    }
}

/// Heart Rate Measurement (0x2A37): `heart_rate` [bpm]; `sensor_contact` when the sensor
/// supports contact detection; `energy_expended` [kJ] when present; one `rr_interval` [s] per
/// RR interval, in order.
///
/// Bytes after the last field the flags announce are ignored when no RR intervals are present,
/// since the reserved flag bits may one day announce new trailing fields.
pub fn gatt_heart_rate(value: &[u8]) -> Result<Decoded> {
    let Some((&flags, _)) = value.split_first() else {
        return Err(DecodeError::Truncated {
            what: HEART_RATE,
            needed: 2,
            got: 0,
        });
    };
    let wide_heart_rate = flags & 0x01 != 0;
    let contact_detected = flags & 0x02 != 0;
    let contact_supported = flags & 0x04 != 0;
    let energy_present = flags & 0x08 != 0;
    let rr_present = flags & 0x10 != 0;

    let needed = 1
        + if wide_heart_rate { 2 } else { 1 }
        + if energy_present { 2 } else { 0 }
        + if rr_present { 2 } else { 0 };
    if value.len() < needed {
        return Err(DecodeError::Truncated {
            what: HEART_RATE,
            needed,
            got: value.len(),
        });
    }

    let mut decoded = Decoded::new(Format::GattHeartRate);
    let readings = &mut decoded.readings;
    let u16_at = |at: usize| u16::from_le_bytes([value[at], value[at + 1]]);
    let mut at = 1;
    let heart_rate = if wide_heart_rate {
        at += 2;
        u16_at(1)
    } else {
        at += 1;
        u16::from(value[1])
    };
    readings.push(DecodedReading::number(
        "heart_rate",
        f64::from(heart_rate),
        Some("bpm"),
    ));
    // Bit 1 alone means nothing: without the "supported" bit there is no contact information.
    if contact_supported {
        readings.push(DecodedReading::boolean("sensor_contact", contact_detected));
    }
    if energy_present {
        readings.push(DecodedReading::number(
            "energy_expended",
            f64::from(u16_at(at)),
            Some("kJ"),
        ));
        at += 2;
    }
    if rr_present {
        let intervals = &value[at..];
        if !intervals.len().is_multiple_of(2) {
            return Err(DecodeError::Invalid {
                what: HEART_RATE,
                detail: format!(
                    "RR intervals take 2 bytes each, {} bytes left",
                    intervals.len()
                ),
            });
        }
        for pair in intervals.chunks_exact(2) {
            let raw = u16::from_le_bytes([pair[0], pair[1]]);
            readings.push(DecodedReading::number(
                "rr_interval",
                f64::from(raw) / 1024.0,
                Some("s"),
            ));
        }
    }
    Ok(decoded)
}

/// Temperature Measurement (0x2A1C, Health Thermometer): `temperature` in °C or °F as the
/// flags say; `timestamp` (seconds since the Unix epoch, the device's clock read as UTC) when
/// present and a real date; `temperature_type` (`body`, `ear`...) when present and assigned.
///
/// A temperature that is NaN, NRes, ±infinity or reserved is left out.
pub fn gatt_temperature_measurement(value: &[u8]) -> Result<Decoded> {
    let flags = value.first().copied().unwrap_or(0);
    let fahrenheit = flags & 0x01 != 0;
    let timestamp_present = flags & 0x02 != 0;
    let type_present = flags & 0x04 != 0;
    let needed = 5 + if timestamp_present { 7 } else { 0 } + if type_present { 1 } else { 0 };
    if value.len() < needed {
        return Err(DecodeError::Truncated {
            what: TEMPERATURE_MEASUREMENT,
            needed,
            got: value.len(),
        });
    }

    let mut decoded = Decoded::new(Format::GattTemperatureMeasurement);
    let readings = &mut decoded.readings;
    let raw = u32::from_le_bytes([value[1], value[2], value[3], value[4]]);
    if let MderFloat::Finite(temperature) = float32(raw) {
        let unit = if fahrenheit { "°F" } else { "°C" };
        readings.push(DecodedReading::number(
            "temperature",
            temperature,
            Some(unit),
        ));
    }
    let mut at = 5;
    if timestamp_present {
        if let Some(seconds) = date_time_epoch_seconds(&value[at..at + 7]) {
            readings.push(DecodedReading::number("timestamp", seconds as f64, None));
        }
        at += 7;
    }
    if type_present {
        if let Some(name) = temperature_type(value[at]) {
            readings.push(DecodedReading::text("temperature_type", name.to_owned()));
        }
    }
    Ok(decoded)
}

/// Battery Level (0x2A19): `battery` [%]. Values above 100 are reserved and rejected.
pub fn gatt_battery_level(value: &[u8]) -> Result<Decoded> {
    let [level] = exact::<1>(value, "Battery Level (0x2A19)")?;
    if level > 100 {
        return Err(DecodeError::Invalid {
            what: "Battery Level (0x2A19)",
            detail: format!("{level} % is above 100 (reserved)"),
        });
    }
    Ok(single(
        Format::GattBatteryLevel,
        DecodedReading::number("battery", f64::from(level), Some("%")),
    ))
}

/// Temperature (0x2A6E): `temperature` [°C]. 0x8000 ("value is not known") gives no reading.
pub fn gatt_temperature(value: &[u8]) -> Result<Decoded> {
    const WHAT: &str = "Temperature (0x2A6E)";
    let raw = i16::from_le_bytes(exact::<2>(value, WHAT)?);
    if raw == i16::MIN {
        return Ok(Decoded::new(Format::GattTemperature));
    }
    if raw < -27315 {
        return Err(DecodeError::Invalid {
            what: WHAT,
            detail: format!("{} °C is below absolute zero", f64::from(raw) / 100.0),
        });
    }
    Ok(single(
        Format::GattTemperature,
        DecodedReading::number("temperature", f64::from(raw) / 100.0, Some("°C")),
    ))
}

/// Humidity (0x2A6F): `humidity` [%]. 0xFFFF ("value is not known") gives no reading.
pub fn gatt_humidity(value: &[u8]) -> Result<Decoded> {
    const WHAT: &str = "Humidity (0x2A6F)";
    let raw = u16::from_le_bytes(exact::<2>(value, WHAT)?);
    if raw == u16::MAX {
        return Ok(Decoded::new(Format::GattHumidity));
    }
    if raw > 10_000 {
        return Err(DecodeError::Invalid {
            what: WHAT,
            detail: format!("{} % is above 100", f64::from(raw) / 100.0),
        });
    }
    Ok(single(
        Format::GattHumidity,
        DecodedReading::number("humidity", f64::from(raw) / 100.0, Some("%")),
    ))
}

/// Pressure (0x2A6D): `pressure` [Pa], sent in tenths of a pascal.
pub fn gatt_pressure(value: &[u8]) -> Result<Decoded> {
    let raw = u32::from_le_bytes(exact::<4>(value, "Pressure (0x2A6D)")?);
    Ok(single(
        Format::GattPressure,
        DecodedReading::number("pressure", f64::from(raw) / 10.0, Some("Pa")),
    ))
}

fn single(format: Format, reading: DecodedReading) -> Decoded {
    let mut decoded = Decoded::new(format);
    decoded.readings.push(reading);
    decoded
}

/// Fixed-size characteristics are strict: extra bytes mean a value we do not understand.
fn exact<const N: usize>(value: &[u8], what: &'static str) -> Result<[u8; N]> {
    value.try_into().map_err(|_| DecodeError::WrongLength {
        what,
        expected: N,
        got: value.len(),
    })
}

/// A GATT Date Time (year u16, month, day, hours, minutes, seconds) as seconds since the Unix
/// epoch, or `None` when a field is 0 ("not known") or out of range.
fn date_time_epoch_seconds(bytes: &[u8]) -> Option<i64> {
    let &[year_lo, year_hi, month, day, hours, minutes, seconds] = bytes else {
        return None;
    };
    let year = i64::from(u16::from_le_bytes([year_lo, year_hi]));
    let valid = (1582..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hours < 24
        && minutes < 60
        && seconds < 60;
    if !valid {
        return None;
    }
    let days = days_from_civil(year, i64::from(month), i64::from(day));
    Some(days * 86_400 + i64::from(hours) * 3_600 + i64::from(minutes) * 60 + i64::from(seconds))
}

fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn temperature_type(code: u8) -> Option<&'static str> {
    let name = match code {
        1 => "armpit",
        2 => "body",
        3 => "ear",
        4 => "finger",
        5 => "gastrointestinal_tract",
        6 => "mouth",
        7 => "rectum",
        8 => "toe",
        9 => "tympanum",
        _ => return None,
    };
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_time_counts_from_the_unix_epoch() {
        assert_eq!(
            date_time_epoch_seconds(&[0xb2, 0x07, 1, 1, 0, 0, 0]),
            Some(0)
        );
        // 2023-05-14 19:41:17 UTC
        assert_eq!(
            date_time_epoch_seconds(&[0xe7, 0x07, 5, 14, 19, 41, 17]),
            Some(1_684_093_277)
        );
        assert_eq!(
            date_time_epoch_seconds(&[0xe8, 0x07, 2, 29, 12, 0, 0]),
            Some(1_709_208_000)
        );
    }

    #[test]
    fn unknown_or_impossible_dates_are_not_timestamps() {
        assert_eq!(date_time_epoch_seconds(&[0, 0, 1, 1, 0, 0, 0]), None);
        assert_eq!(date_time_epoch_seconds(&[0xe7, 0x07, 0, 1, 0, 0, 0]), None);
        assert_eq!(date_time_epoch_seconds(&[0xe7, 0x07, 2, 29, 0, 0, 0]), None);
        assert_eq!(date_time_epoch_seconds(&[0xe7, 0x07, 1, 1, 24, 0, 0]), None);
    }
}
