//! Vectors from the specifications (see `common/cases.rs`), the error each malformed input
//! gives, BTHome encryption round trips, and the JSON shape of the output.

mod common;

use aes::Aes128;
use ccm::aead::{Aead, KeyInit, Payload};
use ccm::consts::{U13, U4};
use ccm::Ccm;
use common::cases::{Case, Want, BTHOME, GATT, RUUVI};
use common::hex;
use telltale_decode::{
    bthome_v2, bthome_v2_with_key, gatt, ruuvi, seal_bthome_v2, DecodeError, Decoded,
    DecodedReading, Format, Value,
};

fn reading_matches(ours: &DecodedReading, want: &Want) -> bool {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    match *want {
        Want::Number(metric, value, unit) => {
            ours.metric == metric
                && ours.unit == unit
                && ours.steps.is_none()
                && matches!(ours.value, Value::Number(v) if close(v, value))
        }
        Want::Bool(metric, value) => {
            ours.metric == metric && ours.unit.is_none() && ours.value == Value::Bool(value)
        }
        Want::Event(metric, name) => {
            ours.metric == metric
                && ours.steps.is_none()
                && ours.value == Value::Event(name.to_owned())
        }
        Want::Dimmer(name, steps) => {
            ours.metric == "dimmer"
                && ours.steps == Some(steps)
                && ours.value == Value::Event(name.to_owned())
        }
        Want::Text(metric, text) => {
            ours.metric == metric && ours.value == Value::Text(text.to_owned())
        }
    }
}

fn check(
    cases: &[Case],
    decode: impl Fn(&Case) -> telltale_decode::Result<Decoded>,
    format: impl Fn(&Case) -> Format,
) {
    assert!(!cases.is_empty());
    for case in cases {
        let decoded = decode(case).unwrap_or_else(|error| panic!("{}: {error}", case.name));
        assert_eq!(decoded.format, format(case), "{}", case.name);
        let agree = decoded.readings.len() == case.want.len()
            && decoded
                .readings
                .iter()
                .zip(case.want)
                .all(|(ours, want)| reading_matches(ours, want));
        assert!(
            agree,
            "{}:\n  ours: {:?}\n  want: {:?}",
            case.name, decoded.readings, case.want
        );
    }
}

#[test]
fn bthome_spec_examples() {
    check(
        BTHOME,
        |case| bthome_v2(&hex(case.hex)),
        |_| Format::BtHomeV2,
    );
    println!("{} BTHome spec cases", BTHOME.len());
}

#[test]
fn ruuvi_spec_vectors() {
    check(
        RUUVI,
        |case| ruuvi(&hex(case.hex)),
        |case| {
            if case.hex.starts_with("05") {
                Format::RuuviRawV2
            } else {
                Format::RuuviRawV1
            }
        },
    );
}

#[test]
fn gatt_spec_layouts() {
    check(
        GATT,
        |case| gatt(case.uuid, &hex(case.hex)),
        |case| match case.uuid {
            0x2a37 => Format::GattHeartRate,
            0x2a1c => Format::GattTemperatureMeasurement,
            0x2a19 => Format::GattBatteryLevel,
            0x2a6e => Format::GattTemperature,
            0x2a6f => Format::GattHumidity,
            _ => Format::GattPressure,
        },
    );
}

#[test]
fn bthome_packet_id_is_exposed_not_a_reading() {
    let decoded = bthome_v2(&hex("4000090161")).unwrap();
    assert_eq!(decoded.packet_id, Some(9));
    assert_eq!(decoded.readings.len(), 1);
    assert_eq!(ruuvi(&hex(RUUVI[0].hex)).unwrap().packet_id, None);
}

