//! BTHome v2, without and with a bindkey; and a round trip: objects sealed as a device seals
//! them decode to the same readings as the same objects in plaintext.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale_decode::{bthome_v2, bthome_v2_with_key};
use telltale_decode_fuzz::{check, reversed, same_readings, seal, Input};

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mode = input.byte();
    let mac = input.array::<6>();
    let key = input.array::<16>();
    let counter = input.array::<4>();
    let payload = input.rest();

    let plain = bthome_v2(payload);
    check(&plain);
    assert_eq!(plain, bthome_v2_with_key(payload, mac, None));
    check(&bthome_v2_with_key(payload, mac, Some(&key)));

    if mode & 1 == 1 {
        // v2, encrypted, optionally the MAC in the payload and the trigger flag.
        let adv_info = 0x41 | (mode & 0x06);
        let embedded = adv_info & 0x02 != 0;
        let mut plain_frame = vec![adv_info & !0x01];
        let mut sealed_frame = vec![adv_info];
        if embedded {
            plain_frame.extend(reversed(mac));
            sealed_frame.extend(reversed(mac));
        }
        plain_frame.extend_from_slice(payload);
        let mut nonce = mac.to_vec();
        nonce.extend([0xd2, 0xfc, adv_info]);
        nonce.extend(counter);
        let (ciphertext, mic) = seal(&key, &nonce, &[], payload);
        sealed_frame.extend(ciphertext);
        sealed_frame.extend(counter);
        sealed_frame.extend(mic);
        // With the MAC in the payload, the advertiser's address does not matter.
        let advertiser = if embedded { [0; 6] } else { mac };
        let sealed = bthome_v2_with_key(&sealed_frame, advertiser, Some(&key));
        check(&sealed);
        same_readings(&bthome_v2(&plain_frame), &sealed);
        if let Ok(decoded) = &sealed {
            assert_eq!(decoded.replay_counter, Some(u32::from_le_bytes(counter)));
        }
    }
});
