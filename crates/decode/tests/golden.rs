//! Golden tests: every vector in /work/shared/vectors/{bthome,ruuvi,gatt}.json is decoded and
//! compared with what the reference implementations produced (see the vectors' README).
//!
//! Deliberate differences from the references, applied here as translations, not skips:
//! - metric names: BTHome binary 0x15 is `battery_low` (not `battery`), 0x0F `generic_boolean`
//!   (HA says `generic`); one metric never mixes units, so `distance_mm`/`distance_m`,
//!   `mass_kg`/`mass_lb`, `volume_ml`; vector keys' `_1`, `_2` postfixes are dropped;
//! - units: BTHome pressure is `hPa` (bthome-ble says `mbar`, the same unit); Ruuvi battery is
//!   `voltage` in V (the reference gives mV); Ruuvi `acceleration` (|a|), `mac` and `rssi` are
//!   not readings and are not produced;
//! - Ruuvi "not available" values follow the spec (movement 255, sequence 65535 are left out)
//!   where `spec_vs_reference` records that the reference does not;
//! - a reference that "produced no value" (`expect_error`) matches an `Err` or a decode with no
//!   readings;
//! - BTHome command (0x3B) arguments are not reported, only the command;
//! - Xiaomi: `expected` (atc-ble, xiaomi-ble) is authoritative over `expected_fields`
//!   (atc-mi-interface, which misreads encrypted atc1441 temperatures from 24 °C); the
//!   `voltage` xiaomi-ble derives from a MiBeacon battery percentage is not transmitted and not
//!   produced; the notes of xiaomi_atc.json say how vectors were made, so they excuse nothing.

mod common;

use common::{close, hex, load, tolerance, Outcome, Tally};
use serde_json::Value as Json;
use telltale_decode::ieee11073::{float32, sfloat16, MderFloat};
use telltale_decode::{
    advertisement, bthome_v2, bthome_v2_with_key, gatt, gatt_battery_level, gatt_heart_rate,
    gatt_humidity, gatt_pressure, gatt_temperature, gatt_temperature_measurement, ruuvi,
    xiaomi_atc, xiaomi_mibeacon, Advertisement, Decoded, DecodedReading, Format, Result, Value,
};

/// One reading as a vector describes it, already translated to our names and units.
#[derive(Debug)]
struct Expected {
    metric: String,
    unit: Option<String>,
    value: ExpectedValue,
    steps: Option<i64>,
}

#[derive(Debug)]
enum ExpectedValue {
    Number { value: f64, tolerance: f64 },
    Bool(bool),
    Event(String),
    Text(String),
}

impl Expected {
    fn number(metric: &str, unit: Option<&str>, json: &Json) -> Result2<Self> {
        let value = json
            .as_f64()
            .ok_or_else(|| format!("{metric}: expected a number, found {json}"))?;
        Ok(Expected {
            metric: metric.to_owned(),
            unit: unit.map(str::to_owned),
            value: ExpectedValue::Number {
                value,
                tolerance: tolerance(json),
            },
            steps: None,
        })
    }

    fn other(metric: &str, unit: Option<&str>, value: ExpectedValue) -> Self {
        Expected {
            metric: metric.to_owned(),
            unit: unit.map(str::to_owned),
            value,
            steps: None,
        }
    }
}

type Result2<T> = std::result::Result<T, String>;

fn matches(ours: &DecodedReading, expected: &Expected) -> bool {
    let value_matches = match (&ours.value, &expected.value) {
        (Value::Number(actual), ExpectedValue::Number { value, tolerance }) => {
            close(*actual, *value, *tolerance)
        }
        (Value::Bool(actual), ExpectedValue::Bool(value)) => actual == value,
        (Value::Event(actual), ExpectedValue::Event(value)) => actual == value,
        (Value::Text(actual), ExpectedValue::Text(value)) => actual == value,
        _ => false,
    };
    value_matches
        && ours.metric == expected.metric
        && ours.unit == expected.unit.as_deref()
        && ours.steps == expected.steps
}

/// Our readings must be exactly the expected ones, in order.
fn compare(decoded: &Decoded, expected: &[Expected]) -> Result2<()> {
    let agree = decoded.readings.len() == expected.len()
        && decoded
            .readings
            .iter()
            .zip(expected)
            .all(|(ours, exp)| matches(ours, exp));
    if agree {
        Ok(())
    } else {
        Err(format!(
            "readings differ\n    ours:     {:?}\n    expected: {:?}",
            decoded.readings, expected
        ))
    }
}

