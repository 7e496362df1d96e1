//! No input makes a decoder panic: every strict prefix of every valid vector (spec tables and
//! golden files), every BTHome object id, and a few hundred thousand pseudo-random payloads.
//! A truncation may only lose readings from the end, never invent or change one.

mod common;

use common::cases::{BTHOME, GATT, RUUVI};
use common::{hex, load, load_local, prefixes, XorShift};
use telltale_decode::{
    advertisement, bthome_v2, bthome_v2_with_key, gatt, ruuvi, xiaomi_atc, xiaomi_mibeacon,
    Advertisement, DecodeError, Decoded, Result, Value,
};

const CHARACTERISTICS: [u16; 6] = [0x2a37, 0x2a1c, 0x2a19, 0x2a6e, 0x2a6f, 0x2a6d];
const KEY: [u8; 16] = [0x5a; 16];
const MAC: [u8; 6] = [0xa4, 0xc1, 0x38, 0x00, 0x00, 0x01];

/// What every outcome must satisfy, whatever the input.
fn well_formed(result: &Result<Decoded>) {
    match result {
        Ok(decoded) => {
            for reading in &decoded.readings {
                assert!(!reading.metric.is_empty());
                if let Value::Number(value) = reading.value {
                    assert!(value.is_finite(), "{reading:?}");
                }
                assert!(reading.steps.is_none() || reading.metric == "dimmer");
            }
        }
        Err(error) => one_line(error),
    }
}

fn one_line(error: &DecodeError) {
    let message = error.to_string();
    assert!(
        !message.is_empty() && !message.contains('\n'),
        "{message:?}"
    );
}

/// Every strict prefix decodes to an error or to a leading part of the full decode.
fn check_prefixes(full: &[u8], decode: impl Fn(&[u8]) -> Result<Decoded>) -> usize {
    let complete = decode(full);
    well_formed(&complete);
    let mut count = 0;
    for prefix in prefixes(full) {
        let result = decode(prefix);
        well_formed(&result);
        if let (Ok(part), Ok(whole)) = (&result, &complete) {
            assert!(
                whole.readings.starts_with(&part.readings),
                "prefix {prefix:02x?} decoded {:?}, not a leading part of {:?}",
                part.readings,
                whole.readings
            );
        }
        count += 1;
    }
    count
}

#[test]
fn strict_prefixes_of_spec_vectors() {
    let mut count = 0;
    for case in BTHOME {
        count += check_prefixes(&hex(case.hex), bthome_v2);
    }
    for case in RUUVI {
        let full = hex(case.hex);
        count += check_prefixes(&full, ruuvi);
        // A fixed-size format gives nothing from a cut payload.
        for prefix in prefixes(&full) {
            assert!(ruuvi(prefix).is_err(), "{}: {prefix:02x?}", case.name);
        }
    }
    for case in GATT {
        count += check_prefixes(&hex(case.hex), |bytes| gatt(case.uuid, bytes));
    }
    assert!(count > 600, "only {count} prefixes");
}

#[test]
fn strict_prefixes_of_golden_vectors() {
    let mut count = 0;
    for vector in load("bthome.json").as_array().expect("list") {
        let data = hex(vector["service_data_hex"].as_str().expect("hex"));
        let key = vector["bindkey"]
            .as_str()
            .and_then(|key| <[u8; 16]>::try_from(hex(key).as_slice()).ok());
        let mac = hex(&vector["mac"].as_str().expect("mac").replace(':', ""));
        let mac: [u8; 6] = mac.try_into().expect("6 bytes");
        count += check_prefixes(&data, |bytes| bthome_v2_with_key(bytes, mac, key.as_ref()));
        count += check_prefixes(&data, bthome_v2);
    }
    for vector in load("ruuvi.json").as_array().expect("list") {
        count += check_prefixes(
            &hex(vector["manufacturer_data_hex"].as_str().expect("hex")),
            ruuvi,
        );
    }
    let sections = load("gatt.json");
    for (section, vectors) in sections.as_object().expect("sections") {
        let uuid = match section
            .rsplit('_')
            .next()
            .and_then(|id| u16::from_str_radix(id, 16).ok())
        {
            Some(uuid) if CHARACTERISTICS.contains(&uuid) => uuid,
            _ => continue,
        };
        for vector in vectors.as_array().expect("list") {
            count += check_prefixes(&hex(vector["value_hex"].as_str().expect("hex")), |bytes| {
                gatt(uuid, bytes)
            });
        }
    }
    // xiaomi-ble's published MiBeacon frames, this crate's own vector file.
    for vector in load_local("xiaomi_ble.json")["vectors"]
        .as_array()
        .expect("list")
    {
        let data = hex(vector["service_data_hex"].as_str().expect("hex"));
        let key = vector["bindkey"]
            .as_str()
            .and_then(|key| <[u8; 16]>::try_from(hex(key).as_slice()).ok());
        let mac = hex(&vector["mac"].as_str().expect("mac").replace(':', ""));
        let mac: [u8; 6] = mac.try_into().expect("6 bytes");
        count += check_prefixes(&data, |bytes| xiaomi_mibeacon(bytes, mac, key.as_ref()));
    }
    assert!(count > 2_000, "only {count} prefixes");
}

/// Product ids the MiBeacon decoder treats specially, and one it does not.
const MIBEACON_PRODUCTS: [u16; 19] = [
    0x0001, 0x055b, 0x0387, 0x07f6, 0x098b, 0x0a8d, 0x0a83, 0x04e1, 0x1568, 0x1569, 0x0dfd, 0x4683,
    0x5968, 0x1949, 0x2387, 0x1c10, 0x3a61, 0x3e17, 0x520b,
];

