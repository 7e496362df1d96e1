//! Xiaomi thermometers and sensors: the custom firmware of LYWSD03MMC and relatives (pvvx and
//! atc1441 formats on service UUID 0x181A, plaintext or AES-CCM encrypted) and Xiaomi's own
//! MiBeacon on service UUID 0xFE95.
//!
//! The custom formats carry no type byte: the service-data length alone says which one it is
//! (pvvx 15, atc1441 13, pvvx encrypted 11, atc1441 encrypted 8), as in atc-ble. MiBeacon is
//! read as xiaomi-ble 1.21 reads it, except that the product id is not looked up in a device
//! table (the objects mean the same on every device that sends them, so a device xiaomi-ble
//! has not listed yet still decodes; the few objects whose meaning depends on the device are
//! told apart by product id) and that xiaomi-ble's `voltage`, which it derives from the
//! battery percentage, is not invented here. Buttons are reported by press type only, not by
//! which button of a multi-button device was pressed.

use crate::crypt::{self, MIC_LEN};
use crate::{DecodeError, Decoded, DecodedReading, Format, Result};

const MAC_LEN: usize = 6;
const CUSTOM_WHAT: &str = "Xiaomi custom firmware (0x181A)";
const MIBEACON_WHAT: &str = "Xiaomi MiBeacon";
/// The associated data of both Xiaomi encryptions: one fixed byte.
const AAD: [u8; 1] = [0x11];

const CELSIUS: Option<&str> = Some("°C");
const PERCENT: Option<&str> = Some("%");
const VOLT: Option<&str> = Some("V");
const LUX: Option<&str> = Some("lx");
const SECONDS: Option<&str> = Some("s");
const MINUTES: Option<&str> = Some("min");

/// Decodes custom-firmware service data on UUID 0x181A (the bytes after the UUID).
///
/// `mac` is the advertiser's address in display order (`A4:C1:38:8D:18:B2` is
/// `[0xa4, 0xc1, 0x38, 0x8d, 0x18, 0xb2]`). Plaintext frames embed the device's MAC; one that
/// differs from `mac` is refused ([`DecodeError::AddressMismatch`]), as atc-ble does.
/// Encrypted frames need `key` and use `mac` in their nonce. With a key, plaintext frames are
/// refused ([`DecodeError::NotEncrypted`]): anyone can send plaintext in a device's name.
pub fn xiaomi_atc(
    service_data: &[u8],
    mac: [u8; MAC_LEN],
    key: Option<&[u8; 16]>,
) -> Result<Decoded> {
    match (service_data.len(), key) {
        (13 | 15, Some(_)) => Err(DecodeError::NotEncrypted(CUSTOM_WHAT)),
        (15, None) => pvvx(service_data, mac),
        (13, None) => atc1441(service_data, mac),
        (8 | 11, None) => Err(DecodeError::Encrypted(CUSTOM_WHAT)),
        (8 | 11, Some(key)) => encrypted_custom(service_data, mac, key),
        (other, _) => Err(DecodeError::Invalid {
            what: CUSTOM_WHAT,
            detail: format!(
                "{other} bytes of service data match no format (pvvx 15 or 11 encrypted, \
                 atc1441 13 or 8 encrypted)"
            ),
        }),
    }
}

/// pvvx "custom": MAC (reversed), temperature i16 0.01 °C, humidity u16 0.01 %, battery u16
/// mV, battery u8 %, counter, flags; little-endian.
fn pvvx(data: &[u8], advertiser: [u8; MAC_LEN]) -> Result<Decoded> {
    let [m0, m1, m2, m3, m4, m5, t0, t1, h0, h1, v0, v1, battery, _counter, _flags] =
        fixed::<15>(data)?;
    check_mac(CUSTOM_WHAT, [m5, m4, m3, m2, m1, m0], advertiser)?;
    Ok(climate(
        Format::XiaomiPvvx,
        f64::from(i16::from_le_bytes([t0, t1])) / 100.0,
        f64::from(u16::from_le_bytes([h0, h1])) / 100.0,
        Some(f64::from(u16::from_le_bytes([v0, v1])) / 1000.0),
        battery,
    ))
}