/// The rule for `expect_error`: the reference produced no value.
fn expect_nothing(result: Result<Decoded>) -> Result2<Outcome> {
    match result {
        Err(_) => Ok(Outcome::ErrorAgreed),
        Ok(decoded) if decoded.readings.is_empty() => Ok(Outcome::ErrorAgreed),
        Ok(decoded) => Err(format!(
            "the reference produced nothing, we decoded {:?}",
            decoded.readings
        )),
    }
}

fn expects_error(vector: &Json) -> bool {
    vector["expect_error"].as_bool() == Some(true)
}

fn str_field<'a>(vector: &'a Json, key: &str) -> &'a str {
    vector[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector {} has no string {key}", vector["name"]))
}

// ---------------------------------------------------------------------------------------------
// BTHome

#[test]
fn bthome_golden_vectors() {
    let vectors = load("bthome.json");
    let vectors = vectors.as_array().expect("bthome.json is a list");
    let mut tally = Tally::default();
    for vector in vectors {
        tally.record(vector, check_bthome(vector));
    }
    // The development subset has 206 vectors; the full set has more.
    tally.finish("bthome.json", vectors.len(), 200);
}

fn check_bthome(vector: &Json) -> Result2<Outcome> {
    let data = hex(str_field(vector, "service_data_hex"));
    let mac = parse_mac(str_field(vector, "mac"));
    let result = match vector["bindkey"].as_str() {
        None => {
            let plain = bthome_v2(&data);
            let keyless = bthome_v2_with_key(&data, mac, None);
            if plain != keyless {
                return Err(format!(
                    "bthome_v2 and bthome_v2_with_key(.., None) disagree: {plain:?} / {keyless:?}"
                ));
            }
            plain
        }
        Some(key) => match <[u8; 16]>::try_from(hex(key).as_slice()) {
            Ok(key) => bthome_v2_with_key(&data, mac, Some(&key)),
            // The API takes exactly 16 bytes: a key of another length cannot even be passed,
            // which is the reference's "key must be 16 bytes" error.
            Err(_) if expects_error(vector) => return Ok(Outcome::ErrorAgreed),
            Err(_) => return Err("a key that is not 16 bytes cannot decode".to_owned()),
        },
    };
    if expects_error(vector) {
        return expect_nothing(result);
    }
    let decoded = result.map_err(|error| format!("unexpected error: {error}"))?;
    if decoded.format != Format::BtHomeV2 {
        return Err(format!("format {:?}", decoded.format));
    }

    let mut expected = Vec::new();
    let mut packet_id = None;
    for item in vector["expected"].as_array().expect("expected is a list") {
        let key = strip_postfix(str_field(item, "key"));
        if key == "packet_id" {
            packet_id = item["value"].as_u64().map(|id| id as u8);
            continue;
        }
        expected.push(bthome_expected(key, item)?);
    }
    if decoded.packet_id != packet_id {
        return Err(format!(
            "packet id {:?}, expected {packet_id:?}",
            decoded.packet_id
        ));
    }
    compare(&decoded, &expected)?;
    Ok(Outcome::Compared)
}

fn bthome_expected(key: &str, item: &Json) -> Result2<Expected> {
    let kind = str_field(item, "kind");
    let unit = item["unit"].as_str();
    let metric = match (key, kind, unit) {
        ("battery", "binary_sensor", _) => "battery_low",
        ("generic", "binary_sensor", _) => "generic_boolean",
        ("distance", _, Some("mm")) => "distance_mm",
        ("distance", _, Some("m")) => "distance_m",
        ("mass", _, Some("kg")) => "mass_kg",
        ("mass", _, Some("lb")) => "mass_lb",
        ("volume", _, Some("mL")) => "volume_ml",
        (other, ..) => other,
    };
    let unit = match unit {
        Some("mbar") => Some("hPa"),
        other => other,
    };
    let value = &item["value"];
    Ok(match kind {
        "binary_sensor" => Expected::other(
            metric,
            unit,
            ExpectedValue::Bool(value.as_bool().ok_or("binary value is not a bool")?),
        ),
        "event" => {
            let mut expected = Expected::other(
                metric,
                unit,
                ExpectedValue::Event(value.as_str().ok_or("event is not a string")?.to_owned()),
            );
            expected.steps = item["event_properties"]["steps"].as_i64();
            expected
        }
        _ if !item["value_epoch"].is_null() => {
            Expected::number(metric, unit, &item["value_epoch"])?
        }
        _ if metric == "text" || metric == "raw" => Expected::other(
            metric,
            unit,
            ExpectedValue::Text(value.as_str().ok_or("text is not a string")?.to_owned()),
        ),
        _ => Expected::number(metric, unit, value)?,
    })
}

