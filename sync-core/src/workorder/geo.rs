//! Coordinates: where a job's site is, and where a technician said they were when they
//! arrived on site (WGS84, degrees).
//!
//! Both are optional everywhere: a work order written before coordinates existed, or taken in
//! without them, hydrates with `site: None`, and an event without a position serializes exactly
//! as it did before (`position` is left out of the JSON, `site` out of the intake map), so old
//! documents, old devices and the golden vectors are unchanged.

use automerge::{ObjId, ScalarValue, Value};
use autosurgeon::{Hydrate, HydrateError, ReadDoc, Reconcile};
use serde::{Deserialize, Serialize};

/// A point on the Earth, latitude and longitude in degrees (WGS84).
///
/// Built by [`GeoPoint::new`], which refuses NaN, infinities and values out of range; a point
/// read from a device is checked again ([`GeoPoint::check`]) before anything trusts it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Reconcile)]
pub struct GeoPoint {
    /// -90 (south pole) to 90 (north pole).
    pub lat: f64,
    /// -180 to 180 (east of Greenwich positive).
    pub lon: f64,
}

/// Why coordinates were refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeoError {
    #[error("latitude {0} is not a number of degrees between -90 and 90")]
    Latitude(f64),
    #[error("longitude {0} is not a number of degrees between -180 and 180")]
    Longitude(f64),
}

impl GeoPoint {
    /// A checked point.
    pub fn new(lat: f64, lon: f64) -> Result<GeoPoint, GeoError> {
        let p = GeoPoint { lat, lon };
        p.check()?;
        Ok(p)
    }

    /// `|lat| <= 90`, `|lon| <= 180`, both finite (NaN fails every comparison).
    pub fn check(&self) -> Result<(), GeoError> {
        if !(self.lat.is_finite() && (-90.0..=90.0).contains(&self.lat)) {
            return Err(GeoError::Latitude(self.lat));
        }
        if !(self.lon.is_finite() && (-180.0..=180.0).contains(&self.lon)) {
            return Err(GeoError::Longitude(self.lon));
        }
        Ok(())
    }
}

// Equality of the exact bits: what an event compares on (a rewritten event is one whose JSON
// differs). Checked points are never NaN, so this is an equivalence relation for them.
impl PartialEq for GeoPoint {
    fn eq(&self, other: &Self) -> bool {
        self.lat.to_bits() == other.lat.to_bits() && self.lon.to_bits() == other.lon.to_bits()
    }
}

impl Eq for GeoPoint {}

impl Hydrate for GeoPoint {
    fn hydrate_map<D: ReadDoc>(doc: &D, obj: &ObjId) -> Result<Self, HydrateError> {
        Ok(GeoPoint {
            lat: degrees(doc, obj, "lat")?,
            lon: degrees(doc, obj, "lon")?,
        })
    }
}

/// A number of degrees, written as a float by sync-core but possibly as an integer by another
/// Automerge client (JavaScript numbers without a fraction are stored as integers).
fn degrees<D: ReadDoc>(doc: &D, obj: &ObjId, key: &str) -> Result<f64, HydrateError> {
    let expected = "a number of degrees";
    match doc.get(obj, key)? {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::F64(f) => Ok(*f),
            ScalarValue::Int(i) => Ok(*i as f64),
            ScalarValue::Uint(u) => Ok(*u as f64),
            other => Err(HydrateError::unexpected(expected, format!("{other}"))),
        },
        Some((other, _)) => Err(HydrateError::unexpected(expected, format!("{other}"))),
        None => Err(HydrateError::unexpected(expected, format!("no {key}"))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_in_range_are_accepted_and_the_rest_refused_with_the_value() {
        assert!(GeoPoint::new(52.52, 13.405).is_ok());
        assert!(GeoPoint::new(-90.0, 180.0).is_ok());
        assert!(GeoPoint::new(90.0, -180.0).is_ok());
        assert_eq!(
            GeoPoint::new(90.5, 0.0).unwrap_err(),
            GeoError::Latitude(90.5)
        );
        assert_eq!(
            GeoPoint::new(0.0, -180.01).unwrap_err(),
            GeoError::Longitude(-180.01)
        );
        assert!(GeoPoint::new(f64::NAN, 0.0).is_err());
        assert!(GeoPoint::new(0.0, f64::NAN).is_err());
        assert!(GeoPoint::new(f64::INFINITY, 0.0).is_err());
        assert_eq!(
            GeoPoint::new(91.0, 0.0).unwrap_err().to_string(),
            "latitude 91 is not a number of degrees between -90 and 90"
        );
    }

    #[test]
    fn a_point_written_with_integer_degrees_by_another_client_hydrates() {
        use automerge::transaction::Transactable;
        let mut doc = automerge::AutoCommit::new();
        let p = doc
            .put_object(automerge::ROOT, "p", automerge::ObjType::Map)
            .unwrap();
        doc.put(&p, "lat", 52i64).unwrap();
        doc.put(&p, "lon", 13.5f64).unwrap();
        let got: GeoPoint = autosurgeon::hydrate_prop(&doc, automerge::ROOT, "p").unwrap();
        assert_eq!(got, GeoPoint::new(52.0, 13.5).unwrap());
    }
}