/// atc1441: MAC (in order), temperature i16 0.1 °C, humidity u8 %, battery u8 %, battery u16
/// mV, counter; big-endian.
fn atc1441(data: &[u8], advertiser: [u8; MAC_LEN]) -> Result<Decoded> {
    let [m0, m1, m2, m3, m4, m5, t0, t1, humidity, battery, v0, v1, _counter] = fixed::<13>(data)?;
    check_mac(CUSTOM_WHAT, [m0, m1, m2, m3, m4, m5], advertiser)?;
    Ok(climate(
        Format::XiaomiAtc1441,
        f64::from(i16::from_be_bytes([t0, t1])) / 10.0,
        f64::from(humidity),
        Some(f64::from(u16::from_be_bytes([v0, v1])) / 1000.0),
        battery,
    ))
}

/// Both encrypted formats: a counter byte, the ciphertext, a 4-byte MIC. AES-128-CCM, AAD
/// 0x11, nonce = MAC reversed, the AD structure's header (length, 0x16, UUID 0x181A
/// little-endian) and the counter.
fn encrypted_custom(data: &[u8], mac: [u8; MAC_LEN], key: &[u8; 16]) -> Result<Decoded> {
    let truncated = || DecodeError::Truncated {
        what: CUSTOM_WHAT,
        needed: 1 + MIC_LEN + 1,
        got: data.len(),
    };
    let (&counter, rest) = data.split_first().ok_or_else(truncated)?;
    let (ciphertext, mic) = rest.split_last_chunk::<MIC_LEN>().ok_or_else(truncated)?;
    // The AD length byte covers the type byte and the UUID too; lengths here are 8 or 11.
    let ad_len = u8::try_from(data.len() + 3).map_err(|_| truncated())?;
    let [r0, r1, r2, r3, r4, r5] = reversed(mac);
    let nonce = [r0, r1, r2, r3, r4, r5, ad_len, 0x16, 0x1a, 0x18, counter];
    let plaintext = crypt::open(key, (&nonce).into(), &AAD, ciphertext, mic)
        .ok_or(DecodeError::DecryptionFailed(CUSTOM_WHAT))?;

    let mut decoded = match *plaintext.as_slice() {
        // pvvx: temperature i16 0.01 °C, humidity u16 0.01 %, battery %, flags.
        [t0, t1, h0, h1, battery, _flags] => climate(
            Format::XiaomiPvvxEncrypted,
            f64::from(i16::from_le_bytes([t0, t1])) / 100.0,
            f64::from(u16::from_le_bytes([h0, h1])) / 100.0,
            None,
            battery,
        ),
        // atc1441: (T + 40) * 2 as an unsigned byte (-40 to 87.5 °C, the sensor's range;
        // atc-mi-interface reads it signed and is wrong from 24 °C), H * 2, then the trigger
        // flag in bit 7 above 7 bits of battery %.
        [temperature, humidity, battery] => climate(
            Format::XiaomiAtc1441Encrypted,
            f64::from(temperature) / 2.0 - 40.0,
            f64::from(humidity) / 2.0,
            None,
            battery & 0x7f,
        ),
        // Only reachable with 8 or 11 bytes in, which give 3 or 6 bytes out.
        _ => return Err(truncated()),
    };
    decoded.replay_counter = Some(u32::from(counter));
    Ok(decoded)
}

