//! The endpoint: who is asking, what they listen for, where they resume from.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use sync_core::workorder::Role;

use super::hub::Audience;
use super::stream::EventStream;
use crate::auth::AuthUser;
use crate::db::now_ms;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::workorders::scope;

/// Where a client resumes from, when it cannot send `Last-Event-ID`.
#[derive(serde::Deserialize)]
struct LastEventQuery {
    last_event_id: Option<String>,
}

/// Live push: a `text/event-stream` that says when to sync.
#[utoipa::path(get, path = "/v1/events", tag = "sync", operation_id = "events",
    params(("Last-Event-ID" = Option<String>, Header,
        description = "The id of the last event received, to resume: a `sync` comes at once \
            when something concerning the caller changed since (or when the id is unknown or \
            too old). Without it the stream starts with a `sync`."),
        ("last_event_id" = Option<String>, Query,
        description = "The same as `Last-Event-ID`, for clients that cannot set headers (a \
            browser's `EventSource` opened anew); the header wins when both are sent.")),
    security(("bearer_jwt" = [])),
    responses(
        (status = 200, content_type = "text/event-stream", body = String, description =
            "Server-sent events, each with an `id:` to resume from. `sync` (data \
            `{\"reason\": \"changed\" | \"resume\"}`): a work order the caller holds or \
            should hold changed (assigned or taken away, an office edit, a follow-up, a clock \
            breach or escalation, another device's sync); run a sync. A session without a \
            device (the browser console) is also told what changed: `work_orders` (ids, at \
            most 64; absent: anything) and `stock` (locations whose stock changed, when any). \
            Changes within 150 ms are one event. A comment line (`:`) every 20 s keeps proxies from closing the \
            stream. `refresh` (data `{\"expires_at\": <unix seconds>}`) ends the stream \
            shortly before the access token expires: refresh the token and reconnect. \
            The stream starts with `retry: 2000`: reconnect after errors with exponential \
            backoff from 2 s and random jitter, never at a fixed interval."),
        (status = 401, description = "`unauthorized`, `token_expired` or `account_disabled`.", body = ErrorBody),
    ))]
pub async fn events(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let now = now_ms();
    let expires_at = user.expires_at;
    let audience = match user.role {
        Role::Technician => Audience::Technician(user.id.clone()),
        Role::Dispatcher => {
            let mut conn = state.db.pool.acquire().await?;
            Audience::Regions(scope::regions_of(&mut conn, &user.id).await?)
        }
        Role::System => {
            return Err(ApiError::Forbidden(
                "the system role has no event stream".into(),
            ))
        }
        Role::Agent | Role::Manager | Role::Auditor | Role::Admin => Audience::Everyone,
    };
    let from_query = || {
        web::Query::<LastEventQuery>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.into_inner().last_event_id)
    };
    let last = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(from_query)
        .and_then(|v| v.trim().parse::<i64>().ok());
    let hub = &state.events;
    // A session without a device (the browser console, a script) is told what changed, so it
    // can refetch just that; a device's events stay data-free, it syncs anyway.
    let with_ids = user.device.is_none();
    let sub = hub.subscribe(audience, user.device.clone(), with_ids);
    let missed = hub.missed(&sub, last);
    let last_id = match last {
        Some(l) if !missed => l,
        _ => hub.latest(),
    };
    let remaining = Duration::from_millis(u64::try_from(expires_at * 1000 - now).unwrap_or(0));
    let body = EventStream::new(sub, remaining, expires_at, last_id, missed);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        // nginx and others would otherwise buffer the stream.
        .insert_header(("x-accel-buffering", "no"))
        .body(body))
}