#[test]
fn each_malformed_input_names_its_problem() {
    let cases: Vec<(&str, telltale_decode::Result<Decoded>, DecodeError)> = vec![
        (
            "empty BTHome",
            bthome_v2(&[]),
            DecodeError::Truncated {
                what: "BTHome v2",
                needed: 1,
                got: 0,
            },
        ),
        (
            "BTHome version 1",
            bthome_v2(&hex("2002ca09")),
            DecodeError::UnsupportedBtHomeVersion(1),
        ),
        (
            "BTHome version 3",
            bthome_v2(&hex("6002ca09")),
            DecodeError::UnsupportedBtHomeVersion(3),
        ),
        (
            "unknown first object",
            bthome_v2(&hex("40ff0161")),
            DecodeError::UnknownBtHomeObject(0xff),
        ),
        (
            "encrypted without key",
            bthome_v2(&hex("41a47266c95f730011223378237214")),
            DecodeError::Encrypted("BTHome v2"),
        ),
        (
            // bthome-ble reports no value for it either (golden synthetic:dimmer_event_0x00).
            "BTHome frame that says nothing",
            bthome_v2(&hex("403c0000")),
            DecodeError::Invalid {
                what: "BTHome v2",
                detail: "the objects carry no value (only empty or \"none\" events or text)"
                    .to_owned(),
            },
        ),
        (
            // bthome-ble's test_bthome_text_invalid frame: it reports no value either.
            "BTHome text that is not UTF-8",
            bthome_v2(&hex("44530187")),
            DecodeError::Invalid {
                what: "BTHome v2",
                detail: "text object 0x53 is not valid UTF-8 (byte 0x87 at offset 0 of 1)"
                    .to_owned(),
            },
        ),
        (
            "BTHome text that ends inside a character",
            bthome_v2(&hex("405302 41c3")),
            DecodeError::Invalid {
                what: "BTHome v2",
                detail: "text object 0x53 is not valid UTF-8 (it ends inside a character at \
                         offset 1 of 2)"
                    .to_owned(),
            },
        ),
        (
            "embedded MAC cut short",
            bthome_v2(&hex("42b2188d")),
            DecodeError::Truncated {
                what: "BTHome v2 with embedded MAC",
                needed: 7,
                got: 4,
            },
        ),
        (
            "empty Ruuvi",
            ruuvi(&[]),
            DecodeError::Truncated {
                what: "Ruuvi manufacturer data",
                needed: 1,
                got: 0,
            },
        ),
        (
            "Ruuvi Eddystone format",
            ruuvi(&hex("0229")),
            DecodeError::UnsupportedRuuviFormat(2),
        ),
        (
            "Ruuvi format 5 without MAC",
            ruuvi(&hex("0512fc5394c37c0004fffc040cac364200cd")),
            DecodeError::Truncated {
                what: "Ruuvi data format 5",
                needed: 24,
                got: 18,
            },
        ),
        (
            "unsupported characteristic",
            gatt(0x2a00, b"name"),
            DecodeError::UnsupportedCharacteristic(0x2a00),
        ),
        (
            "heart rate flags only",
            gatt(0x2a37, &hex("00")),
            DecodeError::Truncated {
                what: "Heart Rate Measurement (0x2A37)",
                needed: 2,
                got: 1,
            },
        ),
        (
            "battery level two bytes",
            gatt(0x2a19, &hex("6400")),
            DecodeError::WrongLength {
                what: "Battery Level (0x2A19)",
                expected: 1,
                got: 2,
            },
        ),
    ];
    for (name, result, expected) in cases {
        assert_eq!(result, Err(expected), "{name}");
    }

    let invalid = [
        ("truncated object", bthome_v2(&hex("4004138a"))),
        ("zero objects", bthome_v2(&hex("40"))),
        ("text longer than payload", bthome_v2(&hex("405409616263"))),
        ("odd RR bytes", gatt(0x2a37, &hex("104800040a"))),
        ("battery above 100", gatt(0x2a19, &hex("65"))),
        ("humidity above 100", gatt(0x2a6f, &hex("1127"))),
        ("below absolute zero", gatt(0x2a6e, &hex("4c95"))),
    ];
    for (name, result) in invalid {
        let error = result.expect_err(name);
        let message = error.to_string();
        assert!(
            !message.is_empty() && !message.contains('\n'),
            "{name}: {message:?}"
        );
    }
}

#[test]
fn error_messages_read_as_one_line() {
    let error = bthome_v2(&hex("4004138a")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "BTHome v2: object 0x04 needs 3 bytes, only 2 left"
    );
    assert_eq!(
        gatt(0x2a00, &[]).unwrap_err().to_string(),
        "GATT: characteristic 0x2A00 is not supported"
    );
}

// ---------------------------------------------------------------------------------------------
// Encryption: frames sealed here with the bindkey example of bthome.io/encryption.

const KEY: [u8; 16] = [
    0x23, 0x1d, 0x39, 0xc1, 0xd7, 0xcc, 0x1a, 0xb1, 0xae, 0xe2, 0x24, 0xcd, 0x09, 0x6d, 0xb9, 0x32,
];
const MAC: [u8; 6] = [0x54, 0x48, 0xe6, 0x8f, 0x80, 0xa5];