/// The readings every custom format carries, in atc-ble's order.
fn climate(
    format: Format,
    temperature: f64,
    humidity: f64,
    voltage: Option<f64>,
    battery: u8,
) -> Decoded {
    let mut decoded = Decoded::new(format);
    let readings = &mut decoded.readings;
    readings.push(DecodedReading::number("temperature", temperature, CELSIUS));
    readings.push(DecodedReading::number("humidity", humidity, PERCENT));
    if let Some(voltage) = voltage {
        readings.push(DecodedReading::number("voltage", voltage, VOLT));
    }
    readings.push(DecodedReading::number(
        "battery",
        f64::from(battery),
        PERCENT,
    ));
    decoded
}

fn fixed<const N: usize>(data: &[u8]) -> Result<[u8; N]> {
    data.try_into().map_err(|_| DecodeError::WrongLength {
        what: CUSTOM_WHAT,
        expected: N,
        got: data.len(),
    })
}

fn check_mac(what: &'static str, embedded: [u8; MAC_LEN], advertiser: [u8; MAC_LEN]) -> Result<()> {
    if embedded == advertiser {
        Ok(())
    } else {
        Err(DecodeError::AddressMismatch {
            what,
            embedded: display_mac(embedded),
            advertiser: display_mac(advertiser),
        })
    }
}

fn display_mac(mac: [u8; MAC_LEN]) -> String {
    let parts: Vec<String> = mac.iter().map(|byte| format!("{byte:02X}")).collect();
    parts.join(":")
}

fn reversed(mut mac: [u8; MAC_LEN]) -> [u8; MAC_LEN] {
    mac.reverse();
    mac
}

// ---------------------------------------------------------------------------------------------
// MiBeacon

/// Frame-control bits (little-endian u16 at the start of the service data).
const ENCRYPTED: u16 = 1 << 3;
const MAC_INCLUDED: u16 = 1 << 4;
const CAPABILITY_INCLUDED: u16 = 1 << 5;
const OBJECT_INCLUDED: u16 = 1 << 6;
const MESH: u16 = 1 << 7;
/// In the capability byte: an I/O-capability byte follows it.
const IO_CAPABILITY_FOLLOWS: u8 = 0x20;
/// Extended counter (3 bytes) and MIC after the ciphertext of v4/v5 encryption.
const EXT_COUNTER_LEN: usize = 3;
/// An object's header: id (u16) and length (u8).
const OBJECT_HEADER_LEN: usize = 3;

