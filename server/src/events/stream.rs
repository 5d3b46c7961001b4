//! One open stream: a small [`MessageBody`] polled by actix's connection task.
//!
//! It holds its hub [`Subscription`] (a slot: a pending id and a waker), one timer and a few
//! numbers. Nothing runs for an idle stream: no task of its own, no channel, no buffer; the
//! timer fires for a heartbeat every [`HEARTBEAT`] and once for the end. Each poll answers,
//! in order: the preface (`retry:` and a `sync` when the client may have missed something),
//! a pending `sync`, a heartbeat or the final `refresh`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;
use tokio::time::{Instant, Sleep};

use super::hub::Subscription;
use super::{HEARTBEAT, RETRY_BASE_MS};

/// An SSE comment: ignored by clients, enough for proxies to see traffic.
const PING: &[u8] = b":\n\n";

/// How long before the access token expires the stream ends with `refresh`: a tenth of the
/// token's remaining life, between 1 and 30 s (a 15-minute token: 30 s before).
pub fn refresh_lead(remaining: Duration) -> Duration {
    (remaining / 10).clamp(Duration::from_secs(1), Duration::from_secs(30))
}

pub struct EventStream {
    sub: Subscription,
    timer: Pin<Box<Sleep>>,
    heartbeat: Duration,
    ends_at: Instant,
    /// The token's expiry (Unix seconds), told to the client in `refresh`.
    expires_at: i64,
    last_id: i64,
    preface: Option<Bytes>,
    done: bool,
}

impl EventStream {
    /// A stream for `sub` that ends `remaining - refresh_lead(remaining)` from now.
    /// `last_id`: the id the client resumes from, or the hub's latest; `missed`: send a
    /// `sync` at once.
    pub fn new(
        sub: Subscription,
        remaining: Duration,
        expires_at: i64,
        last_id: i64,
        missed: bool,
    ) -> EventStream {
        Self::with_heartbeat(sub, remaining, expires_at, last_id, missed, HEARTBEAT)
    }

    /// As [`EventStream::new`], with a heartbeat every `heartbeat` (tests use short ones).
    pub fn with_heartbeat(
        sub: Subscription,
        remaining: Duration,
        expires_at: i64,
        last_id: i64,
        missed: bool,
        heartbeat: Duration,
    ) -> EventStream {
        let now = Instant::now();
        let ends_at = now + remaining.saturating_sub(refresh_lead(remaining));
        let mut preface = format!("retry: {RETRY_BASE_MS}\n\n");
        if missed {
            preface.push_str(&sync_event(last_id, "resume"));
            metrics::counter!("fieldsync_events_sent_total", "event" => "sync").increment(1);
        }
        EventStream {
            sub,
            timer: Box::pin(tokio::time::sleep_until(ends_at.min(now + heartbeat))),
            heartbeat,
            ends_at,
            expires_at,
            last_id,
            preface: Some(Bytes::from(preface)),
            done: false,
        }
    }
}

fn sync_event(id: i64, reason: &str) -> String {
    format!("id: {id}\nevent: sync\ndata: {{\"reason\":\"{reason}\"}}\n\n")
}

/// A `changed` event naming the work orders, and the stock locations apart (ids are letters,
/// digits and `-_.:@`, but they are JSON-encoded all the same).
fn changed_event(id: i64, ids: Option<Vec<String>>) -> String {
    match ids {
        Some(ids) if !ids.is_empty() => {
            let (stock, work_orders): (Vec<String>, Vec<String>) = ids
                .into_iter()
                .partition(|i| i.starts_with(super::STOCK_PREFIX));
            let list = serde_json::to_string(&work_orders).unwrap_or_else(|_| "[]".into());
            let stock = if stock.is_empty() {
                String::new()
            } else {
                let locations: Vec<&str> = stock
                    .iter()
                    .filter_map(|s| s.strip_prefix(super::STOCK_PREFIX))
                    .collect();
                let l = serde_json::to_string(&locations).unwrap_or_else(|_| "[]".into());
                format!(",\"stock\":{l}")
            };
            format!("id: {id}\nevent: sync\ndata: {{\"reason\":\"changed\",\"work_orders\":{list}{stock}}}\n\n")
        }
        _ => sync_event(id, "changed"),
    }
}

impl MessageBody for EventStream {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        if let Some(p) = this.preface.take() {
            return Poll::Ready(Some(Ok(p)));
        }
        if this.done {
            return Poll::Ready(None);
        }
        let slot = this.sub.slot();
        slot.register(cx.waker());
        if let Some(stamp) = slot.take() {
            this.last_id = this.last_id.max(stamp);
            metrics::counter!("fieldsync_events_sent_total", "event" => "sync").increment(1);
            let ids = slot.take_ids();
            return Poll::Ready(Some(Ok(Bytes::from(changed_event(this.last_id, ids)))));
        }
        if this.timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let now = Instant::now();
        if now >= this.ends_at {
            this.done = true;
            metrics::counter!("fieldsync_events_sent_total", "event" => "refresh").increment(1);
            return Poll::Ready(Some(Ok(Bytes::from(format!(
                "id: {}\nevent: refresh\ndata: {{\"expires_at\":{}}}\n\n",
                this.last_id, this.expires_at
            )))));
        }
        let next = this.ends_at.min(now + this.heartbeat);
        this.timer.as_mut().reset(next);
        Poll::Ready(Some(Ok(Bytes::from_static(PING))))
    }
}
