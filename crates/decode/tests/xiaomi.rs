//! Xiaomi vectors of our own, built from the format descriptions (pvvx ATC_MiThermometer README,
//! atc1441's, the MiBeacon object definitions): frames sealed here with a known key decode
//! back (round trips), wrong keys, addresses and tampering fail, and every truncation fails or
//! keeps a leading part, never panics. The golden vectors are in golden.rs.

mod common;

use aes::Aes128;
use ccm::aead::generic_array::{ArrayLength, GenericArray};
use ccm::aead::{Aead, KeyInit, Payload};
use ccm::consts::U4;
use ccm::{Ccm, NonceSize};
use common::{hex, load, prefixes};
use telltale_decode::{
    advertisement, xiaomi_atc, xiaomi_mibeacon, Advertisement, DecodeError, Decoded, Format,
    Result, Value,
};

const KEY: [u8; 16] = [
    0x9d, 0x4a, 0x1c, 0x7e, 0x00, 0xff, 0x31, 0x42, 0x5b, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc,
];
/// A4:C1:38:12:AB:CD in display order.
const MAC: [u8; 6] = [0xa4, 0xc1, 0x38, 0x12, 0xab, 0xcd];

fn seal<N>(nonce: &GenericArray<u8, N>, key: &[u8; 16], plaintext: &[u8]) -> Vec<u8>
where
    N: ArrayLength<u8> + NonceSize,
{
    Ccm::<Aes128, U4, N>::new(key.into())
        .encrypt(
            nonce,
            Payload {
                msg: plaintext,
                aad: &[0x11],
            },
        )
        .expect("CCM seals any short message")
}

fn reversed(mut mac: [u8; 6]) -> [u8; 6] {
    mac.reverse();
    mac
}

/// An encrypted custom-firmware frame: counter, ciphertext, MIC.
fn seal_custom(mac: [u8; 6], key: &[u8; 16], counter: u8, plaintext: &[u8]) -> Vec<u8> {
    let frame_len = 1 + plaintext.len() + 4;
    let mut nonce = reversed(mac).to_vec();
    nonce.extend([frame_len as u8 + 3, 0x16, 0x1a, 0x18, counter]);
    let nonce: [u8; 11] = nonce.try_into().unwrap();
    let mut frame = vec![counter];
    frame.extend(seal((&nonce).into(), key, plaintext));
    frame
}

