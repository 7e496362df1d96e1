//! GATT characteristic values. The first byte picks the characteristic: one of the six this
//! crate decodes (most of the time), or any 16-bit UUID from the next two bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale_decode::gatt;
use telltale_decode_fuzz::{check, Input};

const KNOWN: [u16; 6] = [0x2a37, 0x2a1c, 0x2a19, 0x2a6e, 0x2a6f, 0x2a6d];

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let selector = input.byte();
    let uuid = match KNOWN.get(usize::from(selector)) {
        Some(&uuid) => uuid,
        None if selector < 0xf0 => KNOWN[usize::from(selector) % KNOWN.len()],
        None => u16::from_le_bytes(input.array::<2>()),
    };
    let decoded = gatt(uuid, input.rest());
    check(&decoded);
    if let Ok(decoded) = &decoded {
        assert!(decoded.replay_counter.is_none() && decoded.packet_id.is_none());
    }
});
