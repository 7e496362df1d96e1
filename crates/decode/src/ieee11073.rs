//! The IEEE 11073-20601 FLOAT (32-bit) and SFLOAT (16-bit) number types that health-device GATT
//! characteristics use: a signed decimal mantissa and a signed power-of-ten exponent, with a
//! few bit patterns set aside for "not a number" and friends.

/// A decoded FLOAT or SFLOAT.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MderFloat {
    /// `mantissa × 10^exponent`.
    Finite(f64),
    NotANumber,
    /// Not at this resolution: the value does not fit the type.
    NotAtThisResolution,
    PositiveInfinity,
    NegativeInfinity,
    /// A pattern the standard keeps for future use.
    Reserved,
}

impl MderFloat {
    /// The value when it is an actual number.
    pub fn finite(self) -> Option<f64> {
        match self {
            MderFloat::Finite(value) => Some(value),
            _ => None,
        }
    }
}

/// Decodes a 32-bit FLOAT from its integer value (the wire bytes read little-endian): an 8-bit
/// exponent above a 24-bit mantissa.
pub fn float32(raw: u32) -> MderFloat {
    match raw {
        0x007f_ffff => MderFloat::NotANumber,
        0x0080_0000 => MderFloat::NotAtThisResolution,
        0x007f_fffe => MderFloat::PositiveInfinity,
        0x0080_0002 => MderFloat::NegativeInfinity,
        0x0080_0001 => MderFloat::Reserved,
        _ => {
            let exponent = (raw >> 24) as u8 as i8;
            let mantissa = ((raw << 8) as i32) >> 8;
            MderFloat::Finite(scale(mantissa, i32::from(exponent)))
        }
    }
}

/// Decodes a 16-bit SFLOAT from its integer value (the wire bytes read little-endian): a 4-bit
/// exponent above a 12-bit mantissa.
pub fn sfloat16(raw: u16) -> MderFloat {
    match raw {
        0x07ff => MderFloat::NotANumber,
        0x0800 => MderFloat::NotAtThisResolution,
        0x07fe => MderFloat::PositiveInfinity,
        0x0802 => MderFloat::NegativeInfinity,
        0x0801 => MderFloat::Reserved,
        _ => {
            let exponent = (raw as i16) >> 12;
            let mantissa = ((raw << 4) as i16) >> 4;
            MderFloat::Finite(scale(i32::from(mantissa), i32::from(exponent)))
        }
    }
}

/// Dividing by a power of ten for negative exponents gives the correctly rounded decimal
/// (36987e-3 is 36.987, not 36.987000000000002).
fn scale(mantissa: i32, exponent: i32) -> f64 {
    let power = 10f64.powi(exponent.abs());
    if exponent < 0 {
        f64::from(mantissa) / power
    } else {
        f64::from(mantissa) * power
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponent_and_mantissa_are_both_signed() {
        assert_eq!(float32(0xff00_016c), MderFloat::Finite(36.4));
        assert_eq!(float32(0xffff_ff9c), MderFloat::Finite(-10.0));
        assert_eq!(sfloat16(0xf072), MderFloat::Finite(11.4));
        assert_eq!(sfloat16(0xff8e), MderFloat::Finite(-11.4));
    }

    #[test]
    fn extreme_exponents_stay_finite() {
        assert!(matches!(float32(0x7f7f_fffd), MderFloat::Finite(v) if v.is_finite()));
        assert!(matches!(float32(0x807f_fffd), MderFloat::Finite(v) if v.is_finite()));
    }
}