fn numbers(decoded: &Decoded) -> Vec<(&str, f64)> {
    decoded
        .readings
        .iter()
        .map(|r| (r.metric.as_str(), r.value.as_number().expect("a number")))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 0x181A custom firmware

#[test]
fn pvvx_encrypted_round_trip() {
    // 23.45 °C, 56.78 %, 91 %, flags.
    let plaintext = [0x29, 0x09, 0x2e, 0x16, 91, 0x04];
    let frame = seal_custom(MAC, &KEY, 0xa7, &plaintext);
    assert_eq!(frame.len(), 11);
    let decoded = xiaomi_atc(&frame, MAC, Some(&KEY)).unwrap();
    assert_eq!(decoded.format, Format::XiaomiPvvxEncrypted);
    assert_eq!(decoded.replay_counter, Some(0xa7));
    assert_eq!(
        numbers(&decoded),
        [
            ("temperature", 23.45),
            ("humidity", 56.78),
            ("battery", 91.0)
        ]
    );
    let units: Vec<_> = decoded.readings.iter().map(|r| r.unit).collect();
    assert_eq!(units, [Some("°C"), Some("%"), Some("%")]);
}

#[test]
fn atc1441_encrypted_covers_the_whole_temperature_byte() {
    for byte in 0..=u8::MAX {
        // Battery 37 % with the trigger bit set: the bit is not part of the percentage.
        let frame = seal_custom(MAC, &KEY, byte, &[byte, 101, 0x80 | 37]);
        assert_eq!(frame.len(), 8);
        let decoded = xiaomi_atc(&frame, MAC, Some(&KEY)).unwrap();
        assert_eq!(decoded.format, Format::XiaomiAtc1441Encrypted);
        assert_eq!(decoded.replay_counter, Some(u32::from(byte)));
        assert_eq!(
            numbers(&decoded),
            [
                ("temperature", f64::from(byte) / 2.0 - 40.0),
                ("humidity", 50.5),
                ("battery", 37.0)
            ]
        );
    }
}

#[test]
fn custom_encryption_rejects_wrong_keys_addresses_and_tampering() {
    let frame = seal_custom(MAC, &KEY, 3, &[0x10, 0x27, 0x10, 0x27, 50, 0]);
    let failed = Err(DecodeError::DecryptionFailed(
        "Xiaomi custom firmware (0x181A)",
    ));
    let mut wrong_key = KEY;
    wrong_key[0] ^= 1;
    assert_eq!(xiaomi_atc(&frame, MAC, Some(&wrong_key)), failed);
    let mut wrong_mac = MAC;
    wrong_mac[5] ^= 1;
    assert_eq!(xiaomi_atc(&frame, wrong_mac, Some(&KEY)), failed);
    for at in 0..frame.len() {
        for bit in 0..8 {
            let mut tampered = frame.clone();
            tampered[at] ^= 1 << bit;
            assert_eq!(
                xiaomi_atc(&tampered, MAC, Some(&KEY)),
                failed,
                "byte {at} bit {bit}"
            );
        }
    }
    assert_eq!(
        xiaomi_atc(&frame, MAC, None),
        Err(DecodeError::Encrypted("Xiaomi custom firmware (0x181A)"))
    );
}

#[test]
fn plaintext_custom_frames_check_the_embedded_mac_and_refuse_downgrades() {
    // pvvx (MAC reversed, little-endian) and atc1441 (MAC in order, big-endian) for MAC.
    let pvvx = hex("cdab1238c1a4 2909 2e16 b80b 5b 07 00");
    let atc1441 = hex("a4c13812abcd 00ea 38 5b 0bb8 07");
    let decoded = xiaomi_atc(&pvvx, MAC, None).unwrap();
    assert_eq!(decoded.format, Format::XiaomiPvvx);
    assert_eq!(decoded.replay_counter, None);
    assert_eq!(
        numbers(&decoded),
        [
            ("temperature", 23.45),
            ("humidity", 56.78),
            ("voltage", 3.0),
            ("battery", 91.0)
        ]
    );
    let decoded = xiaomi_atc(&atc1441, MAC, None).unwrap();
    assert_eq!(decoded.format, Format::XiaomiAtc1441);
    assert_eq!(
        numbers(&decoded),
        [
            ("temperature", 23.4),
            ("humidity", 56.0),
            ("voltage", 3.0),
            ("battery", 91.0)
        ]
    );
    let mut other = MAC;
    other[0] = 0xa5;
    for frame in [&pvvx, &atc1441] {
        assert_eq!(
            xiaomi_atc(frame, other, None),
            Err(DecodeError::AddressMismatch {
                what: "Xiaomi custom firmware (0x181A)",
                embedded: "A4:C1:38:12:AB:CD".to_owned(),
                advertiser: "A5:C1:38:12:AB:CD".to_owned(),
            })
        );
        assert_eq!(
            xiaomi_atc(frame, MAC, Some(&KEY)),
            Err(DecodeError::NotEncrypted("Xiaomi custom firmware (0x181A)"))
        );
    }
}

#[test]
fn custom_formats_are_told_apart_by_length() {
    let plain = hex("cdab1238c1a4 2909 2e16 b80b 5b 07 00 ffff");
    for len in 0..=plain.len() {
        let result = xiaomi_atc(&plain[..len], MAC, None);
        match len {
            13 | 15 => {
                // 13 bytes of a pvvx frame read as atc1441 name another MAC.
                if len == 15 {
                    assert!(result.is_ok());
                } else {
                    assert!(
                        matches!(result, Err(DecodeError::AddressMismatch { .. })),
                        "{result:?}"
                    );
                }
            }
            8 | 11 => assert!(matches!(result, Err(DecodeError::Encrypted(_)))),
            _ => assert!(
                matches!(result, Err(DecodeError::Invalid { .. })),
                "{len}: {result:?}"
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// MiBeacon

/// Builds a MiBeacon frame: frame control, product id, counter, MAC (when flagged),
/// capability (when given), then objects, sealed with `key` when given (v4/v5 layout).
struct Beacon {
    frame_control: u16,
    product_id: u16,
    counter: u8,
    capability: Option<Vec<u8>>,
    ext_counter: [u8; 3],
    objects: Vec<u8>,
}

impl Beacon {
    fn new(version: u16, objects: &str) -> Self {
        // Objects included, MAC included.
        Beacon {
            frame_control: (version << 12) | 0x0050,
            product_id: 0x055b,
            counter: 0x42,
            capability: None,
            ext_counter: [0x01, 0x02, 0x03],
            objects: hex(objects),
        }
    }

    fn build(&self, mac: [u8; 6], key: Option<&[u8; 16]>) -> Vec<u8> {
        let mut frame_control = self.frame_control;
        if key.is_some() {
            frame_control |= 0x0008;
        }
        if self.capability.is_some() {
            frame_control |= 0x0020;
        }
        let mut frame = frame_control.to_le_bytes().to_vec();
        frame.extend(self.product_id.to_le_bytes());
        frame.push(self.counter);
        if frame_control & 0x0010 != 0 {
            frame.extend(reversed(mac));
        }
        if let Some(capability) = &self.capability {
            frame.extend(capability);
        }
        match key {
            None => frame.extend(&self.objects),
            Some(key) => {
                let mut nonce = reversed(mac).to_vec();
                nonce.extend(self.product_id.to_le_bytes());
                nonce.push(self.counter);
                nonce.extend(self.ext_counter);
                let nonce: [u8; 12] = nonce.try_into().unwrap();
                let sealed = seal((&nonce).into(), key, &self.objects);
                let (ciphertext, mic) = sealed.split_at(sealed.len() - 4);
                frame.extend(ciphertext);
                frame.extend(self.ext_counter);
                frame.extend(mic);
            }
        }
        frame
    }
}

/// One of each object family, in payload order, and what it reads as.
const OBJECTS: &str = "0d1004 1c01 e901 \
                       0610 02 d301 \
                       0a10 01 5d \
                       0410 02 9cff \
                       0710 03 e80300 \
                       0810 01 2a \
                       0910 02 f401 \
                       1010 02 0f00 \
                       1210 01 01 \
                       1410 01 00 \
                       1510 01 01 \
                       1910 01 00 \
                       1810 01 00 \
                       1710 04 78000000 \
                       0700 01 01 \
                       011a 01 00 \
                       034c 01 50 \
                       024c 01 37 \
                       014c 04 0000c841 \
                       014a 01 01";

fn expected_objects() -> Vec<(&'static str, Value, Option<&'static str>)> {
    let n = Value::Number;
    vec![
        ("temperature", n(28.4), Some("°C")),
        ("humidity", n(48.9), Some("%")),
        // LYWSD03MMC: 0x1006 humidity alone is kept to the whole percent (46.7 -> 46).
        ("humidity", n(46.0), Some("%")),
        ("battery", n(93.0), Some("%")),
        ("temperature", n(-10.0), Some("°C")),
        ("illuminance", n(1000.0), Some("lx")),
        ("moisture", n(42.0), Some("%")),
        ("conductivity", n(500.0), Some("µS/cm")),
        ("formaldehyde", n(0.15), Some("mg/m³")),
        ("power", Value::Bool(true), None),
        ("moisture", Value::Bool(false), None),
        ("smoke", Value::Bool(true), None),
        ("opening", Value::Bool(true), None),
        ("light", Value::Bool(false), None),
        ("motion", Value::Bool(false), None),
        ("door", Value::Bool(false), None),
        // 0x1a01 is no object we read: skipped, the ones after it still count.
        ("battery", n(80.0), Some("%")),
        ("humidity", n(55.0), Some("%")),
        ("temperature", n(25.0), Some("°C")),
        ("battery_low", Value::Bool(true), None),
    ]
}

fn triples(decoded: &Decoded) -> Vec<(&str, Value, Option<&'static str>)> {
    decoded
        .readings
        .iter()
        .map(|r| (r.metric.as_str(), r.value.clone(), r.unit))
        .collect()
}

#[test]
fn mibeacon_objects_decode_in_payload_order() {
    let beacon = Beacon::new(5, OBJECTS);
    let decoded = xiaomi_mibeacon(&beacon.build(MAC, None), MAC, None).unwrap();
    assert_eq!(decoded.format, Format::XiaomiMiBeacon);
    assert_eq!(decoded.replay_counter, None);
    assert_eq!(triples(&decoded), expected_objects());
}

#[test]
fn mibeacon_v4_v5_encryption_round_trip() {
    for version in [4, 5] {
        let mut beacon = Beacon::new(version, OBJECTS);
        // Without the embedded MAC the advertiser's address is the nonce's.
        beacon.frame_control &= !0x0010;
        // A capability byte announcing an I/O-capability byte after it.
        beacon.capability = Some(vec![0x28, 0x01]);
        let frame = beacon.build(MAC, Some(&KEY));
        let decoded = xiaomi_mibeacon(&frame, MAC, Some(&KEY)).unwrap();
        assert_eq!(triples(&decoded), expected_objects(), "v{version}");
        // Frame counter 0x42 below the extended counter 0x030201.
        assert_eq!(decoded.replay_counter, Some(0x0302_0142));
    }
}

#[test]
fn mibeacon_encryption_rejects_wrong_keys_addresses_and_tampering() {
    let beacon = Beacon::new(5, "0610 02 d301");
    let frame = beacon.build(MAC, Some(&KEY));
    let failed = Err(DecodeError::DecryptionFailed("Xiaomi MiBeacon"));
    let mut wrong_key = KEY;
    wrong_key[15] ^= 0x80;
    assert_eq!(xiaomi_mibeacon(&frame, MAC, Some(&wrong_key)), failed);
    assert_eq!(
        xiaomi_mibeacon(&frame, MAC, None),
        Err(DecodeError::Encrypted("Xiaomi MiBeacon"))
    );
    // Past the header (frame control, product id, counter, MAC) every flipped bit is caught
    // by the MIC; in the product id and counter too, since both are in the nonce.
    for at in 2..frame.len() {
        let mut tampered = frame.clone();
        tampered[at] ^= 0x01;
        let result = xiaomi_mibeacon(&tampered, MAC, Some(&KEY));
        if (5..11).contains(&at) {
            assert!(
                matches!(result, Err(DecodeError::AddressMismatch { .. })),
                "byte {at}: {result:?}"
            );
        } else {
            assert_eq!(result, failed, "byte {at}");
        }
    }
    // Without the embedded MAC, a different advertiser means a different nonce.
    let mut beacon = beacon;
    beacon.frame_control &= !0x0010;
    let frame = beacon.build(MAC, Some(&KEY));
    let mut other = MAC;
    other[2] ^= 0x40;
    assert_eq!(xiaomi_mibeacon(&frame, other, Some(&KEY)), failed);
}

#[test]
fn mibeacon_frames_the_decoder_refuses_say_why() {
    let plain = Beacon::new(3, "0610 02 d301");
    let frame = plain.build(MAC, None);
    assert!(xiaomi_mibeacon(&frame, MAC, None).is_ok());
    assert_eq!(
        xiaomi_mibeacon(&frame, MAC, Some(&KEY)),
        Err(DecodeError::NotEncrypted("Xiaomi MiBeacon"))
    );
    let mut other = MAC;
    other[3] = 0;
    assert!(matches!(
        xiaomi_mibeacon(&frame, other, None),
        Err(DecodeError::AddressMismatch { .. })
    ));

    let unsupported = |detail: &str| {
        Err(DecodeError::Unsupported {
            what: "Xiaomi MiBeacon",
            detail: detail.to_owned(),
        })
    };
    // v3 encrypted: legacy encryption, whatever the key.
    let legacy = Beacon::new(3, "0610 02 d301").build(MAC, Some(&KEY));
    assert_eq!(
        xiaomi_mibeacon(&legacy, MAC, Some(&KEY)),
        unsupported("legacy (v2/v3) encryption")
    );
    assert_eq!(
        xiaomi_mibeacon(&legacy, MAC, None),
        unsupported("legacy (v2/v3) encryption")
    );
    let mut mesh = Beacon::new(5, "0610 02 d301");
    mesh.frame_control |= 0x0080;
    assert_eq!(
        xiaomi_mibeacon(&mesh.build(MAC, None), MAC, None),
        unsupported("mesh frames")
    );
    let old = Beacon::new(1, "0610 02 d301");
    assert_eq!(
        xiaomi_mibeacon(&old.build(MAC, None), MAC, None),
        unsupported("frame version 1")
    );
    let mut no_objects = Beacon::new(5, "");
    no_objects.frame_control &= !0x0040;
    assert!(matches!(
        xiaomi_mibeacon(&no_objects.build(MAC, None), MAC, None),
        Err(DecodeError::Invalid { .. })
    ));
    // Only objects we do not read (a fingerprint, a lock event): no value, an error.
    let unknown = Beacon::new(5, "0600 05 0000000000 0b00 09 000000000000000000");
    assert!(matches!(
        xiaomi_mibeacon(&unknown.build(MAC, None), MAC, None),
        Err(DecodeError::Invalid { .. })
    ));
    // An object of an unexpected size is skipped, not misread.
    let odd = Beacon::new(5, "0410 03 9cff00 0a10 01 5d");
    let decoded = xiaomi_mibeacon(&odd.build(MAC, None), MAC, None).unwrap();
    assert_eq!(numbers(&decoded), [("battery", 93.0)]);
}

// ---------------------------------------------------------------------------------------------
// Truncation at every length, and detection

/// Every strict prefix fails, or (plaintext MiBeacon only) keeps a leading part of the readings.
fn check_truncations(frame: &[u8], decode: impl Fn(&[u8]) -> Result<Decoded>, may_keep: bool) {
    let whole = decode(frame).expect("the whole frame decodes");
    for prefix in prefixes(frame) {
        match decode(prefix) {
            Err(error) => assert!(!error.to_string().contains('\n')),
            Ok(part) if may_keep => assert!(
                whole.readings.starts_with(&part.readings) && !part.readings.is_empty(),
                "{prefix:02x?}"
            ),
            Ok(part) => panic!("{prefix:02x?} decoded {part:?}"),
        }
    }
}

#[test]
fn truncation_at_every_length() {
    let custom = [
        seal_custom(MAC, &KEY, 1, &[0x29, 0x09, 0x2e, 0x16, 91, 0]),
        seal_custom(MAC, &KEY, 2, &[100, 101, 37]),
    ];
    for frame in &custom {
        check_truncations(frame, |bytes| xiaomi_atc(bytes, MAC, Some(&KEY)), false);
    }
    let plain = hex("cdab1238c1a4 2909 2e16 b80b 5b 07 00");
    check_truncations(&plain, |bytes| xiaomi_atc(bytes, MAC, None), false);

    let beacon = Beacon::new(5, OBJECTS);
    check_truncations(
        &beacon.build(MAC, Some(&KEY)),
        |bytes| xiaomi_mibeacon(bytes, MAC, Some(&KEY)),
        false,
    );
    check_truncations(
        &beacon.build(MAC, None),
        |bytes| xiaomi_mibeacon(bytes, MAC, None),
        true,
    );

    let file = load("xiaomi_atc.json");
    let mut count = 0;
    for (section, decode) in [
        (
            "atc_181a",
            xiaomi_atc as fn(&[u8], [u8; 6], Option<&[u8; 16]>) -> Result<Decoded>,
        ),
        ("xiaomi_mibeacon", xiaomi_mibeacon),
    ] {
        for vector in file[section].as_array().expect("a list") {
            if vector["expect_error"] == true {
                continue;
            }
            let data = hex(vector["service_data_hex"].as_str().expect("hex"));
            let mac = hex(&vector["mac"].as_str().expect("mac").replace(':', ""));
            let mac: [u8; 6] = mac.try_into().expect("6 bytes");
            let key = vector["bindkey"]
                .as_str()
                .map(|key| <[u8; 16]>::try_from(hex(key).as_slice()).expect("16 bytes"));
            let plaintext_beacon = section == "xiaomi_mibeacon" && key.is_none();
            check_truncations(
                &data,
                |bytes| decode(bytes, mac, key.as_ref()),
                plaintext_beacon,
            );
            count += 1;
        }
    }
    assert!(count >= 14, "{count}");
}

#[test]
fn detection_picks_the_decoder_from_the_advertisement() {
    let pvvx = hex("cdab1238c1a4 2909 2e16 b80b 5b 07 00");
    let beacon = Beacon::new(5, "0a10 01 5d").build(MAC, Some(&KEY));
    let bthome = hex("40 0161");
    let ruuvi = hex("0512fc5394c37c0004fffc040cac364200cdcbb8334c884f");
    let ad = |service: &[(u16, Vec<u8>)], maker: &[(u16, Vec<u8>)], key| {
        advertisement(&Advertisement {
            address: MAC,
            local_name: Some("ATC_12ABCD"),
            service_data: service,
            manufacturer_data: maker,
            bindkey: key,
        })
    };
    let format = |result: Result<Decoded>| result.map(|decoded| decoded.format);

    assert_eq!(
        format(ad(&[(0x181a, pvvx.clone())], &[], None)),
        Ok(Format::XiaomiPvvx)
    );
    assert_eq!(
        format(ad(&[(0xfe95, beacon.clone())], &[], Some(&KEY))),
        Ok(Format::XiaomiMiBeacon)
    );
    assert_eq!(
        format(ad(&[(0x180f, vec![100])], &[(0x0499, ruuvi.clone())], None)),
        Ok(Format::RuuviRawV2)
    );
    // BTHome comes first when a device sends several formats.
    assert_eq!(
        format(ad(
            &[(0x181a, pvvx.clone()), (0xfcd2, bthome.clone())],
            &[(0x0499, ruuvi)],
            None
        )),
        Ok(Format::BtHomeV2)
    );
    // A format that fails does not hide one that decodes...
    assert_eq!(
        format(ad(
            &[(0xfcd2, hex("40")), (0x181a, pvvx.clone())],
            &[],
            None
        )),
        Ok(Format::XiaomiPvvx)
    );
    // ...and when none decodes, the first known format's reason is the answer.
    assert_eq!(
        ad(&[(0xfe95, beacon.clone())], &[(0x004c, hex("0215"))], None),
        Err(DecodeError::Encrypted("Xiaomi MiBeacon"))
    );
    assert!(matches!(
        ad(
            &[(0xfe95, beacon), (0x181a, pvvx[..12].to_vec())],
            &[],
            None
        ),
        Err(DecodeError::Invalid {
            what: "Xiaomi custom firmware (0x181A)",
            ..
        })
    ));
    assert_eq!(
        ad(&[(0x180f, vec![100])], &[(0x004c, hex("0215"))], None),
        Err(DecodeError::NoKnownFormat)
    );
    assert_eq!(ad(&[], &[], None), Err(DecodeError::NoKnownFormat));
    assert_eq!(
        DecodeError::NoKnownFormat.to_string(),
        "no known format in this advertisement"
    );
}
