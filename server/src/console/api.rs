//! The console's own reads: the board as lanes and columns with the unassigned queue on top,
//! single cards for live updates, and the manager's queues. Everything else the console
//! shows comes from the API every client uses.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::board_sql::{self, Filter};
use super::cards::{self, Card};
use crate::auth::AuthUser;
use crate::clock::api::EscalationRow;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::workorders::scope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/console/board", web::get().to(board))
        .route("/v1/console/cards", web::get().to(cards_by_id))
        .route("/v1/console/queues", web::get().to(queues))
        .route(
            "/v1/console/workorder/{id}",
            web::get().to(super::record::record),
        );
}

/// Cards per board cell (and in the unassigned queue) unless the request asks for fewer.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;
/// Ids one `cards` request may name.
const MAX_IDS: usize = 200;

/// Board columns after the unassigned queue, in the order work moves.
pub const COLUMNS: &[&str] = &[
    "pending_dispatch",
    "assigned",
    "accepted",
    "scheduled",
    "en_route",
    "on_site",
    "diagnosed",
    "quoted",
    "consent_given",
    "in_progress",
    "signed",
    "completed",
    "escalated",
];

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BoardQuery {
    /// Only this region (one of the caller's, for a dispatcher).
    pub region: Option<String>,
    /// Only work orders needing this skill.
    pub skill: Option<String>,
    /// Only this status, e.g. `en_route` (empty: any).
    #[param(
        pattern = "^(|pending_dispatch|assigned|accepted|scheduled|en_route|on_site|diagnosed|quoted|consent_given|in_progress|signed|completed|escalated)$"
    )]
    pub status: Option<String>,
    /// Only this priority: `urgent`, `high`, `normal` or `low`.
    pub priority: Option<String>,
    /// Text search in the id, customer, service type and assignee (case-insensitive).
    pub q: Option<String>,
    /// Cards per cell and in the unassigned queue: 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsoleBoard {
    /// Service time of the read (ms).
    pub now: i64,
    /// The lanes: the regions the caller dispatches (every region with work for others).
    pub regions: Vec<String>,
    /// The columns, in the order work moves.
    pub statuses: Vec<String>,
    /// region → status → how many cards match the filters (before the cap).
    pub counts: BTreeMap<String, BTreeMap<String, usize>>,
    /// Waiting for dispatch, in the order the batch dispatcher serves them (urgent, VIP,
    /// soonest deadline, oldest), capped at `limit`.
    pub unassigned: Vec<Card>,
    pub unassigned_total: usize,
    /// region → status → cards (urgent first, then the soonest deadline), each capped at `limit`.
    pub lanes: BTreeMap<String, BTreeMap<String, Vec<Card>>>,
}

/// The dispatch board.
#[utoipa::path(get, path = "/v1/console/board", tag = "console", params(BoardQuery),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Lanes by region, columns by status, the unassigned queue.", body = ConsoleBoard),
        (status = 400, description = "`bad_query`.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians, or a region not the dispatcher's.", body = ErrorBody),
    ))]
