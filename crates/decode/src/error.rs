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
    /// `.0` names the format, e.g. `BTHome v2`, `Xiaomi MiBeacon`.
    #[error("{0}: payload is encrypted and no bindkey was given")]
    Encrypted(&'static str),
    /// Accepting plaintext from a device that has a bindkey would let anyone spoof it.
    #[error("{0}: payload is not encrypted although a bindkey is configured for the device")]
    NotEncrypted(&'static str),
    /// AES-CCM cannot tell these causes apart: the MIC simply does not verify.
    #[error("{0}: decryption failed (wrong bindkey or MAC address, or a tampered payload)")]
    DecryptionFailed(&'static str),
    /// The format allows it, but this crate does not implement it (e.g. legacy encryption).
    #[error("{what}: {detail} is not supported")]
    Unsupported { what: &'static str, detail: String },
    /// A plaintext frame that names a different device than the one that sent it: a relay or
    /// a spoof, and either way not a reading of the advertiser.
    #[error("{what}: the payload's MAC {embedded} is not the advertiser's address {advertiser}")]
    AddressMismatch {
        what: &'static str,
        embedded: String,
        advertiser: String,
    },
    /// None of the service data or manufacturer data is of a format this crate decodes.
    #[error("no known format in this advertisement")]
    NoKnownFormat,
    #[error("Ruuvi: data format {0} is not supported (only 3 and 5 are)")]
    UnsupportedRuuviFormat(u8),
    #[error("GATT: characteristic 0x{0:04X} is not supported")]
    UnsupportedCharacteristic(u16),
}

pub type Result<T> = std::result::Result<T, DecodeError>;