/// Builds encrypted service data the way a BTHome device does.
fn seal(
    adv_info: u8,
    embedded_mac: Option<[u8; 6]>,
    counter: [u8; 4],
    plaintext: &[u8],
) -> Vec<u8> {
    let mac = embedded_mac.unwrap_or(MAC);
    let mut nonce = [0u8; 13];
    nonce[..6].copy_from_slice(&mac);
    nonce[6..8].copy_from_slice(&[0xd2, 0xfc]);
    nonce[8] = adv_info;
    nonce[9..].copy_from_slice(&counter);
    let sealed = Ccm::<Aes128, U4, U13>::new((&KEY).into())
        .encrypt(
            (&nonce).into(),
            Payload {
                msg: plaintext,
                aad: &[],
            },
        )
        .unwrap();
    let (ciphertext, mic) = sealed.split_at(sealed.len() - 4);
    let mut frame = vec![adv_info];
    if let Some(mac) = embedded_mac {
        frame.extend(mac.iter().rev());
    }
    frame.extend_from_slice(ciphertext);
    frame.extend_from_slice(&counter);
    frame.extend_from_slice(mic);
    frame
}

#[test]
fn bthome_encrypted_frames_decrypt_with_the_bindkey() {
    let frame = seal(0x41, None, [0x00, 0x11, 0x22, 0x33], &hex("02ca09 03bf13"));
    let decoded = bthome_v2_with_key(&frame, MAC, Some(&KEY)).unwrap();
    let values: Vec<_> = decoded
        .readings
        .iter()
        .map(|r| (r.metric.as_str(), r.value.clone()))
        .collect();
    assert_eq!(
        values,
        [
            ("temperature", Value::Number(25.06)),
            ("humidity", Value::Number(50.55))
        ]
    );
    assert_eq!(bthome_v2(&frame), Err(DecodeError::Encrypted("BTHome v2")));
    assert_eq!(
        bthome_v2_with_key(&frame, MAC, None),
        Err(DecodeError::Encrypted("BTHome v2"))
    );
}

/// The public sealer gives bthome-ble's own test frame byte for byte, and opens again.
#[test]
fn bthome_sealing_matches_the_reference_frame() {
    let mac = [0x54, 0x48, 0xe6, 0x8f, 0x80, 0xa5];
    let key: [u8; 16] = hex("231d39c1d7cc1ab1aee224cd096db932").try_into().unwrap();
    let frame = seal_bthome_v2(&hex("02ca09 03bf13"), mac, &key, 0x0011_2233);
    assert_eq!(frame, hex("41e445f3c9962b332211006c7c4519"));
    let decoded = bthome_v2_with_key(&frame, mac, Some(&key)).unwrap();
    assert_eq!(decoded.replay_counter, Some(0x0011_2233));
    assert_eq!(decoded.readings.len(), 2);
}

#[test]
fn bthome_embedded_mac_takes_part_in_the_nonce() {
    let device = [0xa4, 0xc1, 0x38, 0x8d, 0x18, 0xb2];
    let frame = seal(0x43, Some(device), [1, 0, 0, 0], &hex("0009 2d01"));
    // The advertiser address differs (a random address, a proxy): the embedded MAC wins.
    let decoded = bthome_v2_with_key(&frame, MAC, Some(&KEY)).unwrap();
    assert_eq!(decoded.packet_id, Some(9));
    assert_eq!(decoded.readings[0].value, Value::Bool(true));
}

