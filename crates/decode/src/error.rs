use thiserror::Error;

/// Why a payload could not be decoded. Every message is one line, meant for a log or a tooltip.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ends before the fields its format requires.
    #[error("{what}: needs at least {needed} bytes, got {got}")]
    Truncated {
        what: &'static str,
        needed: usize,
        got: usize,
    },
    /// A fixed-size value arrived with a different size.
    #[error("{what}: must be exactly {expected} bytes, got {got}")]
    WrongLength {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// The bytes are there but say something the format does not allow.
    #[error("{what}: {detail}")]
    Invalid { what: &'static str, detail: String },
    #[error("BTHome: version {0} in the device-information byte is not supported (only 2 is)")]
    UnsupportedBtHomeVersion(u8),
    /// BTHome objects carry no length, so an id we do not know hides where the next one starts.
    #[error("BTHome: unknown object id 0x{0:02x} before any known object")]
    UnknownBtHomeObject(u8),
    #[error("BTHome: payload is encrypted and no bindkey was given")]
    Encrypted,
    /// Accepting plaintext from a device that has a bindkey would let anyone spoof it.
    #[error("BTHome: payload is not encrypted although a bindkey is configured for the device")]
    NotEncrypted,
    #[error("BTHome: decryption failed (wrong bindkey or MAC address, or a tampered payload)")]
    DecryptionFailed,
    #[error("Ruuvi: data format {0} is not supported (only 3 and 5 are)")]
    UnsupportedRuuviFormat(u8),
    #[error("GATT: characteristic 0x{0:04X} is not supported")]
    UnsupportedCharacteristic(u16),
}

pub type Result<T> = std::result::Result<T, DecodeError>;
