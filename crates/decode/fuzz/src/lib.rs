//! Shared by the fuzz targets: structured input read from the fuzzer's bytes, the invariants
//! every decode keeps whatever its input, and AES-CCM sealing for round trips.

use aes::Aes128;
use ccm::aead::{AeadInPlace, KeyInit};
use ccm::consts::{U11, U12, U13, U4};
use ccm::Ccm;
use telltale_decode::{Decoded, Result, Value};

/// Reads fields off the front of the input; a field past the end reads as zeros, so every
/// input is a valid instance and the fuzzer need not learn a length first.
pub struct Input<'a>(pub &'a [u8]);

impl<'a> Input<'a> {
    pub fn byte(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let take = N.min(self.0.len());
        out[..take].copy_from_slice(&self.0[..take]);
        self.0 = &self.0[take..];
        out
    }

    /// Up to `len` bytes.
    pub fn take(&mut self, len: usize) -> &'a [u8] {
        let (head, tail) = self.0.split_at(len.min(self.0.len()));
        self.0 = tail;
        head
    }

    pub fn rest(self) -> &'a [u8] {
        self.0
    }
}

/// What every outcome must satisfy: readings are named, numbers finite, steps only on
/// dimmers; errors are one non-empty line.
pub fn check(result: &Result<Decoded>) {
    match result {
        Ok(decoded) => {
            for reading in &decoded.readings {
                assert!(!reading.metric.is_empty(), "{reading:?}");
                if let Value::Number(value) = reading.value {
                    assert!(value.is_finite(), "{reading:?}");
                }
                assert!(
                    reading.steps.is_none() || reading.metric == "dimmer",
                    "{reading:?}"
                );
            }
        }
        Err(error) => {
            let message = error.to_string();
            assert!(
                !message.is_empty() && !message.contains('\n'),
                "{message:?}"
            );
        }
    }
}

/// Two decodes of the same content (plaintext and sealed) agree: both fail, or both give the
/// same readings.
pub fn same_readings(plain: &Result<Decoded>, sealed: &Result<Decoded>) {
    match (plain, sealed) {
        (Ok(plain), Ok(sealed)) => {
            assert_eq!(plain.readings, sealed.readings);
            assert_eq!(plain.packet_id, sealed.packet_id);
        }
        (Err(_), Err(_)) => {}
        _ => panic!("plaintext {plain:?} but sealed {sealed:?}"),
    }
}

/// AES-128-CCM with a 4-byte MIC: the ciphertext and the MIC. Nonces of 11, 12 and 13 bytes
/// (Xiaomi custom firmware, MiBeacon, BTHome).
pub fn seal(key: &[u8; 16], nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> (Vec<u8>, [u8; 4]) {
    let mut buffer = plaintext.to_vec();
    let tag = match nonce.len() {
        11 => Ccm::<Aes128, U4, U11>::new(key.into()).encrypt_in_place_detached(
            nonce.into(),
            aad,
            &mut buffer,
        ),
        12 => Ccm::<Aes128, U4, U12>::new(key.into()).encrypt_in_place_detached(
            nonce.into(),
            aad,
            &mut buffer,
        ),
        13 => Ccm::<Aes128, U4, U13>::new(key.into()).encrypt_in_place_detached(
            nonce.into(),
            aad,
            &mut buffer,
        ),
        other => panic!("no format uses a {other}-byte nonce"),
    }
    .expect("short messages always seal");
    let mut mic = [0u8; 4];
    mic.copy_from_slice(&tag);
    (buffer, mic)
}

pub fn reversed(mut mac: [u8; 6]) -> [u8; 6] {
    mac.reverse();
    mac
}