/// `temperature_2` → `temperature`; `pm25`, `acceleration_x` stay as they are.
fn strip_postfix(key: &str) -> &str {
    match key.rsplit_once('_') {
        Some((base, digits))
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            base
        }
        _ => key,
    }
}

fn parse_mac(text: &str) -> [u8; 6] {
    let bytes = hex(&text.replace(':', ""));
    bytes.try_into().expect("a MAC has 6 bytes")
}

// ---------------------------------------------------------------------------------------------
// Ruuvi

#[test]
fn ruuvi_golden_vectors() {
    let vectors = load("ruuvi.json");
    let vectors = vectors.as_array().expect("ruuvi.json is a list");
    let mut tally = Tally::default();
    for vector in vectors {
        tally.record(vector, check_ruuvi(vector));
    }
    tally.finish("ruuvi.json", vectors.len(), 25);
}

/// (key in `expected`, our metric, our unit, our value per unit of theirs)
const RUUVI_FIELDS: [(&str, &str, Option<&str>, f64); 10] = [
    ("temperature", "temperature", Some("°C"), 1.0),
    ("humidity", "humidity", Some("%"), 1.0),
    ("pressure", "pressure", Some("hPa"), 1.0),
    ("acceleration_x", "acceleration_x", Some("mG"), 1.0),
    ("acceleration_y", "acceleration_y", Some("mG"), 1.0),
    ("acceleration_z", "acceleration_z", Some("mG"), 1.0),
    ("battery", "voltage", Some("V"), 0.001),
    ("tx_power", "tx_power", Some("dBm"), 1.0),
    ("movement_counter", "movement_counter", None, 1.0),
    (
        "measurement_sequence_number",
        "measurement_sequence",
        None,
        1.0,
    ),
];

/// Keys of `expected` that are not readings of ours.
const RUUVI_NOT_READINGS: [&str; 4] = ["data_format", "acceleration", "mac", "rssi"];

fn check_ruuvi(vector: &Json) -> Result2<Outcome> {
    let result = ruuvi(&hex(str_field(vector, "manufacturer_data_hex")));
    if expects_error(vector) {
        return expect_nothing(result);
    }
    let decoded = result.map_err(|error| format!("unexpected error: {error}"))?;
    let mut fields = vector["expected"]
        .as_object()
        .ok_or("expected is not an object")?
        .clone();

    // Where the reference ignores a "not available" value the spec defines, follow the spec.
    for entry in vector["spec_vs_reference"].as_array().into_iter().flatten() {
        let field = entry.as_str().unwrap_or("").split(':').next().unwrap_or("");
        let spec = &vector["spec_expected"];
        match field {
            "movement_counter" => {
                fields.insert("movement_counter".into(), spec["movement_counter"].clone());
            }
            "measurement_sequence" => {
                fields.insert(
                    "measurement_sequence_number".into(),
                    spec["measurement_sequence"].clone(),
                );
            }
            "mac" => {}
            other => return Err(format!("unhandled spec_vs_reference field {other:?}")),
        }
    }

    let format = match fields.get("data_format").and_then(Json::as_u64) {
        Some(5) => Format::RuuviRawV2,
        Some(3) => Format::RuuviRawV1,
        other => return Err(format!("unexpected data_format {other:?}")),
    };
    if decoded.format != format {
        return Err(format!("format {:?}, expected {format:?}", decoded.format));
    }
    for key in fields.keys() {
        let known = RUUVI_FIELDS.iter().any(|(field, ..)| field == key)
            || RUUVI_NOT_READINGS.contains(&key.as_str());
        if !known {
            return Err(format!(
                "expected has a field this test does not know: {key}"
            ));
        }
    }

    let mut expected = Vec::new();
    for (key, metric, unit, scale) in RUUVI_FIELDS {
        let Some(value) = fields.get(key).and_then(Json::as_f64) else {
            continue;
        };
        expected.push(Expected {
            metric: metric.to_owned(),
            unit: unit.map(str::to_owned),
            value: ExpectedValue::Number {
                value: value * scale,
                tolerance: tolerance(&fields[key]) * scale,
            },
            steps: None,
        });
    }
    compare(&decoded, &expected)?;
    Ok(Outcome::Compared)
}

