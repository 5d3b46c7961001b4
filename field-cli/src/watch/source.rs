//! An open `GET /v1/events` stream, read event by event.

use std::collections::VecDeque;
use std::time::Duration;

use super::sse::{Event, Parser};
use crate::api::{refusal, unreachable, ApiError};

/// The server sends a heartbeat every 20 s: this long without a byte means the connection is
/// dead even if TCP has not noticed.
pub const SILENCE: Duration = Duration::from_secs(60);

/// A client for streams: no overall timeout (the API client's would cut a stream off).
pub fn client() -> Result<reqwest::Client, ApiError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| ApiError::Protocol(e.to_string()))
}

pub struct EventSource {
    base: String,
    resp: reqwest::Response,
    parser: Parser,
    queue: VecDeque<Event>,
}

impl EventSource {
    /// Opens the stream at `base` with the access token, resuming after `last_id`.
    pub async fn connect(
        http: &reqwest::Client,
        base: &str,
        token: &str,
        last_id: Option<&str>,
    ) -> Result<EventSource, ApiError> {
        let mut req = http
            .get(format!("{base}/v1/events"))
            .bearer_auth(token)
            .header("accept", "text/event-stream");
        if let Some(id) = last_id {
            req = req.header("last-event-id", id);
        }
        let resp = tokio::time::timeout(SILENCE, req.send())
            .await
            .map_err(|_| ApiError::Unreachable {
                url: base.to_owned(),
                reason: "timed out".into(),
            })?
            .map_err(|e| unreachable(base, e))?;
        if !resp.status().is_success() {
            return Err(refusal(resp).await);
        }
        let kind = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !kind.starts_with("text/event-stream") {
            return Err(ApiError::Protocol(format!(
                "{base}/v1/events answered {kind:?}, not an event stream: is this a fieldsync server?"
            )));
        }
        Ok(EventSource {
            base: base.to_owned(),
            resp,
            parser: Parser::new(),
            queue: VecDeque::new(),
        })
    }

    /// The next event; `None` when the server ended the stream.
    pub async fn next(&mut self) -> Result<Option<Event>, ApiError> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                return Ok(Some(e));
            }
            let chunk = tokio::time::timeout(SILENCE, self.resp.chunk())
                .await
                .map_err(|_| ApiError::Unreachable {
                    url: self.base.clone(),
                    reason: format!("no heartbeat for {} s", SILENCE.as_secs()),
                })?
                .map_err(|e| unreachable(&self.base, e))?;
            let Some(chunk) = chunk else {
                return Ok(None);
            };
            let events = self.parser.feed(&chunk).map_err(ApiError::Protocol)?;
            self.queue.extend(events);
        }
    }

    /// The last event id the stream named (kept across events, as in a browser).
    pub fn last_id(&self) -> Option<&str> {
        self.parser.last_id.as_deref()
    }

    /// The `retry:` the server asked for (ms).
    pub fn retry_ms(&self) -> Option<u64> {
        self.parser.retry
    }
}
