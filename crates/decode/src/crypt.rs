//! AES-128-CCM with a 4-byte MIC, the one cipher every encrypted BLE format here uses; they
//! differ only in the nonce (11 to 13 bytes) and the associated data.

use aes::Aes128;
use ccm::aead::generic_array::{ArrayLength, GenericArray};
use ccm::aead::{Aead, KeyInit, Payload};
use ccm::consts::U4;
use ccm::{Ccm, NonceSize};

pub(crate) const MIC_LEN: usize = 4;

/// Verifies `mic` and returns the plaintext, or `None` when the MIC does not verify (wrong
/// key, wrong nonce material such as the MAC, or altered bytes: CCM cannot tell which).
pub(crate) fn open<N>(
    key: &[u8; 16],
    nonce: &GenericArray<u8, N>,
    aad: &[u8],
    ciphertext: &[u8],
    mic: &[u8; MIC_LEN],
) -> Option<Vec<u8>>
where
    N: ArrayLength<u8> + NonceSize,
{
    let mut sealed = Vec::with_capacity(ciphertext.len() + MIC_LEN);
    sealed.extend_from_slice(ciphertext);
    sealed.extend_from_slice(mic);
    Ccm::<Aes128, U4, N>::new(key.into())
        .decrypt(nonce, Payload { msg: &sealed, aad })
        .ok()
}

/// Encrypts `plaintext` and returns the ciphertext followed by the 4-byte MIC: what an
/// encrypting device sends (simulators and tests seal with it).
pub(crate) fn seal<N>(key: &[u8; 16], nonce: &GenericArray<u8, N>, plaintext: &[u8]) -> Vec<u8>
where
    N: ArrayLength<u8> + NonceSize,
{
    Ccm::<Aes128, U4, N>::new(key.into())
        .encrypt(
            nonce,
            Payload {
                msg: plaintext,
                aad: &[],
            },
        )
        .expect("CCM with a 4-byte tag seals any payload a BLE advertisement can hold")
}