// ---------------------------------------------------------------------------------------------
// GATT

#[test]
fn gatt_golden_vectors() {
    let file = load("gatt.json");
    let sections = file
        .as_object()
        .expect("gatt.json is an object of sections");
    let mut tally = Tally::default();
    let mut count = 0;
    for (section, vectors) in sections {
        for vector in vectors.as_array().expect("a section is a list") {
            count += 1;
            let outcome = match section.as_str() {
                "heart_rate_measurement_2a37" => check_heart_rate(vector),
                "temperature_measurement_2a1c" => check_temperature_measurement(vector),
                "battery_level_2a19" => check_battery_level(vector),
                "temperature_2a6e" => check_simple(vector, 0x2a6e, "temperature"),
                "humidity_2a6f" => check_simple(vector, 0x2a6f, "humidity"),
                "pressure_2a6d" => check_simple(vector, 0x2a6d, "pressure"),
                "ieee11073_float32" => check_mder_float(vector, 4),
                "ieee11073_sfloat16" => check_mder_float(vector, 2),
                other => Err(format!("section {other} is unknown to this test")),
            };
            tally.record(vector, outcome);
        }
    }
    tally.finish("gatt.json", count, 45);
}

/// Decodes through both the dispatcher and the characteristic's own function.
fn decode_gatt(
    uuid: u16,
    value: &[u8],
    direct: fn(&[u8]) -> Result<Decoded>,
) -> Result2<Result<Decoded>> {
    let dispatched = gatt(uuid, value);
    let own = direct(value);
    if dispatched != own {
        return Err(format!("gatt(0x{uuid:04X}) and its own decoder disagree"));
    }
    Ok(own)
}

fn check_heart_rate(vector: &Json) -> Result2<Outcome> {
    let value = hex(str_field(vector, "value_hex"));
    let result = decode_gatt(0x2a37, &value, gatt_heart_rate)?;
    if expects_error(vector) {
        return expect_nothing(result);
    }
    let decoded = result.map_err(|error| format!("unexpected error: {error}"))?;
    let fields = &vector["expected"];
    let mut expected = vec![Expected::number(
        "heart_rate",
        Some("bpm"),
        &fields["heart_rate_bpm"],
    )?];
    match str_field(fields, "sensor_contact") {
        "detected" => expected.push(Expected::other(
            "sensor_contact",
            None,
            ExpectedValue::Bool(true),
        )),
        "not_detected" => expected.push(Expected::other(
            "sensor_contact",
            None,
            ExpectedValue::Bool(false),
        )),
        "not_supported" => {}
        other => return Err(format!("sensor_contact {other:?}")),
    }
    if !fields["energy_expended_kj"].is_null() {
        expected.push(Expected::number(
            "energy_expended",
            Some("kJ"),
            &fields["energy_expended_kj"],
        )?);
    }
    for interval in fields["rr_intervals_s"]
        .as_array()
        .ok_or("rr_intervals_s")?
    {
        expected.push(Expected::number("rr_interval", Some("s"), interval)?);
    }
    compare(&decoded, &expected)?;
    Ok(Outcome::Compared)
}