async fn board(
    state: web::Data<AppState>,
    user: AuthUser,
    q: web::Query<BoardQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut q = q.into_inner();
    // An empty filter (`?status=`, as a form's "any" sends it) is no filter.
    for f in [&mut q.region, &mut q.skill, &mut q.status, &mut q.priority] {
        if f.as_deref().is_some_and(|v| v.trim().is_empty()) {
            *f = None;
        }
    }
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad(
            "bad_query",
            format!("limit must be from 1 to {MAX_LIMIT}, not {limit}"),
        ));
    }
    if let Some(s) = &q.status {
        if !COLUMNS.contains(&s.as_str()) {
            return Err(ApiError::bad(
                "bad_query",
                format!(
                    "status {s:?} is not on the board (one of {})",
                    COLUMNS.join(", ")
                ),
            ));
        }
    }
    let mut conn = state.db.pool.acquire().await?;
    let now = state.clock.now(&mut conn).await?;
    let regions = scope::office_regions(&mut conn, &user, q.region.as_deref()).await?;
    let filter = Filter {
        regions: regions.clone(),
        region: q.region.clone(),
        skill: q.skill.clone(),
        status: q.status.clone(),
        priority: q.priority.clone(),
        text: q
            .q
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase),
    };
    let mut counts: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut unassigned_total = 0;
    for (region, status, n) in board_sql::counts(&mut conn, &filter).await? {
        let n = usize::try_from(n).unwrap_or(0);
        if status == "pending_dispatch" {
            unassigned_total += n;
        }
        counts.entry(region).or_default().insert(status, n);
    }
    let unassigned = if filter
        .status
        .as_deref()
        .is_none_or(|s| s == "pending_dispatch")
    {
        board_sql::unassigned(&mut conn, &filter, limit, now).await?
    } else {
        Vec::new()
    };
    let mut lanes: BTreeMap<String, BTreeMap<String, Vec<Card>>> = BTreeMap::new();
    for c in board_sql::cells(&mut conn, &filter, limit, now).await? {
        lanes
            .entry(c.region.clone())
            .or_default()
            .entry(c.status.clone())
            .or_default()
            .push(c);
    }
    let lane_names = match (&q.region, &regions) {
        (Some(r), _) => vec![r.clone()],
        (None, Some(mine)) => mine.clone(),
        (None, None) => {
            let mut names: Vec<String> = sqlx::query("SELECT id FROM regions ORDER BY id")
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .map(|r| r.try_get::<String, _>("id"))
                .collect::<Result<_, _>>()?;
            for r in counts.keys() {
                if !names.contains(r) {
                    names.push(r.clone());
                }
            }
            names
        }
    };
    Ok(HttpResponse::Ok().json(ConsoleBoard {
        now,
        regions: lane_names,
        statuses: COLUMNS.iter().map(|s| (*s).to_owned()).collect(),
        counts,
        unassigned,
        unassigned_total,
        lanes,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CardsQuery {
    /// Work order ids, comma-separated (at most 200; none: an empty list).
    pub ids: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CardList {
    pub now: i64,
    /// The cards of the ids the caller can see; the others are left out.
    pub cards: Vec<Card>,
}

/// Some cards again, for a live update.
#[utoipa::path(get, path = "/v1/console/cards", tag = "console", params(CardsQuery),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "The cards the caller can see.", body = CardList),
        (status = 400, description = "`bad_query`: more than 200 ids.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians.", body = ErrorBody),
    ))]
async fn cards_by_id(
    state: web::Data<AppState>,
    user: AuthUser,
    q: web::Query<CardsQuery>,
) -> Result<HttpResponse, ApiError> {
    let ids: Vec<String> = q
        .ids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if ids.len() > MAX_IDS {
        return Err(ApiError::bad(
            "bad_query",
            format!(
                "ids may name at most {MAX_IDS} work orders, not {}",
                ids.len()
            ),
        ));
    }
    let mut conn = state.db.pool.acquire().await?;
    let now = state.clock.now(&mut conn).await?;
    let regions = scope::office_regions(&mut conn, &user, None).await?;
    let cards = cards::by_ids(&mut conn, &ids, now)
        .await?
        .into_iter()
        .filter(|c| scope::covers(&regions, &c.region))
        .collect();
    Ok(HttpResponse::Ok().json(CardList { now, cards }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScoredCard {
    #[serde(flatten)]
    pub card: Card,
    /// The customer's score (1 to 5).
    pub score: i64,
    pub comment: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Queues {
    pub now: i64,
    /// Open escalations, oldest first.
    pub escalations: Vec<EscalationRow>,
    /// Low follow-up scores waiting for the manager's call (CS-LOWSCORE running).
    pub low_scores: Vec<ScoredCard>,
    /// Complaints waiting for classification (CS-COMPLAINT-CLASSIFY running).
    pub complaints_to_classify: Vec<Card>,
    /// Work orders with a breach recorded and not withdrawn.
    pub breaches: Vec<Card>,
}

/// The after-sales manager's queues, each item with its clock.
#[utoipa::path(get, path = "/v1/console/queues", tag = "console",
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "Escalations, low scores, complaints to classify, breaches.", body = Queues),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians.", body = ErrorBody),
    ))]
async fn queues(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.pool.acquire().await?;
    let now = state.clock.now(&mut conn).await?;
    let regions = scope::office_regions(&mut conn, &user, None).await?;
    let escalations: Vec<EscalationRow> = sqlx::query_as(
        "SELECT id, wo_id, kind, region, reason, opened_at, due_at, resolved_at, resolved_by, resolution
         FROM escalations WHERE resolved_at IS NULL ORDER BY opened_at, id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let running = |rule: &'static str| {
        sqlx::query_scalar::<_, String>(
            "SELECT DISTINCT wo_id FROM clocks WHERE rule = $1 AND stopped_at IS NULL ORDER BY wo_id",
        )
        .bind(rule)
    };
    let low: Vec<String> = running("CS-LOWSCORE").fetch_all(&mut *conn).await?;
    let complaints: Vec<String> = running("CS-COMPLAINT-CLASSIFY")
        .fetch_all(&mut *conn)
        .await?;
    let breached: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT c.wo_id FROM clocks c JOIN work_orders w ON w.id = c.wo_id
         WHERE c.breached_at IS NOT NULL AND c.cleared_at IS NULL
           AND w.status NOT IN ('closed', 'cancelled') ORDER BY c.wo_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let scores: BTreeMap<String, (i64, String)> =
        sqlx::query("SELECT wo_id, score, comment FROM scores")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>("wo_id")?,
                    (
                        r.try_get::<i64, _>("score")?,
                        r.try_get::<String, _>("comment")?,
                    ),
                ))
            })
            .collect::<sqlx::Result<_>>()?;
    let low_scores = visible(&mut conn, &regions, &low, now)
        .await?
        .into_iter()
        .map(|card| {
            let (score, comment) = scores.get(&card.id).cloned().unwrap_or((0, String::new()));
            ScoredCard {
                card,
                score,
                comment,
            }
        })
        .collect();
    let complaints_to_classify = visible(&mut conn, &regions, &complaints, now).await?;
    let breaches = visible(&mut conn, &regions, &breached, now).await?;
    Ok(HttpResponse::Ok().json(Queues {
        now,
        escalations: escalations
            .into_iter()
            .filter(|e| scope::covers(&regions, &e.region))
            .collect(),
        low_scores,
        complaints_to_classify,
        breaches,
    }))
}

/// The cards of `ids` the caller's regions cover, soonest deadline first.
async fn visible(
    conn: &mut sqlx::AnyConnection,
    regions: &Option<Vec<String>>,
    ids: &[String],
    now: i64,
) -> sqlx::Result<Vec<Card>> {
    let mut list: Vec<Card> = cards::by_ids(conn, ids, now)
        .await?
        .into_iter()
        .filter(|c| scope::covers(regions, &c.region))
        .collect();
    list.sort_by_key(|c| c.next_deadline.as_ref().map_or(i64::MAX, |d| d.due_at));
    Ok(list)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_documented_status_pattern_names_every_board_column() {
        let pattern = "^(|pending_dispatch|assigned|accepted|scheduled|en_route|on_site|diagnosed|quoted|consent_given|in_progress|signed|completed|escalated)$";
        let named: Vec<&str> = pattern
            .trim_start_matches("^(|")
            .trim_end_matches(")$")
            .split('|')
            .collect();
        assert_eq!(named, super::COLUMNS);
    }
}