#[test]
fn every_mibeacon_object_id_family_with_any_amount_of_data() {
    let mut random = XorShift(0x2545_f491_4f6c_dd1d);
    // The ranges that hold the objects this decoder knows: 0x00xx, 0x10xx, 0x48xx, 0x4axx,
    // 0x4cxx, 0x4exx, 0x50xx, 0x56xx.
    for high in [0x00u16, 0x10, 0x48, 0x4a, 0x4c, 0x4e, 0x50, 0x56] {
        for low in 0..=0xffu16 {
            let id = high << 8 | low;
            for len in 0..7u8 {
                let mut objects = id.to_le_bytes().to_vec();
                objects.push(len);
                objects.extend(random.bytes(usize::from(len)));
                for product in MIBEACON_PRODUCTS {
                    // v5, objects included, no MAC: frame control, product id, counter.
                    let mut frame = vec![0x40, 0x50];
                    frame.extend(product.to_le_bytes());
                    frame.push(0x01);
                    frame.extend(&objects);
                    well_formed(&xiaomi_mibeacon(&frame, MAC, None));
                }
            }
        }
    }
}

#[test]
fn every_bthome_object_id_with_any_amount_of_data() {
    let mut random = XorShift(0x0123_4567_89ab_cdef);
    for id in 0..=u8::MAX {
        for len in 0..40 {
            let mut payload = vec![0x40, id];
            payload.extend(random.bytes(len));
            well_formed(&bthome_v2(&payload));
            payload[0] = 0x42;
            well_formed(&bthome_v2(&payload));
        }
    }
}

#[test]
fn random_garbage_never_panics() {
    let mut random = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..100_000 {
        let len = random.below(48) as usize;
        let mut bytes = random.bytes(len);
        well_formed(&bthome_v2(&bytes));
        well_formed(&bthome_v2_with_key(&bytes, MAC, Some(&KEY)));
        well_formed(&ruuvi(&bytes));
        let uuid = CHARACTERISTICS[random.below(6) as usize];
        well_formed(&gatt(uuid, &bytes));
        well_formed(&gatt(random.next_u64() as u16, &bytes));

        // Plausible headers push the garbage past the first checks.
        if let Some(first) = bytes.first_mut() {
            *first = [0x40, 0x42, 0x44, 0x41, 0x05, 0x03][random.below(6) as usize];
        }
        well_formed(&bthome_v2(&bytes));
        well_formed(&bthome_v2_with_key(&bytes, MAC, Some(&KEY)));
        well_formed(&ruuvi(&bytes));
    }
}

#[test]
fn random_xiaomi_frames_and_advertisements_never_panic() {
    let mut random = XorShift(0x5851_f42d_4c95_7f2d);
    for _ in 0..50_000 {
        let len = random.below(40) as usize;
        let mut bytes = random.bytes(len);
        let key = (random.below(2) == 0).then_some(&KEY);
        well_formed(&xiaomi_atc(&bytes, MAC, key));
        well_formed(&xiaomi_mibeacon(&bytes, MAC, key));

        // Plausible MiBeacon frame controls (v2..v5, MAC, capability, objects, encryption) and
        // the right embedded MAC push the garbage through to the objects and the cipher.
        if bytes.len() >= 11 {
            let frame_control = 0x0040
                | (random.below(4) as u16 + 2) << 12
                | [0x00, 0x08, 0x10, 0x18, 0x20, 0x38][random.below(6) as usize];
            bytes[..2].copy_from_slice(&frame_control.to_le_bytes());
            if frame_control & 0x10 != 0 {
                let mut reversed = MAC;
                reversed.reverse();
                bytes[5..11].copy_from_slice(&reversed);
            }
        }
        well_formed(&xiaomi_mibeacon(&bytes, MAC, key));

        let uuid = [0xfcd2, 0x181a, 0xfe95, 0x180f][random.below(4) as usize];
        let service = [(uuid, bytes.clone())];
        let maker = [([0x0499, 0x004c][random.below(2) as usize], bytes)];
        well_formed(&advertisement(&Advertisement {
            address: MAC,
            local_name: None,
            service_data: &service,
            manufacturer_data: &maker,
            bindkey: key,
        }));
    }
}

#[test]
fn huge_payloads_decode_or_fail_cleanly() {
    let mut random = XorShift(42);
    let mut huge = vec![0x40];
    huge.extend(random.bytes(1 << 20));
    well_formed(&bthome_v2(&huge));
    well_formed(&ruuvi(&huge));
    for uuid in CHARACTERISTICS {
        well_formed(&gatt(uuid, &huge));
    }
    well_formed(&xiaomi_atc(&huge, MAC, Some(&KEY)));
    well_formed(&xiaomi_mibeacon(&huge, MAC, None));

    // A megabyte of battery objects is valid, just long.
    let mut batteries = vec![0x40];
    for _ in 0..(1 << 19) {
        batteries.extend([0x01, 0x64]);
    }
    let decoded = bthome_v2(&batteries).unwrap();
    assert_eq!(decoded.readings.len(), 1 << 19);

    // Heart-rate RR intervals fill whatever length arrives.
    let mut intervals = vec![0x10, 0x48];
    intervals.extend(std::iter::repeat_n(0x00, 1 << 16));
    assert_eq!(
        gatt(0x2a37, &intervals).unwrap().readings.len(),
        1 + (1 << 15)
    );
}