fn check_temperature_measurement(vector: &Json) -> Result2<Outcome> {
    let value = hex(str_field(vector, "value_hex"));
    let result = decode_gatt(0x2a1c, &value, gatt_temperature_measurement)?;
    if expects_error(vector) {
        return expect_nothing(result);
    }
    let decoded = result.map_err(|error| format!("unexpected error: {error}"))?;
    let fields = &vector["expected"];
    let unit = match str_field(fields, "unit") {
        "C" => "°C",
        "F" => "°F",
        other => return Err(format!("unit {other:?}")),
    };
    let mut expected = Vec::new();
    // NaN, NRes, ±INFINITY and RFU are not temperatures: we leave them out.
    if fields["temperature"].is_number() {
        expected.push(Expected::number(
            "temperature",
            Some(unit),
            &fields["temperature"],
        )?);
    }
    if !fields["timestamp"].is_null() {
        let seconds = epoch_seconds(&fields["timestamp"])
            .ok_or_else(|| format!("cannot read timestamp {}", fields["timestamp"]))?;
        expected.push(Expected::number("timestamp", None, &Json::from(seconds))?);
    }
    if let Some(code) = fields["temperature_type"].as_u64() {
        if let Some(name) = temperature_type_name(code) {
            expected.push(Expected::other(
                "temperature_type",
                None,
                ExpectedValue::Text(name.to_owned()),
            ));
        }
    }
    compare(&decoded, &expected)?;
    Ok(Outcome::Compared)
}

/// The GSS Temperature Type codes; others are reserved and give no reading.
fn temperature_type_name(code: u64) -> Option<&'static str> {
    [
        "armpit",
        "body",
        "ear",
        "finger",
        "gastrointestinal_tract",
        "mouth",
        "rectum",
        "toe",
        "tympanum",
    ]
    .get(usize::try_from(code).ok()?.checked_sub(1)?)
    .copied()
}

/// A Date Time as the vectors may print it: an ISO-like string or an object of fields.
fn epoch_seconds(json: &Json) -> Option<i64> {
    let fields: Vec<i64> = match json {
        Json::String(text) => text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|part| !part.is_empty())
            .map(|part| part.parse().ok())
            .collect::<Option<_>>()?,
        Json::Object(map) => ["year", "month", "day", "hours", "minutes", "seconds"]
            .iter()
            .map(|key| map.get(*key).and_then(Json::as_i64))
            .collect::<Option<_>>()?,
        _ => return None,
    };
    let [year, month, day, hours, minutes, seconds] = fields.get(..6)? else {
        return None;
    };
    // Days from civil (Howard Hinnant), as independent arithmetic for the test.
    let y = if *month <= 2 { year - 1 } else { *year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hours * 3_600 + minutes * 60 + seconds)
}

fn check_battery_level(vector: &Json) -> Result2<Outcome> {
    let value = hex(str_field(vector, "value_hex"));
    let result = decode_gatt(0x2a19, &value, gatt_battery_level)?;
    if expects_error(vector) {
        return expect_nothing(result);
    }
    let decoded = result.map_err(|error| format!("unexpected error: {error}"))?;
    let expected = [Expected::number(
        "battery",
        Some("%"),
        &vector["expected"]["battery_level_pct"],
    )?];
    compare(&decoded, &expected)?;
    Ok(Outcome::Compared)
}

/// 0x2A6E, 0x2A6F, 0x2A6D: one value, `null` when "not known".
fn check_simple(vector: &Json, uuid: u16, metric: &str) -> Result2<Outcome> {
    let value = hex(str_field(vector, "value_hex"));
    let direct: fn(&[u8]) -> Result<Decoded> = match uuid {
        0x2a6e => gatt_temperature,
        0x2a6f => gatt_humidity,
        _ => gatt_pressure,
    };
    let result = decode_gatt(uuid, &value, direct)?;
    if expects_error(vector) {
        return expect_nothing(result);
    }
    let decoded = result.map_err(|error| format!("unexpected error: {error}"))?;
    let fields = &vector["expected"];
    let mut expected = Vec::new();
    if !fields["value"].is_null() {
        expected.push(Expected::number(
            metric,
            fields["unit"].as_str(),
            &fields["value"],
        )?);
    }
    compare(&decoded, &expected)?;
    Ok(Outcome::Compared)
}

