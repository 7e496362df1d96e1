//! Format detection over whole advertisements: any mix of service and manufacturer data,
//! with or without a bindkey; and address parsing of the input as text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale_decode::{advertisement, parse_address, Advertisement};
use telltale_decode_fuzz::{check, Input};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(address) = parse_address(text) {
            // What parses prints back the same, up to case and separator.
            let printed: Vec<String> = address.iter().map(|b| format!("{b:02x}")).collect();
            let normalized = text.trim().to_ascii_lowercase().replace('-', ":");
            assert_eq!(printed.join(":"), normalized);
        }
    }

    let mut input = Input(data);
    let mode = input.byte();
    let address = input.array::<6>();
    let key = input.array::<16>();
    // Entries: kind (bit 0: service data, else manufacturer data), 16-bit id, length, bytes.
    let mut service_data = Vec::new();
    let mut manufacturer_data = Vec::new();
    while !input.0.is_empty() {
        let kind = input.byte();
        let id = u16::from_le_bytes(input.array::<2>());
        let len = usize::from(input.byte());
        let bytes = input.take(len).to_vec();
        if kind & 1 == 1 {
            service_data.push((id, bytes));
        } else {
            manufacturer_data.push((id, bytes));
        }
    }
    check(&advertisement(&Advertisement {
        address,
        local_name: None,
        service_data: &service_data,
        manufacturer_data: &manufacturer_data,
        bindkey: (mode & 1 == 1).then_some(&key),
    }));
});