/// Decodes MiBeacon service data on UUID 0xFE95 (the bytes after the UUID): frame control,
/// product id, frame counter, then as the frame control says an embedded MAC (reversed), a
/// capability byte (and an I/O byte), and objects (id u16, length u8, value).
///
/// `mac` is the advertiser's address in display order; an embedded MAC must equal it. v4/v5
/// encryption (AES-128-CCM, 4-byte MIC, 3-byte extended counter, nonce = MAC reversed, product
/// id, frame counter, extended counter; AAD 0x11) needs `key`; v2/v3 "legacy" encryption is
/// not supported. With a key, plaintext frames are refused ([`DecodeError::NotEncrypted`]).
///
/// Objects this decoder does not know are skipped (their length is known); an object cut
/// short ends the frame, keeping the readings before it. A frame that gives no reading at all
/// is an error.
pub fn xiaomi_mibeacon(
    service_data: &[u8],
    mac: [u8; MAC_LEN],
    key: Option<&[u8; 16]>,
) -> Result<Decoded> {
    let Some((&[fc0, fc1, p0, p1, frame_counter], mut rest)) =
        service_data.split_first_chunk::<5>()
    else {
        return Err(DecodeError::Truncated {
            what: MIBEACON_WHAT,
            needed: 5,
            got: service_data.len(),
        });
    };
    let frame_control = u16::from_le_bytes([fc0, fc1]);
    let product_id = u16::from_le_bytes([p0, p1]);
    let version = frame_control >> 12;
    if frame_control & MESH != 0 {
        return Err(unsupported("mesh frames"));
    }
    if version < 2 {
        return Err(unsupported(format!("frame version {version}")));
    }
    let truncated = |needed: usize| DecodeError::Truncated {
        what: MIBEACON_WHAT,
        needed,
        got: service_data.len(),
    };

    // An embedded MAC must be the advertiser's, so `mac` is the nonce's MAC either way.
    if frame_control & MAC_INCLUDED != 0 {
        let (embedded, after) = rest
            .split_first_chunk::<MAC_LEN>()
            .ok_or_else(|| truncated(service_data.len() - rest.len() + MAC_LEN))?;
        let embedded = reversed(*embedded);
        check_mac(MIBEACON_WHAT, embedded, mac)?;
        rest = after;
    }
    if frame_control & CAPABILITY_INCLUDED != 0 {
        let (&capability, after) = rest
            .split_first()
            .ok_or_else(|| truncated(service_data.len() - rest.len() + 1))?;
        rest = after;
        if capability & IO_CAPABILITY_FOLLOWS != 0 {
            let (_io, after) = rest
                .split_first()
                .ok_or_else(|| truncated(service_data.len() - rest.len() + 1))?;
            rest = after;
        }
    }
    if frame_control & OBJECT_INCLUDED == 0 {
        return Err(DecodeError::Invalid {
            what: MIBEACON_WHAT,
            detail: "the frame carries no objects (a pairing or status frame)".to_owned(),
        });
    }
    let header_len = service_data.len() - rest.len();

    let encrypted = frame_control & ENCRYPTED != 0;
    let mut decoded = Decoded::new(Format::XiaomiMiBeacon);
    let plaintext;
    let objects = match (encrypted, key) {
        (true, _) if version <= 3 => {
            return Err(unsupported("legacy (v2/v3) encryption"));
        }
        (true, None) => return Err(DecodeError::Encrypted(MIBEACON_WHAT)),
        (false, Some(_)) => return Err(DecodeError::NotEncrypted(MIBEACON_WHAT)),
        (true, Some(key)) => {
            let needed = header_len + OBJECT_HEADER_LEN + EXT_COUNTER_LEN + MIC_LEN;
            let (rest, mic) = rest
                .split_last_chunk::<MIC_LEN>()
                .ok_or_else(|| truncated(needed))?;
            let (ciphertext, ext) = rest
                .split_last_chunk::<EXT_COUNTER_LEN>()
                .ok_or_else(|| truncated(needed))?;
            if ciphertext.len() < OBJECT_HEADER_LEN {
                return Err(truncated(needed));
            }
            let [m0, m1, m2, m3, m4, m5] = reversed(mac);
            let [e0, e1, e2] = *ext;
            let nonce = [m0, m1, m2, m3, m4, m5, p0, p1, frame_counter, e0, e1, e2];
            plaintext = crypt::open(key, (&nonce).into(), &AAD, ciphertext, mic)
                .ok_or(DecodeError::DecryptionFailed(MIBEACON_WHAT))?;
            decoded.replay_counter = Some(u32::from_le_bytes([frame_counter, e0, e1, e2]));
            plaintext.as_slice()
        }
        (false, None) => {
            if rest.len() < OBJECT_HEADER_LEN {
                return Err(truncated(header_len + OBJECT_HEADER_LEN));
            }
            rest
        }
    };
    decode_objects(objects, product_id, &mut decoded)?;
    Ok(decoded)
}

fn unsupported(detail: impl Into<String>) -> DecodeError {
    DecodeError::Unsupported {
        what: MIBEACON_WHAT,
        detail: detail.into(),
    }
}

