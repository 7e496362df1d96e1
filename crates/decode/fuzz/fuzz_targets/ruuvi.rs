//! RuuviTag manufacturer data (formats 3 and 5, and whatever else arrives).
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale_decode::ruuvi;
use telltale_decode_fuzz::check;

fuzz_target!(|data: &[u8]| {
    let decoded = ruuvi(data);
    check(&decoded);
    if let Ok(decoded) = &decoded {
        assert!(decoded.replay_counter.is_none());
    }
});
