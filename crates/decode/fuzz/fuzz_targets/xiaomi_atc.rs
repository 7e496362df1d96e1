//! Custom Xiaomi firmware on 0x181A, without and with a bindkey; and a round trip: a pvvx or
//! atc1441 reading sealed as the firmware seals it decodes to the values it was made of.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale_decode::{xiaomi_atc, Format, Value};
use telltale_decode_fuzz::{check, reversed, seal, Input};

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mode = input.byte();
    let mac = input.array::<6>();
    let key = input.array::<16>();
    let counter = input.byte();
    let payload = input.rest();

    check(&xiaomi_atc(payload, mac, None));
    check(&xiaomi_atc(payload, mac, Some(&key)));

    if mode & 1 == 1 {
        let pvvx = mode & 2 != 0;
        let plaintext = if pvvx {
            Input(payload).array::<6>().to_vec()
        } else {
            Input(payload).array::<3>().to_vec()
        };
        let frame_len = 1 + plaintext.len() + 4;
        let mut nonce = reversed(mac).to_vec();
        nonce.extend([frame_len as u8 + 3, 0x16, 0x1a, 0x18, counter]);
        let (ciphertext, mic) = seal(&key, &nonce, &[0x11], &plaintext);
        let mut frame = vec![counter];
        frame.extend(ciphertext);
        frame.extend(mic);
        let decoded = xiaomi_atc(&frame, mac, Some(&key)).expect("a sealed frame decodes");
        check(&Ok(decoded.clone()));
        assert_eq!(decoded.replay_counter, Some(u32::from(counter)));
        let temperature = match (pvvx, plaintext.as_slice()) {
            (true, &[t0, t1, ..]) => {
                assert_eq!(decoded.format, Format::XiaomiPvvxEncrypted);
                f64::from(i16::from_le_bytes([t0, t1])) / 100.0
            }
            (false, &[t, ..]) => {
                assert_eq!(decoded.format, Format::XiaomiAtc1441Encrypted);
                f64::from(t) / 2.0 - 40.0
            }
            _ => unreachable!("the plaintext has 3 or 6 bytes"),
        };
        assert_eq!(decoded.readings[0].value, Value::Number(temperature));
    }
});
