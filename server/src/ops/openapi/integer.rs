//! Request fields the document types as `integer` accept every JSON number JSON Schema counts
//! as one: `159` and also `159.0` (a JSON Schema integer is any number with a zero fractional
//! part, and clients that write numbers as floats send that). serde's integer types refuse
//! `159.0`; these `deserialize_with` functions take it, and still refuse `159.5` or a value
//! out of the field's range.

use serde::de::Error;
use serde::{Deserialize, Deserializer};

/// The number as an `i64`, if it is integral and fits.
fn integral(n: &serde_json::Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    // i64::MAX is not exactly representable; 2^63 as f64 is out of range.
    (f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64).then_some(f as i64)
}

fn number<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    integral(&n).ok_or_else(|| D::Error::custom(format!("{n} is not an integer")))
}

/// An `i64` field.
pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    number(d)
}

/// An optional `i64` field (`null` or absent is `None`).
pub fn option_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<serde_json::Number>::deserialize(d)?
        .map(|n| integral(&n).ok_or_else(|| D::Error::custom(format!("{n} is not an integer"))))
        .transpose()
}

/// A `u8` field.
pub fn u8<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let i = number(d)?;
    u8::try_from(i).map_err(|_| D::Error::custom(format!("{i} is not between 0 and 255")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::i64")]
        n: i64,
        #[serde(default, deserialize_with = "super::option_i64")]
        o: Option<i64>,
        #[serde(default, deserialize_with = "super::u8")]
        b: u8,
    }

    fn parse(json: &str) -> Result<Body, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn integral_numbers_are_taken_with_or_without_a_fraction() {
        let b = parse(r#"{"n": 159.0, "o": -2.0, "b": 5.0}"#).unwrap();
        assert_eq!((b.n, b.o, b.b), (159, Some(-2), 5));
        let b = parse(r#"{"n": 9223372036854775807, "o": null}"#).unwrap();
        assert_eq!((b.n, b.o, b.b), (i64::MAX, None, 0));
    }

    #[test]
    fn fractions_strings_and_out_of_range_values_are_refused() {
        assert!(parse(r#"{"n": 159.5}"#).is_err());
        assert!(parse(r#"{"n": "159"}"#).is_err());
        assert!(parse(r#"{"n": 1e300}"#).is_err());
        assert!(parse(r#"{"n": 1, "b": 256}"#).is_err());
        assert!(parse(r#"{"n": 1, "b": -1.0}"#).is_err());
    }
}
