//! `telltale decode <kind>`: one captured payload decoded and printed as one line of JSON, to
//! check a device or a broker's traffic by hand. Malformed input is an error (exit 1), never a
//! partial answer.
//!
//! `ble` and `gatt` print `{"format": ..., "readings": [...]}` and nothing else: the format is
//! detected by `telltale_decode::advertisement`, the same detection the BLE source uses.

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum DecodeCommand {
    /// A Sparkplug B (spBv1.0) MQTT message: protobuf, or JSON on STATE topics.
    Sparkplug(SparkplugArgs),
    /// A BLE advertisement: its service data and manufacturer data, the format detected from
    /// them (BTHome v2, Ruuvi, Xiaomi custom firmware, MiBeacon).
    Ble(BleArgs),
    /// A GATT characteristic value (0x2A37, 0x2A1C, 0x2A19, 0x2A6E, 0x2A6F, 0x2A6D).
    Gatt(GattArgs),
}

// Values are taken as text and parsed here, not by clap, so that a bad one is the command's
// one-line error with exit 1 like any other undecodable input.
#[derive(Args)]
pub struct BleArgs {
    /// The advertiser's address, AA:BB:CC:DD:EE:FF (part of encrypted formats' nonce).
    #[arg(long)]
    address: String,
    /// The device's 16-byte bindkey as 32 hex digits.
    #[arg(long, value_name = "HEX32")]
    bindkey: Option<String>,
    /// The advertised local name.
    #[arg(long)]
    name: Option<String>,
    /// Service data: a 16-bit UUID (fcd2, 0x181a, or the 128-bit Bluetooth base form) and the
    /// bytes after it in hex. Repeatable.
    #[arg(long = "service-data", value_name = "UUID=HEX")]
    service_data: Vec<String>,
    /// Manufacturer data: the company id (1177 or 0x0499) and the bytes after it in hex.
    /// Repeatable.
    #[arg(long = "manufacturer-data", value_name = "COMPANY=HEX")]
    manufacturer_data: Vec<String>,
}

#[derive(Args)]
pub struct GattArgs {
    /// The characteristic's UUID: 2a37, 0x2A37 or 00002a37-0000-1000-8000-00805f9b34fb.
    #[arg(long, value_name = "UUID")]
    characteristic: String,
    /// The characteristic value in hex.
    #[arg(value_name = "HEX")]
    value: String,
}

#[derive(Args)]
pub struct SparkplugArgs {
    /// The MQTT topic, e.g. spBv1.0/Plant1/NDATA/Edge01 or spBv1.0/STATE/host.
    #[arg(long)]
    topic: String,
    /// The MQTT payload, base64 (standard alphabet; padding optional).
    #[arg(long)]
    base64: String,
}

pub fn run(command: DecodeCommand) -> Result<(), String> {
    match command {
        DecodeCommand::Sparkplug(args) => sparkplug(&args),
        DecodeCommand::Ble(args) => ble(&args),
        DecodeCommand::Gatt(args) => gatt(&args),
    }
}