fn check_mder_float(vector: &Json, size: usize) -> Result2<Outcome> {
    let bytes = hex(str_field(vector, "value_hex_le"));
    if bytes.len() != size {
        return Err(format!("{} bytes, expected {size}", bytes.len()));
    }
    let raw = bytes
        .iter()
        .rev()
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
    let ours = if size == 4 {
        float32(raw)
    } else {
        sfloat16(raw as u16)
    };
    let fields = &vector["expected"];
    let expected = match fields["special"].as_str() {
        None => {
            let value = fields["value"].as_f64().ok_or("value is not a number")?;
            return match ours {
                MderFloat::Finite(actual) if close(actual, value, tolerance(&fields["value"])) => {
                    Ok(Outcome::Compared)
                }
                _ => Err(format!("decoded {ours:?}, expected {value}")),
            };
        }
        Some("NaN") => MderFloat::NotANumber,
        Some("NRes") => MderFloat::NotAtThisResolution,
        Some("+INFINITY" | "INFINITY" | "+INF") => MderFloat::PositiveInfinity,
        Some("-INFINITY" | "-INF") => MderFloat::NegativeInfinity,
        Some("RFU") => MderFloat::Reserved,
        Some(other) => return Err(format!("unknown special {other:?}")),
    };
    if ours == expected {
        Ok(Outcome::Compared)
    } else {
        Err(format!("decoded {ours:?}, expected {expected:?}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Xiaomi

#[test]
fn xiaomi_custom_firmware_golden_vectors() {
    check_xiaomi_section("atc_181a", 0x181a, 10);
}

#[test]
fn xiaomi_mibeacon_golden_vectors() {
    check_xiaomi_section("xiaomi_mibeacon", 0xfe95, 4);
}

fn check_xiaomi_section(section: &str, uuid: u16, min_checked: usize) {
    let file = load("xiaomi_atc.json");
    let vectors = file[section]
        .as_array()
        .unwrap_or_else(|| panic!("xiaomi_atc.json has no list {section}"));
    let mut tally = Tally::default();
    for vector in vectors {
        tally.record_strict(vector, check_xiaomi(vector, uuid));
    }
    tally.finish(
        &format!("xiaomi_atc.json {section}"),
        vectors.len(),
        min_checked,
    );
}

fn check_xiaomi(vector: &Json, uuid: u16) -> Result2<Outcome> {
    let data = hex(str_field(vector, "service_data_hex"));
    let mac = parse_mac(str_field(vector, "mac"));
    let key = match vector["bindkey"].as_str() {
        None => None,
        Some(key) => Some(
            <[u8; 16]>::try_from(hex(key).as_slice())
                .map_err(|_| "bindkey is not 16 bytes".to_owned())?,
        ),
    };
    let direct = match uuid {
        0x181a => xiaomi_atc(&data, mac, key.as_ref()),
        _ => xiaomi_mibeacon(&data, mac, key.as_ref()),
    };
    // Detection must reach the same decoder from the advertisement alone.
    let service_data = [(uuid, data.clone())];
    let detected = advertisement(&Advertisement {
        address: mac,
        local_name: None,
        service_data: &service_data,
        manufacturer_data: &[],
        bindkey: key.as_ref(),
    });
    if detected != direct {
        return Err(format!(
            "advertisement() and the format's decoder disagree: {detected:?} / {direct:?}"
        ));
    }
    if expects_error(vector) {
        return expect_nothing(direct);
    }
    let decoded = direct.map_err(|error| format!("unexpected error: {error}"))?;
    let format = match str_field(vector, "format") {
        "pvvx_custom" => Format::XiaomiPvvx,
        "pvvx_custom_encrypted" => Format::XiaomiPvvxEncrypted,
        "atc1441" => Format::XiaomiAtc1441,
        "atc1441_encrypted" => Format::XiaomiAtc1441Encrypted,
        "mibeacon" => Format::XiaomiMiBeacon,
        other => return Err(format!("format {other:?} is unknown to this test")),
    };
    if decoded.format != format {
        return Err(format!("format {:?}, expected {format:?}", decoded.format));
    }
    let encrypted = key.is_some();
    if decoded.replay_counter.is_some() != encrypted {
        return Err(format!(
            "replay counter {:?} on a frame that is {}encrypted",
            decoded.replay_counter,
            if encrypted { "" } else { "not " }
        ));
    }
    let mut expected = Vec::new();
    for item in vector["expected"].as_array().ok_or("expected is a list")? {
        let key = str_field(item, "key");
        if format == Format::XiaomiMiBeacon && key == "voltage" {
            continue;
        }
        expected.push(Expected::number(
            key,
            item["unit"].as_str(),
            &item["value"],
        )?);
    }
    compare(&decoded, &expected)?;
    Ok(Outcome::Compared)
}
