//! MiBeacon on 0xFE95, without and with a bindkey; and a round trip: objects sealed with v5
//! encryption decode to the same readings as the same objects in a plaintext frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale_decode::xiaomi_mibeacon;
use telltale_decode_fuzz::{check, reversed, same_readings, seal, Input};

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mode = input.byte();
    let mac = input.array::<6>();
    let key = input.array::<16>();
    let product = input.array::<2>();
    let counter = input.byte();
    let ext = input.array::<3>();
    let payload = input.rest();

    check(&xiaomi_mibeacon(payload, mac, None));
    check(&xiaomi_mibeacon(payload, mac, Some(&key)));

    if mode & 1 == 1 {
        // v5, objects, optionally the MAC and a capability byte (with an I/O byte).
        let mut frame_control: u16 = 0x5040;
        if mode & 2 != 0 {
            frame_control |= 0x0010;
        }
        if mode & 4 != 0 {
            frame_control |= 0x0020;
        }
        let header = |frame_control: u16| {
            let mut header = frame_control.to_le_bytes().to_vec();
            header.extend(product);
            header.push(counter);
            if frame_control & 0x0010 != 0 {
                header.extend(reversed(mac));
            }
            if frame_control & 0x0020 != 0 {
                header.extend([0x20, mode]);
            }
            header
        };
        let mut plain_frame = header(frame_control);
        plain_frame.extend_from_slice(payload);
        let mut nonce = reversed(mac).to_vec();
        nonce.extend(product);
        nonce.push(counter);
        nonce.extend(ext);
        let (ciphertext, mic) = seal(&key, &nonce, &[0x11], payload);
        let mut sealed_frame = header(frame_control | 0x0008);
        sealed_frame.extend(ciphertext);
        sealed_frame.extend(ext);
        sealed_frame.extend(mic);
        let sealed = xiaomi_mibeacon(&sealed_frame, mac, Some(&key));
        check(&sealed);
        same_readings(&xiaomi_mibeacon(&plain_frame, mac, None), &sealed);
        if let Ok(decoded) = &sealed {
            let [e0, e1, e2] = ext;
            assert_eq!(
                decoded.replay_counter,
                Some(u32::from_le_bytes([counter, e0, e1, e2]))
            );
        }
    }
});