fn decode_objects(mut objects: &[u8], product_id: u16, out: &mut Decoded) -> Result<()> {
    let mut first = true;
    while let Some((&[id0, id1, len], after_header)) = objects.split_first_chunk::<3>() {
        let id = u16::from_le_bytes([id0, id1]);
        let Some((value, after)) = after_header.split_at_checked(usize::from(len)) else {
            // As xiaomi-ble: a cut object ends the frame; what came before it stands.
            if first {
                return Err(DecodeError::Invalid {
                    what: MIBEACON_WHAT,
                    detail: format!(
                        "object 0x{id:04x} needs {len} bytes, only {} left",
                        after_header.len()
                    ),
                });
            }
            break;
        };
        decode_object(id, value, product_id, &mut out.readings);
        objects = after;
        first = false;
    }
    // Like a BTHome frame of "none" events: xiaomi-ble reports no value for a frame of
    // objects it does not turn into sensors (locks, fingerprints, unknown ids), and neither do
    // we; a caller learns why rather than getting an empty success.
    if out.readings.is_empty() {
        return Err(DecodeError::Invalid {
            what: MIBEACON_WHAT,
            detail: "no object in the frame is one this decoder reads as a value".to_owned(),
        });
    }
    Ok(())
}

/// Product ids whose objects mean something else than on other devices (xiaomi-ble's
/// device-specific branches). Every other device is read by its objects alone, so a new
/// product id (MJWSD06MMC's 0x55b5 and 0x5bea, CGDK3's 0x4f59...) needs no entry here.
const LYWSD03MMC: u16 = 0x055b;
const MHO_C401: u16 = 0x0387;
const MJYD02YL: u16 = 0x07f6;
const MCCGQ02HL: u16 = 0x098b;
const RTCGQ02LM: u16 = 0x0a8d;
const CGPR1: u16 = 0x0a83;
const XMMF01JQD: u16 = 0x04e1;
const K9B_1BTN: u16 = 0x1568;
const K9B_2BTN: u16 = 0x1569;
const K9B_3BTN: u16 = 0x0dfd;
const XMOSB01XS: u16 = 0x4683;
const XMWS01XS: u16 = 0x5968;
const XMWXKG01YL: u16 = 0x1949;
const XMWXKG01LM: u16 = 0x2387;
const K9BB_1BTN: u16 = 0x1c10;
const KS1: u16 = 0x3a61;
const KS1BP: u16 = 0x3e17;
const KS2BB: u16 = 0x520b;

