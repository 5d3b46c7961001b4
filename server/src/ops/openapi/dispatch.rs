//! Documentation-only schemas of dispatch's explanations (`crate::dispatch`), which derive only
//! `Serialize`: field names and tags follow `dispatch/mod.rs`.

use serde::Serialize;
use utoipa::ToSchema;

/// Why a technician cannot take a job, tagged by `reason`.
#[derive(Serialize, ToSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Exclusion {
    Inactive,
    OutsideRegion {
        region: String,
    },
    MissingSkills {
        skills: Vec<String>,
    },
    AtCapacity {
        open: u32,
        capacity: u32,
    },
    /// Declined this job, or let its acceptance time out.
    Refused,
}

/// One candidate in an explanation.
#[derive(Serialize, ToSchema)]
pub struct CandidateOutcome {
    pub technician: String,
    pub open: u32,
    pub capacity: u32,
    /// `null` when eligible.
    pub excluded: Option<Exclusion>,
    /// Position among the eligible (1 = chosen), when eligible.
    #[schema(minimum = 1)]
    pub rank: Option<u64>,
    /// Great-circle distance in km from the technician's best-known position to the job's
    /// site; absent when either is unknown. Ranks after load: at equal load the nearer first,
    /// unknown distances after every known one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub distance_km: Option<f64>,
    /// Where that position came from; absent with the distance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<crate::dispatch::PositionSource>,
}

/// Why a job went to whom.
#[derive(Serialize, ToSchema)]
pub struct Explanation {
    /// The work order id.
    pub job: String,
    pub chosen: Option<String>,
    /// Urgent and nobody eligible: a manager must step in now.
    pub escalate: bool,
    pub candidates: Vec<CandidateOutcome>,
}
