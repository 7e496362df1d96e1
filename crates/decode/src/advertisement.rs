//! Format detection: which decoder an advertisement's service and manufacturer data call for.
//! The one place that knows the UUIDs and company ids, so the CLI and the BLE source agree.

use crate::{bthome_v2_with_key, ruuvi, xiaomi_atc, xiaomi_mibeacon, DecodeError, Decoded, Result};

/// BTHome v2 service data.
pub const BTHOME_UUID: u16 = 0xfcd2;
/// Environmental Sensing: the custom thermometer firmware (pvvx, atc1441) puts its frames here.
pub const XIAOMI_CUSTOM_UUID: u16 = 0x181a;
/// Xiaomi Inc.: MiBeacon service data.
pub const MIBEACON_UUID: u16 = 0xfe95;
/// Ruuvi Innovations Ltd. manufacturer data.
pub const RUUVI_COMPANY: u16 = 0x0499;

/// What one advertisement (or scan response) said, as a scanner hands it over.
#[derive(Debug, Clone, Copy)]
pub struct Advertisement<'a> {
    /// The advertiser's address as written `AA:BB:CC:DD:EE:FF`: index 0 is 0xAA. Encrypted
    /// formats use it in their nonce; plaintext Xiaomi frames must embed the same one.
    pub address: [u8; 6],
    /// The advertised name. No format needs it today; it is here so callers pass the whole
    /// advertisement and detection can grow without a new signature.
    pub local_name: Option<&'a str>,
    /// 16-bit service UUID and the bytes after it.
    pub service_data: &'a [(u16, Vec<u8>)],
    /// Company id and the bytes after it.
    pub manufacturer_data: &'a [(u16, Vec<u8>)],
    /// The device's bindkey, for whichever format it encrypts.
    pub bindkey: Option<&'a [u8; 16]>,
}

/// Decodes the first known format in the advertisement: BTHome (0xFCD2), Ruuvi (company
/// 0x0499), custom Xiaomi firmware (0x181A, told apart by length), MiBeacon (0xFE95), in that
/// order. A device may send several kinds of data at once; the first that decodes wins, and
/// when none does the error of the first known one is returned (it is the most specific:
/// "wrong bindkey" says more than "no known format"). [`DecodeError::NoKnownFormat`] when
/// nothing in the advertisement is of a known format.
pub fn advertisement(ad: &Advertisement<'_>) -> Result<Decoded> {
    let service = |uuid: u16| {
        ad.service_data
            .iter()
            .filter(move |(id, _)| *id == uuid)
            .map(|(_, data)| data.as_slice())
    };
    let key = ad.bindkey;
    let address = ad.address;
    let attempts = service(BTHOME_UUID)
        .map(|data| bthome_v2_with_key(data, address, key))
        .chain(
            ad.manufacturer_data
                .iter()
                .filter(|(id, _)| *id == RUUVI_COMPANY)
                // Ruuvi tags do not encrypt: a bindkey has nothing to say about them.
                .map(|(_, data)| ruuvi(data)),
        )
        .chain(service(XIAOMI_CUSTOM_UUID).map(|data| xiaomi_atc(data, address, key)))
        .chain(service(MIBEACON_UUID).map(|data| xiaomi_mibeacon(data, address, key)));

    let mut first_error = None;
    for attempt in attempts {
        match attempt {
            Ok(decoded) => return Ok(decoded),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    Err(first_error.unwrap_or(DecodeError::NoKnownFormat))
}

/// Reads a Bluetooth address written `AA:BB:CC:DD:EE:FF` (or with `-`, either case) into
/// display order: index 0 is 0xAA.
pub fn parse_address(text: &str) -> Result<[u8; 6]> {
    let invalid = || DecodeError::Invalid {
        what: "Bluetooth address",
        detail: format!("{text:?} is not six hex bytes like AA:BB:CC:DD:EE:FF"),
    };
    let separator = if text.contains('-') { '-' } else { ':' };
    let mut address = [0u8; 6];
    let mut parts = text.trim().split(separator);
    for byte in &mut address {
        let part = parts.next().ok_or_else(invalid)?;
        if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        *byte = u8::from_str_radix(part, 16).map_err(|_| invalid())?;
    }
    if parts.next().is_some() {
        return Err(invalid());
    }
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_in_display_order() {
        let want = Ok([0xaa, 0xbb, 0xcc, 0x0d, 0xee, 0xff]);
        assert_eq!(parse_address("AA:BB:CC:0D:EE:FF"), want);
        assert_eq!(parse_address("aa:bb:cc:0d:ee:ff"), want);
        assert_eq!(parse_address("aa-bb-cc-0d-ee-ff"), want);
        for bad in [
            "",
            "AA:BB:CC:DD:EE",
            "AA:BB:CC:DD:EE:FF:00",
            "AA:BB:CC:DD:EE:F",
            "AA:BB:CC:DD:EE:+F",
            "AABBCCDDEEFF",
            "AA:BB-CC:DD:EE:FF",
            "ÄA:BB:CC:DD:EE:FF",
        ] {
            assert!(parse_address(bad).is_err(), "{bad:?}");
        }
    }
}
