//! What a test describes: devices, their GATT services and characteristics.

use crate::{Error, Result};

/// The Bluetooth base UUID's tail: a 16-bit UUID `xxxx` is `0000xxxx-0000-1000-8000-00805f9b34fb`.
const BASE_UUID_TAIL: &str = "-0000-1000-8000-00805f9b34fb";

/// A device the fake knows about, as BlueZ would see it after its first advertisement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceSpec {
    /// `AA:BB:CC:DD:EE:FF` (any case).
    pub address: String,
    /// The advertised local name; `None` leaves `Name` out, as BlueZ does.
    pub name: Option<String>,
    /// `None` leaves `RSSI` out, as BlueZ does for devices it has not heard lately.
    pub rssi: Option<i16>,
    /// Company id -> payload.
    pub manufacturer_data: Vec<(u16, Vec<u8>)>,
    /// Service UUID (16-bit `"181a"`/`"0x181A"` or 128-bit) -> payload.
    pub service_data: Vec<(String, Vec<u8>)>,
    /// GATT services, exported when the device is first connected (before `ServicesResolved`).
    pub services: Vec<ServiceSpec>,
}

impl DeviceSpec {
    /// A device with this address and nothing else.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            ..Self::default()
        }
    }
}

/// A primary GATT service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceSpec {
    /// 16-bit (`"180d"`, `"0x180D"`) or 128-bit UUID.
    pub uuid: String,
    pub characteristics: Vec<CharacteristicSpec>,
}

/// A GATT characteristic. Those with `notify` or `indicate` get a CCCD (0x2902) descriptor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CharacteristicSpec {
    /// 16-bit (`"2a37"`, `"0x2A37"`) or 128-bit UUID.
    pub uuid: String,
    /// BlueZ flag strings: `"read"`, `"write"`, `"write-without-response"`, `"notify"`, `"indicate"`, …
    pub flags: Vec<String>,
    /// The initial value returned by `ReadValue`.
    pub value: Vec<u8>,
}

impl CharacteristicSpec {
    /// A characteristic with these flags and initial value.
    pub fn new(uuid: impl Into<String>, flags: &[&str], value: Vec<u8>) -> Self {
        Self {
            uuid: uuid.into(),
            flags: flags.iter().map(|flag| (*flag).to_owned()).collect(),
            value,
        }
    }
}

/// The full lower-case 128-bit form BlueZ uses on D-Bus: `0000180d-0000-1000-8000-00805f9b34fb`.
pub fn uuid_from_u16(short: u16) -> String {
    format!("0000{short:04x}{BASE_UUID_TAIL}")
}

/// Accepts `"180d"`, `"0x180D"`, `"0000180d"` (32-bit) or a 128-bit UUID; returns BlueZ's form.
pub fn normalize_uuid(uuid: &str) -> Result<String> {
    let trimmed = uuid.trim();
    let hex = trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
        .unwrap_or(trimmed);
    let invalid = || Error::InvalidUuid(uuid.to_owned());
    if hex.len() == 4 || hex.len() == 8 {
        let value = u32::from_str_radix(hex, 16).map_err(|_| invalid())?;
        return Ok(format!("{value:08x}{BASE_UUID_TAIL}"));
    }
    let groups: Vec<&str> = hex.split('-').collect();
    let lengths_ok = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len);
    if !lengths_ok || !hex.chars().all(|c| c == '-' || c.is_ascii_hexdigit()) {
        return Err(invalid());
    }
    Ok(hex.to_ascii_lowercase())
}

/// `AA:BB:CC:DD:EE:FF` in upper case, or an error.
pub(crate) fn normalize_address(address: &str) -> Result<String> {
    let upper = address.trim().to_ascii_uppercase();
    let parts: Vec<&str> = upper.split(':').collect();
    let valid = parts.len() == 6
        && parts
            .iter()
            .all(|part| part.len() == 2 && part.chars().all(|c| c.is_ascii_hexdigit()));
    if valid {
        Ok(upper)
    } else {
        Err(Error::InvalidAddress(address.to_owned()))
    }
}

/// Bytes from lower- or upper-case hex, as captured frames are written in tests. Panics on
/// anything else: a typo in a test's constant, not input.
pub fn bytes_of_hex(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd-length hex {hex:?}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_normalize_to_bluez_form() {
        let expected = "0000180d-0000-1000-8000-00805f9b34fb";
        for input in [
            "180d",
            "0x180D",
            "0000180D",
            expected,
            &expected.to_uppercase(),
        ] {
            assert_eq!(
                normalize_uuid(input).ok().as_deref(),
                Some(expected),
                "{input}"
            );
        }
        assert_eq!(uuid_from_u16(0x180d), expected);
        for bad in [
            "",
            "18",
            "xyz1",
            "0000180d-0000-1000-8000",
            "g000180d-0000-1000-8000-00805f9b34fb",
        ] {
            assert!(normalize_uuid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_normalize_to_upper_case() {
        assert_eq!(
            normalize_address("aa:bb:cc:dd:ee:0f").ok().as_deref(),
            Some("AA:BB:CC:DD:EE:0F")
        );
        for bad in ["", "AA:BB:CC:DD:EE", "AA:BB:CC:DD:EE:FG", "AABBCCDDEEFF"] {
            assert!(normalize_address(bad).is_err(), "{bad}");
        }
    }
}
