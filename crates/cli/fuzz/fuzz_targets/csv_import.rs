//! The readings CSV as `telltale import` reads it: any bytes give records or reasons, line
//! numbers that only grow, never a panic and never a record over the cap.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/csv_records.rs"]
#[allow(dead_code)]
mod csv_records;

/// A small cap, so the fuzzer reaches the over-long paths with short inputs.
const CAP: usize = 64;

fuzz_target!(|data: &[u8]| {
    let mut records = csv_records::Records::new(data, CAP);
    let mut last = 0;
    while let Ok(Some((line, fields))) = records.next_record() {
        assert!(line > last, "line numbers only grow: {line} after {last}");
        last = line;
        if let Ok(fields) = fields {
            assert!(fields.iter().map(|f| f.len()).sum::<usize>() <= CAP * 2);
            if let Ok(reading) = csv_records::reading(fields) {
                let _ = reading.check(None);
            }
        }
    }
});
