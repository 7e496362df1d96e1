//! No input makes the decoder or the host panic: every strict prefix and every single-bit flip
//! of every vector payload, mangled topics, and pseudo-random bytes. Whatever decodes must also
//! serialize to JSON and go through a host; every error is one line.

mod common;

use common::{load, mutations, payload, topic};
use telltale_sparkplug::{decode, Host, HostConfig};

fn one_line(error: &telltale_sparkplug::SparkplugError) {
    let text = error.to_string();
    assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
}

#[test]
fn truncated_and_bit_flipped_vectors_never_panic() {
    let mut vectors = load("sparkplug.json");
    vectors.extend(load("sparkplug_seq_wrap.json"));
    let mut host = Host::new(HostConfig::default());
    let (mut decoded, mut rejected) = (0usize, 0usize);
    for (i, vector) in vectors.iter().enumerate() {
        let bytes = payload(vector);
        for (j, bytes) in mutations(&bytes).enumerate() {
            match decode(topic(vector), &bytes) {
                Ok(message) => {
                    serde_json::to_string(&message).expect("serializes");
                    let now = 1_700_000_000_000 + (i * 10_000 + j) as u64;
                    host.handle(now, &message);
                    host.tick(now + 5_000);
                    decoded += 1;
                }
                Err(error) => {
                    one_line(&error);
                    rejected += 1;
                }
            }
        }
    }
    println!("mutations: {decoded} decoded, {rejected} rejected");
    assert!(rejected > 0 && decoded > 0);
}

#[test]
fn mangled_topics_and_random_bytes_never_panic() {
    let vectors = load("sparkplug.json");
    let bytes = payload(&vectors[0]);
    let topics = [
        "",
        "/",
        "spBv1.0",
        "spBv1.0/",
        "spBv1.0/STATE",
        "spBv1.0/STATE/",
        "spBv1.0/STATE/a/b",
        "spBv1.0/G/NDATA/E/D/X/Y",
        "spBv1.0/G/ndata/E",
        "spBv1.0/G/NDATA/é",
        "spBv1.0/G/DDATA/E/",
        "spBv1.0/G/DDATA/E/#",
    ];
    for t in topics {
        if let Err(error) = decode(t, &bytes) {
            one_line(&error);
        }
    }
    // xorshift64*: deterministic garbage without a crate.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut host = Host::new(HostConfig::default());
    for round in 0..20_000u64 {
        let len = (next() % 64) as usize;
        let garbage: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let t = if round % 2 == 0 {
            "spBv1.0/G/NDATA/E"
        } else {
            "spBv1.0/STATE/h"
        };
        match decode(t, &garbage) {
            Ok(message) => {
                serde_json::to_string(&message).unwrap();
                host.handle(round, &message);
            }
            Err(error) => one_line(&error),
        }
    }
}