#[test]
fn bthome_rejects_tampering_wrong_keys_and_downgrades() {
    let frame = seal(0x41, None, [9, 9, 9, 9], &hex("02ca09"));
    for at in 0..frame.len() {
        let mut tampered = frame.clone();
        tampered[at] ^= 0x01;
        let result = bthome_v2_with_key(&tampered, MAC, Some(&KEY));
        // Flipping bit 0 of the device-information byte turns the frame into plaintext.
        let expected = if at == 0 {
            DecodeError::NotEncrypted("BTHome v2")
        } else {
            DecodeError::DecryptionFailed("BTHome v2")
        };
        assert_eq!(result, Err(expected), "byte {at}");
    }
    let mut wrong_key = KEY;
    wrong_key[15] ^= 0x80;
    assert_eq!(
        bthome_v2_with_key(&frame, MAC, Some(&wrong_key)),
        Err(DecodeError::DecryptionFailed("BTHome v2"))
    );
    let mut wrong_mac = MAC;
    wrong_mac[0] ^= 0x02;
    assert_eq!(
        bthome_v2_with_key(&frame, wrong_mac, Some(&KEY)),
        Err(DecodeError::DecryptionFailed("BTHome v2"))
    );
    assert_eq!(
        bthome_v2_with_key(&hex("4002ca09"), MAC, Some(&KEY)),
        Err(DecodeError::NotEncrypted("BTHome v2"))
    );
    assert!(matches!(
        bthome_v2_with_key(&hex("4100112233aabbccdd"), MAC, Some(&KEY)),
        Err(DecodeError::Truncated { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Output shape

#[test]
fn formats_serialize_as_their_names() {
    for format in Format::ALL {
        assert_eq!(serde_json::to_value(format).unwrap(), format.as_str());
        assert_eq!(format.to_string(), format.as_str());
    }
    assert_eq!(Format::BtHomeV2.as_str(), "bthome_v2");
    assert_eq!(Format::RuuviRawV2.as_str(), "ruuvi_rawv2");
    assert_eq!(Format::RuuviRawV1.as_str(), "ruuvi_rawv1");
    assert_eq!(Format::GattHeartRate.as_str(), "gatt_heart_rate");
}

#[test]
fn decoded_serializes_to_plain_json() {
    let decoded = bthome_v2(&hex("40 0007 02ca09 2d01 3a02 3c0103 530268 69")).unwrap();
    let json = serde_json::to_value(&decoded).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "format": "bthome_v2",
            "packet_id": 7,
            "readings": [
                {"metric": "temperature", "value": 25.06, "unit": "°C"},
                {"metric": "window", "value": true, "unit": null},
                {"metric": "button", "value": "double_press", "unit": null},
                {"metric": "dimmer", "value": "rotate_left", "unit": null, "steps": 3},
                {"metric": "text", "value": "hi", "unit": null},
            ]
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Ruuvi "not available" values, one field at a time

/// Each field of data format 5 set to its "not available" value (docs.ruuvi.com, data format
/// 5) in the specification's valid vector: that reading, and only that one, is left out; the
/// value one step away from it is a reading again. (byte offset, sentinel, neighbour, metric)
const RUUVI_NOT_AVAILABLE: &[(usize, &str, &str, &str)] = &[
    (1, "8000", "8001", "temperature"),
    (3, "ffff", "fffe", "humidity"),
    (5, "ffff", "fffe", "pressure"),
    (7, "8000", "8001", "acceleration_x"),
    (9, "8000", "8001", "acceleration_y"),
    (11, "8000", "8001", "acceleration_z"),
    // 11 bits of voltage all ones (then 0x7fe); the TX power bits (0b10110, 4 dBm) stay.
    (13, "fff6", "ffd6", "voltage"),
    // 5 bits of TX power all ones (then 30); the voltage bits (1377, 2.977 V) stay.
    (13, "ac3f", "ac3e", "tx_power"),
    (15, "ff", "fe", "movement_counter"),
    (16, "ffff", "fffe", "measurement_sequence"),
];

#[test]
fn ruuvi_not_available_fields_are_left_out_one_by_one() {
    let valid = hex(RUUVI[0].hex);
    let all = ruuvi(&valid).unwrap();
    assert_eq!(all.readings.len(), 10);
    for &(at, sentinel, neighbour, metric) in RUUVI_NOT_AVAILABLE {
        let with = |bytes: &str| {
            let bytes = hex(bytes);
            let mut frame = valid.clone();
            frame[at..at + bytes.len()].copy_from_slice(&bytes);
            ruuvi(&frame).unwrap()
        };
        let others: Vec<_> = all
            .readings
            .iter()
            .filter(|reading| reading.metric != metric)
            .cloned()
            .collect();
        assert_eq!(with(sentinel).readings, others, "{metric} not available");
        let next = with(neighbour);
        assert_eq!(next.readings.len(), 10, "{metric} next to its sentinel");
        assert!(next.readings.iter().any(|reading| reading.metric == metric));
    }
    // The MAC is not a reading, so FF:FF:FF:FF:FF:FF ("not available") changes nothing.
    let mut frame = valid.clone();
    frame[18..24].copy_from_slice(&[0xff; 6]);
    assert_eq!(ruuvi(&frame).unwrap(), all);
}