fn ble(args: &BleArgs) -> Result<(), String> {
    let address = telltale_decode::parse_address(&args.address)
        .map_err(|error| format!("--address: {error}"))?;
    let bindkey = args
        .bindkey
        .as_deref()
        .map(|text| {
            <[u8; 16]>::try_from(hex(text, "--bindkey")?.as_slice())
                .map_err(|_| "--bindkey must be 32 hex digits (16 bytes)".to_owned())
        })
        .transpose()?;
    let service_data = args
        .service_data
        .iter()
        .map(|item| {
            let (uuid, data) = split_pair(item, "--service-data", "UUID=HEX")?;
            Ok((
                uuid16(uuid, "--service-data")?,
                hex(data, "--service-data")?,
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let manufacturer_data = args
        .manufacturer_data
        .iter()
        .map(|item| {
            let (company, data) = split_pair(item, "--manufacturer-data", "COMPANY=HEX")?;
            Ok((company_id(company)?, hex(data, "--manufacturer-data")?))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let decoded = telltale_decode::advertisement(&telltale_decode::Advertisement {
        address,
        local_name: args.name.as_deref(),
        service_data: &service_data,
        manufacturer_data: &manufacturer_data,
        bindkey: bindkey.as_ref(),
    })
    .map_err(|error| error.to_string())?;
    print_decoded(&decoded)
}

fn gatt(args: &GattArgs) -> Result<(), String> {
    let uuid = uuid16(&args.characteristic, "--characteristic")?;
    let value = hex(&args.value, "the value")?;
    let decoded = telltale_decode::gatt(uuid, &value).map_err(|error| error.to_string())?;
    print_decoded(&decoded)
}

/// The contract's shape: the format and the readings, no bookkeeping (packet id, replay
/// counter) that a one-shot decode has no use for.
fn print_decoded(decoded: &telltale_decode::Decoded) -> Result<(), String> {
    let json = serde_json::json!({
        "format": decoded.format,
        "readings": decoded.readings,
    });
    crate::print_line(json)
}

fn split_pair<'a>(item: &'a str, flag: &str, shape: &str) -> Result<(&'a str, &'a str), String> {
    item.split_once('=')
        .ok_or_else(|| format!("{flag} {item:?} is not {shape}"))
}

/// Hex digits in either case; an odd count or another character is an error.
fn hex(text: &str, what: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    // The text itself is never echoed: for --bindkey it is a secret, even when mistyped.
    let bad = || {
        format!(
            "{what}: not hex (an even number of 0-9, a-f; got {} characters)",
            text.chars().count()
        )
    };
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|digits| u8::from_str_radix(digits, 16).ok())
                .ok_or_else(bad)
        })
        .collect()
}

/// The suffix of every 16-bit UUID written in full (the Bluetooth base UUID).
const BLUETOOTH_BASE: &str = "-0000-1000-8000-00805f9b34fb";

/// A 16-bit UUID: `fcd2`, `0xFCD2`, or `0000fcd2-0000-1000-8000-00805f9b34fb`.
fn uuid16(text: &str, flag: &str) -> Result<u16, String> {
    let text = text.trim().to_ascii_lowercase();
    let bad = || {
        format!(
            "{flag}: {text:?} is not a 16-bit UUID (like fcd2, 0xfcd2 or \
             0000fcd2{BLUETOOTH_BASE})"
        )
    };
    let short = match text.strip_suffix(BLUETOOTH_BASE) {
        Some(prefix) => prefix.strip_prefix("0000").ok_or_else(bad)?,
        None => text.strip_prefix("0x").unwrap_or(&text),
    };
    if short.is_empty() || short.len() > 4 || !short.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    u16::from_str_radix(short, 16).map_err(|_| bad())
}

/// A company id: decimal (`1177`) or hex with `0x` (`0x0499`).
fn company_id(text: &str) -> Result<u16, String> {
    let text = text.trim();
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(digits) => (digits, 16),
        None => (text, 10),
    };
    // from_str_radix would also take a leading '+'.
    let parsed = if digits.chars().all(|c| c.is_digit(radix)) {
        u16::from_str_radix(digits, radix).ok()
    } else {
        None
    };
    parsed.ok_or_else(|| {
        format!("--manufacturer-data: company {text:?} is not 0..65535 (decimal, or hex with 0x)")
    })
}

fn sparkplug(args: &SparkplugArgs) -> Result<(), String> {
    let bytes = base64(&args.base64)?;
    let message =
        telltale_sparkplug::decode(&args.topic, &bytes).map_err(|error| error.to_string())?;
    let json = serde_json::to_string(&message).map_err(|error| error.to_string())?;
    crate::print_line(json)
}

/// Copied payloads often lose their trailing `=`: accept them with or without.
fn base64(text: &str) -> Result<Vec<u8>, String> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    LENIENT
        .decode(text.trim())
        .map_err(|error| format!("--base64 is not base64: {error}"))
}
