//! A technician's home base as the admin users API takes it (`NewUser.home`,
//! `UserPatch.home`): checked on the way in, stored by `dispatch::places`.

use serde::{Deserialize, Deserializer};
use sync_core::workorder::GeoPoint;

use crate::error::ApiError;

/// `{"lat": …, "lon": …}` in degrees (WGS84); nothing else.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HomeBase {
    pub lat: f64,
    pub lon: f64,
}

impl HomeBase {
    /// The point, or a 400 `bad_coordinates` saying which value is out of range.
    pub fn checked(self) -> Result<GeoPoint, ApiError> {
        GeoPoint::new(self.lat, self.lon)
            .map_err(|e| ApiError::bad("bad_coordinates", format!("home base: {e}")))
    }
}

/// `home` in a patch: absent leaves it (`None`), `null` clears it (`Some(None)`).
pub fn set_or_clear<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<HomeBase>>, D::Error> {
    Option::<HomeBase>::deserialize(d).map(Some)
}
