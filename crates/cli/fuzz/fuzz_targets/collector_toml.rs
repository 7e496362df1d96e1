//! The collector's TOML: any text parses or is refused with a one-line reason, never a panic,
//! and the reason never carries a value of the file (a secret someone put there by mistake).
#![no_main]

use libfuzzer_sys::fuzz_target;

/// A value the file "holds": it must never come back in an error.
const PLANTED: &str = "planted-secret-9f3";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match telltale_engine::CollectorConfig::parse(text) {
        Ok(config) => {
            for broker in &config.mqtt {
                assert!(broker.validate().is_ok());
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert!(!message.contains('\n'), "one line: {message}");
            if !text.contains(PLANTED) {
                return;
            }
            // Only a value may be the secret: the fuzzer may also plant it as a key or a
            // table name, which errors may name.
            let as_value = text.contains(&format!("\"{PLANTED}\""));
            let as_key = text
                .lines()
                .any(|l| l.trim_start().starts_with(PLANTED) || l.contains(&format!("[{PLANTED}")));
            if as_value && !as_key {
                assert!(!message.contains(PLANTED), "echoed a value: {message}");
            }
        }
    }
});