/// One object into readings. A value of an unexpected size gives no reading: the object ids
/// are shared by many devices and an odd size means one we do not understand.
fn decode_object(id: u16, value: &[u8], product_id: u16, out: &mut Vec<DecodedReading>) {
    let number = |out: &mut Vec<DecodedReading>, metric, value: f64, unit| {
        // Float objects can carry NaN or infinity; a reading is always finite.
        if value.is_finite() {
            out.push(DecodedReading::number(metric, value, unit));
        }
    };
    let boolean = |out: &mut Vec<DecodedReading>, metric, value| {
        out.push(DecodedReading::boolean(metric, value));
    };
    match (id, value) {
        // Motion detected (MUE4094RT): an event, the device never reports "clear".
        (0x0003, [_, ..]) => out.push(DecodedReading::event("motion", "motion_detected")),
        // Door: open, closed, left open (timeout), knocked on (closed), pried (open), stuck
        // (closed).
        (0x0007, [state, ..]) => {
            if let Some(open) = match state {
                0x00 | 0x02 | 0x04 => Some(true),
                0x01 | 0x03 | 0x05 => Some(false),
                _ => None,
            } {
                boolean(out, "door", open);
            }
        }
        // Body temperature in 0.01 °C; 0 means no measurement.
        (0x000a, &[t0, t1]) => {
            let raw = i16::from_le_bytes([t0, t1]);
            if raw != 0 {
                number(out, "temperature", f64::from(raw) / 100.0, CELSIUS);
            }
        }
        // Motion, with a light value whose meaning depends on the device.
        (0x000f, &[l0, l1, l2]) => {
            let light = u32::from_le_bytes([l0, l1, l2, 0]);
            boolean(out, "motion", true);
            match product_id {
                MJYD02YL | RTCGQ02LM => boolean(out, "light", light >= 100),
                CGPR1 => number(out, "illuminance", f64::from(light), LUX),
                _ => {}
            }
        }
        // The Magic Cube sends its rotation in the button byte.
        (0x1001, &[direction, _, _]) if product_id == XMMF01JQD => match direction {
            0 => out.push(DecodedReading::event("cube", "rotate_right")),
            1 => out.push(DecodedReading::event("cube", "rotate_left")),
            _ => {}
        },
        // A button: only the press type, which remotes share; what each button does is
        // device-specific. The K9B wall switches number their press types differently (1 long,
        // 2 double) and name their buttons, alone or together, by the button byte: 0 on the
        // single switch, up to 2 on the double, up to 6 on the triple.
        (0x1001, &[button, _value, press]) => {
            let k9b_buttons = match product_id {
                K9B_1BTN => Some(0),
                K9B_2BTN => Some(2),
                K9B_3BTN => Some(6),
                _ => None,
            };
            let name = match (k9b_buttons, press) {
                (Some(last), _) if button > last => None,
                (_, 0) => Some("press"),
                (Some(_), 1) | (None, 2) => Some("long_press"),
                (Some(_), 2) | (None, 1) => Some("double_press"),
                _ => None,
            };
            if let Some(name) = name {
                out.push(DecodedReading::event("button", name));
            }
        }
        (0x1004, &[t0, t1]) => number(
            out,
            "temperature",
            f64::from(i16::from_le_bytes([t0, t1])) / 10.0,
            CELSIUS,
        ),
        // Kettle: switch state and water temperature in whole °C.
        (0x1005, &[switch, temperature, ..]) => {
            boolean(out, "power", switch != 0);
            number(out, "temperature", f64::from(temperature), CELSIUS);
        }
        (0x1006, &[h0, h1]) => {
            let tenths = u16::from_le_bytes([h0, h1]);
            // These two send humidity alone in whole percent plus a jittering tenth; like
            // xiaomi-ble (and ble_monitor before it) keep the whole percent so a chart does
            // not stair-step. Their combined 0x100D object is not affected.
            let humidity = match product_id {
                LYWSD03MMC | MHO_C401 => f64::from(tenths / 10),
                _ => f64::from(tenths) / 10.0,
            };
            number(out, "humidity", humidity, PERCENT);
        }
        // Illuminance in lux, except on two devices where 100 means light and 0/1 dark.
        (0x1007, &[l0, l1, l2]) => {
            let light = u32::from_le_bytes([l0, l1, l2, 0]);
            match product_id {
                MJYD02YL | MCCGQ02HL => boolean(out, "light", light == 100),
                _ => number(out, "illuminance", f64::from(light), LUX),
            }
        }
        (0x1008, &[moisture, ..]) => number(out, "moisture", f64::from(moisture), PERCENT),
        (0x1009, &[c0, c1]) => number(
            out,
            "conductivity",
            f64::from(u16::from_le_bytes([c0, c1])),
            Some("µS/cm"),
        ),
        (0x100a, &[battery, ..]) => number(out, "battery", f64::from(battery), PERCENT),
        (0x100d, &[t0, t1, h0, h1]) => {
            number(
                out,
                "temperature",
                f64::from(i16::from_le_bytes([t0, t1])) / 10.0,
                CELSIUS,
            );
            number(
                out,
                "humidity",
                f64::from(u16::from_le_bytes([h0, h1])) / 10.0,
                PERCENT,
            );
        }
        (0x1010, &[f0, f1]) => number(
            out,
            "formaldehyde",
            f64::from(u16::from_le_bytes([f0, f1])) / 100.0,
            Some("mg/m³"),
        ),
        // A switch is BTHome's "power" binary sensor (on/off).
        (0x1012, &[switch, ..]) => boolean(out, "power", switch != 0),
        (0x1013, &[consumable, ..]) => number(out, "consumable", f64::from(consumable), PERCENT),
        (0x1014, &[wet, ..]) => boolean(out, "moisture", wet != 0),
        (0x1015, &[smoke, ..]) => boolean(out, "smoke", smoke != 0),
        // Seconds without motion; the Mi Home app counts 30 s or less as motion.
        (0x1017, &[s0, s1, s2, s3]) => {
            boolean(out, "motion", u32::from_le_bytes([s0, s1, s2, s3]) <= 30)
        }
        (0x1018, &[light, ..]) => boolean(out, "light", light != 0),
        // Door/window: opened, closed, left open (timeout); 3 (device reset) says nothing.
        (0x1019, &[state, ..]) => match state {
            0x00 | 0x02 => boolean(out, "opening", true),
            0x01 => boolean(out, "opening", false),
            _ => {}
        },
        (0x101b, [_, ..]) => boolean(out, "motion", false),
        // MIoT-spec objects of newer devices (0x48xx, 0x4axx, 0x4cxx, 0x4exx, 0x50xx, 0x56xx).
        // One quantity can come under several ids: battery is 0x4803, 0x4c03 or 0x5003.
        //
        // Temperature and humidity of MJWSD06MMC, CGDK3, KS2BB; rounded to 0.1 like
        // xiaomi-ble, since the float32 carries noise below the sensor's resolution.
        (0x4801, &[b0, b1, b2, b3]) => number(
            out,
            "temperature",
            rounded(float32([b0, b1, b2, b3]), 1),
            CELSIUS,
        ),
        (0x4802 | 0x4c02, &[humidity]) => number(out, "humidity", f64::from(humidity), PERCENT),
        (0x4803 | 0x4c03 | 0x5003, &[battery, ..]) => {
            number(out, "battery", f64::from(battery), PERCENT)
        }
        (0x4804 | 0x4a12, &[state, ..]) => match state {
            1 => boolean(out, "opening", true),
            2 => boolean(out, "opening", false),
            _ => {}
        },
        (0x4805, &[b0, b1, b2, b3]) => number(out, "illuminance", float32([b0, b1, b2, b3]), LUX),
        (0x4808, &[b0, b1, b2, b3]) => number(
            out,
            "humidity",
            rounded(float32([b0, b1, b2, b3]), 1),
            PERCENT,
        ),
        (0x4806, &[wet]) => boolean(out, "moisture", wet != 0),
        // A door/window state where 0 is open and 1 closed (zhiee.magnet.mc01 and alike).
        (0x480c, &[state]) => match state {
            0 => boolean(out, "opening", true),
            1 => boolean(out, "opening", false),
            _ => {}
        },
        (0x4818, &[s0, s1]) => boolean(out, "motion", u16::from_le_bytes([s0, s1]) <= 30),
        // Seat pressure (PS1BB): somebody sits, and for how long (or how long nobody has).
        (0x483c, &[pressure]) => boolean(out, "occupancy", pressure != 0),
        (0x483d, &[s0, s1, s2, s3]) => number(
            out,
            "pressure_present_duration",
            f64::from(u32::from_le_bytes([s0, s1, s2, s3])),
            SECONDS,
        ),
        (0x483e, &[s0, s1, s2, s3]) => number(
            out,
            "pressure_not_present_duration",
            f64::from(u32::from_le_bytes([s0, s1, s2, s3])),
            SECONDS,
        ),
        // Occupancy status; XMOSB01XS sends 2 for a clear room too, others any non-zero value
        // for an occupied one.
        (0x484e, &[status]) => {
            let occupied = match product_id {
                XMOSB01XS => status == 1,
                _ => status != 0,
            };
            boolean(out, "occupancy", occupied);
        }
        // The presence sensors' settings: minutes until "detected" and until "clear".
        (0x4851, &[minutes]) => number(out, "duration_detected", f64::from(minutes), MINUTES),
        (0x4852, &[minutes]) => number(out, "duration_cleared", f64::from(minutes), MINUTES),
        (0x4a01 | 0x4e01, &[low, ..]) => boolean(out, "battery_low", low != 0),
        (0x4a08, &[b0, b1, b2, b3]) => {
            boolean(out, "motion", true);
            number(out, "illuminance", float32([b0, b1, b2, b3]), LUX);
        }
        // Button events by object: press, double press, long press. Most devices send no
        // value or one that says nothing here; XMWS01XS sends which of its two buttons (0 or
        // 1), and anything else from it is no press.
        (0x4a0c..=0x4a0e, _) if product_id != XMWS01XS || matches!(value, [0 | 1]) => {
            let name = match id {
                0x4a0c => "press",
                0x4a0d => "double_press",
                _ => "long_press",
            };
            out.push(DecodedReading::event("button", name));
        }
        // The same three button events in two more ranges, which only some devices use and each
        // in its own way: which button (XMWXKG01YL 1 to 3, KS1 1 to 4), or for K9BB the press
        // type in the value of 0x4e0c alone. Elsewhere these ids mean nothing known.
        (0x4e0c..=0x4e0e | 0x560c..=0x560e, _) => {
            let press = match id & 0xff {
                0x0c => "press",
                0x0d => "double_press",
                _ => "long_press",
            };
            let name = match (product_id, id, value) {
                (XMWXKG01YL, 0x4e0c..=0x4e0e, [1..=3]) => Some(press),
                (XMWXKG01LM, 0x4e0c..=0x4e0e, _) => Some(press),
                (K9BB_1BTN, 0x4e0c, [1]) => Some("press"),
                (K9BB_1BTN, 0x4e0c, [8]) => Some("long_press"),
                (K9BB_1BTN, 0x4e0c, [15]) => Some("double_press"),
                (KS1 | KS1BP, 0x560c, _) | (KS1 | KS1BP, 0x560d..=0x560e, [1..=4]) => Some(press),
                (KS2BB, 0x560c..=0x560e, _) => Some(press),
                _ => None,
            };
            if let Some(name) = name {
                out.push(DecodedReading::event("button", name));
            }
        }
        // Forcibly removed from the door, or left open: both mean it is open.
        (0x4a0f | 0x4a1a, &[1, ..]) => boolean(out, "opening", true),
        (0x4a13, &[1, ..]) => out.push(DecodedReading::event("button", "press")),
        // Rounded to 0.01 °C like xiaomi-ble: the float32 carries noise below that.
        (0x4c01, &[b0, b1, b2, b3]) => number(
            out,
            "temperature",
            rounded(float32([b0, b1, b2, b3]), 2),
            CELSIUS,
        ),
        (0x4c08, &[b0, b1, b2, b3]) => number(out, "humidity", float32([b0, b1, b2, b3]), PERCENT),
        // 0x4c14 (a thermometer's display mode) is a setting, not a measurement: like
        // xiaomi-ble, no reading. Other ids are skipped too (see the doc comment).
        _ => {}
    }
}

fn float32(bytes: [u8; 4]) -> f64 {
    f64::from(f32::from_le_bytes(bytes))
}

/// `value` to `decimals` places, ties to even as Python's `round` (xiaomi-ble's) does. A
/// float32 times 10 or 100 is exact in an f64, so the tie is a real one, not an artefact.
fn rounded(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round_ties_even() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_print_in_display_order() {
        assert_eq!(
            display_mac([0xa4, 0xc1, 0x38, 0x0a, 0xbb, 0xcc]),
            "A4:C1:38:0A:BB:CC"
        );
    }

    #[test]
    fn float_objects_never_give_non_finite_readings() {
        let mut out = Vec::new();
        for bits in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX] {
            for id in [0x4801, 0x4805, 0x4808, 0x4a08, 0x4c01, 0x4c08] {
                decode_object(id, &bits.to_le_bytes(), 0, &mut out);
            }
        }
        assert!(out
            .iter()
            .all(|reading| reading.value.as_number().is_none_or(f64::is_finite)));
    }
}
