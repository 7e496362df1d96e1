use serde::Serialize;
use std::fmt;

/// What one payload said: which format it was read as, and its readings in payload order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decoded {
    pub format: Format,
    /// BTHome's packet id (object 0x00), for dropping repeats of one advertisement; `None` for
    /// every other format and for BTHome payloads without one.
    pub packet_id: Option<u8>,
    /// The counter an *encrypted* payload was sealed with: BTHome's 4-byte encryption counter,
    /// the pvvx/atc1441 counter byte, MiBeacon's frame counter with its 3-byte extension
    /// (`ext << 8 | frame_counter`, as the nonce uses it). `None` for plaintext formats.
    ///
    /// Decryption proves who sealed a payload, not when: anyone can re-send a captured frame.
    /// A stateful caller (the BLE source) keeps the last counter per device and drops frames
    /// whose counter does not advance. The decoders themselves stay pure and keep no history.
    /// The 1-byte ATC counters wrap every 256 frames, so there "advance" must allow wrapping.
    /// Not serialized: it is bookkeeping, not something the payload measured.
    #[serde(skip)]
    pub replay_counter: Option<u32>,
    pub readings: Vec<DecodedReading>,
}

impl Decoded {
    pub(crate) fn new(format: Format) -> Self {
        Decoded {
            format,
            packet_id: None,
            replay_counter: None,
            readings: Vec::new(),
        }
    }
}

/// The wire format a payload was decoded as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Format {
    /// BTHome v2 service data (UUID 0xFCD2).
    #[serde(rename = "bthome_v2")]
    BtHomeV2,
    /// RuuviTag data format 5, manufacturer data of company 0x0499.
    #[serde(rename = "ruuvi_rawv2")]
    RuuviRawV2,
    /// RuuviTag data format 3, manufacturer data of company 0x0499.
    #[serde(rename = "ruuvi_rawv1")]
    RuuviRawV1,
    /// GATT Heart Rate Measurement, 0x2A37.
    #[serde(rename = "gatt_heart_rate")]
    GattHeartRate,
    /// GATT Battery Level, 0x2A19.
    #[serde(rename = "gatt_battery_level")]
    GattBatteryLevel,
    /// GATT Temperature, 0x2A6E.
    #[serde(rename = "gatt_temperature")]
    GattTemperature,
    /// GATT Humidity, 0x2A6F.
    #[serde(rename = "gatt_humidity")]
    GattHumidity,
    /// GATT Pressure, 0x2A6D.
    #[serde(rename = "gatt_pressure")]
    GattPressure,
    /// GATT Temperature Measurement (Health Thermometer), 0x2A1C.
    #[serde(rename = "gatt_temperature_measurement")]
    GattTemperatureMeasurement,
    /// pvvx custom firmware "custom" format, 15 bytes of service data on UUID 0x181A.
    #[serde(rename = "xiaomi_pvvx")]
    XiaomiPvvx,
    /// pvvx custom format, AES-CCM encrypted, 11 bytes on UUID 0x181A.
    #[serde(rename = "xiaomi_pvvx_encrypted")]
    XiaomiPvvxEncrypted,
    /// atc1441 custom firmware format, 13 bytes on UUID 0x181A.
    #[serde(rename = "xiaomi_atc1441")]
    XiaomiAtc1441,
    /// atc1441 format, AES-CCM encrypted, 8 bytes on UUID 0x181A.
    #[serde(rename = "xiaomi_atc1441_encrypted")]
    XiaomiAtc1441Encrypted,
    /// Xiaomi's stock MiBeacon (v2 to v5, plaintext or v4/v5 encrypted) on UUID 0xFE95.
    #[serde(rename = "xiaomi_mibeacon")]
    XiaomiMiBeacon,
}

impl Format {
    /// The width of the format's replay counter in bits: the custom-firmware Xiaomi formats
    /// send one byte, which wraps every 256 frames; BTHome and MiBeacon four.
    pub fn replay_counter_bits(self) -> u32 {
        match self {
            Format::XiaomiPvvxEncrypted | Format::XiaomiAtc1441Encrypted => 8,
            _ => 32,
        }
    }

    pub const ALL: [Format; 14] = [
        Format::BtHomeV2,
        Format::RuuviRawV2,
        Format::RuuviRawV1,
        Format::GattHeartRate,
        Format::GattBatteryLevel,
        Format::GattTemperature,
        Format::GattHumidity,
        Format::GattPressure,
        Format::GattTemperatureMeasurement,
        Format::XiaomiPvvx,
        Format::XiaomiPvvxEncrypted,
        Format::XiaomiAtc1441,
        Format::XiaomiAtc1441Encrypted,
        Format::XiaomiMiBeacon,
    ];

    /// The same name serde writes.
    pub fn as_str(&self) -> &'static str {
        match self {
            Format::BtHomeV2 => "bthome_v2",
            Format::RuuviRawV2 => "ruuvi_rawv2",
            Format::RuuviRawV1 => "ruuvi_rawv1",
            Format::GattHeartRate => "gatt_heart_rate",
            Format::GattBatteryLevel => "gatt_battery_level",
            Format::GattTemperature => "gatt_temperature",
            Format::GattHumidity => "gatt_humidity",
            Format::GattPressure => "gatt_pressure",
            Format::GattTemperatureMeasurement => "gatt_temperature_measurement",
            Format::XiaomiPvvx => "xiaomi_pvvx",
            Format::XiaomiPvvxEncrypted => "xiaomi_pvvx_encrypted",
            Format::XiaomiAtc1441 => "xiaomi_atc1441",
            Format::XiaomiAtc1441Encrypted => "xiaomi_atc1441_encrypted",
            Format::XiaomiMiBeacon => "xiaomi_mibeacon",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One value a payload carried.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecodedReading {
    /// snake_case, e.g. `temperature`; an object sent several times gives several readings with
    /// the same metric, in payload order.
    pub metric: String,
    pub value: Value,
    pub unit: Option<&'static str>,
    /// How many steps a BTHome dimmer turned; `None` for everything else.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<i64>,
}

impl DecodedReading {
    pub(crate) fn number(metric: &str, value: f64, unit: Option<&'static str>) -> Self {
        Self::new(metric, Value::Number(value), unit)
    }

    pub(crate) fn boolean(metric: &str, value: bool) -> Self {
        Self::new(metric, Value::Bool(value), None)
    }

    pub(crate) fn event(metric: &str, name: &str) -> Self {
        Self::new(metric, Value::Event(name.to_owned()), None)
    }

    pub(crate) fn text(metric: &str, text: String) -> Self {
        Self::new(metric, Value::Text(text), None)
    }

    fn new(metric: &str, value: Value, unit: Option<&'static str>) -> Self {
        DecodedReading {
            metric: metric.to_owned(),
            value,
            unit,
            steps: None,
        }
    }
}

/// A reading's value. Serialized bare: `25.06`, `true`, `"double_press"`, `"Hello"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// Always finite: decoders drop "not available" and NaN/infinity markers instead.
    Number(f64),
    Bool(bool),
    /// Something that happened (a button press, a dimmer turn), by name.
    Event(String),
    /// A state described in words: BTHome text (UTF-8) and raw (lowercase hex) objects, the
    /// 0x2A1C temperature type (`body`, `ear`...).
    Text(String),
}

impl Value {
    /// The number, for callers that store numeric series only.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(v) => Some(*v),
            _ => None,
        }
    }
}
