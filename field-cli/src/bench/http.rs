//! The bench's HTTP client: one connection pool for every simulated device and the admin
//! (cheap for the load generator), JSON calls that wait and retry when the server is busy
//! (`503` or `429` with `Retry-After`, as the login hashing queue answers when it is full),
//! and the binary sync exchange.

use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::api::ApiError;

/// Longest single wait a `Retry-After` may ask for (a larger value is capped).
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
/// Wait when a busy answer names no `Retry-After`.
const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(1);
/// Busy answers in a row before a call gives up (at most about 5 minutes of waiting).
const MAX_BUSY_RETRIES: u32 = 60;

#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    base: String,
}

/// The wait a `Retry-After` value asks for: delay-seconds, or the default for an HTTP date
/// or anything unreadable (the server's clock is not ours to trust).
pub fn retry_wait(header: Option<&str>) -> Duration {
    header
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s).min(MAX_RETRY_WAIT))
        .unwrap_or(DEFAULT_RETRY_WAIT)
}

impl Http {
    pub fn new(base: &str) -> Result<Http, ApiError> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ApiError::Protocol(format!(
                "server {base:?} is not an http:// or https:// URL"
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ApiError::Protocol(e.to_string()))?;
        Ok(Http { client, base })
    }

    fn unreachable(&self, e: reqwest::Error) -> ApiError {
        crate::api::unreachable(&self.base, e)
    }

    async fn refusal(resp: reqwest::Response) -> ApiError {
        crate::api::refusal(resp).await
    }

    /// A JSON call; a busy server (`503`, `429`) is waited for as its `Retry-After` says.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let mut busy = 0;
        loop {
            let mut req = self
                .client
                .request(method.clone(), format!("{}{path}", self.base));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = req.send().await.map_err(|e| self.unreachable(e))?;
            let status = resp.status();
            if (status == StatusCode::SERVICE_UNAVAILABLE
                || status == StatusCode::TOO_MANY_REQUESTS)
                && busy < MAX_BUSY_RETRIES
            {
                busy += 1;
                let header = resp
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok());
                tokio::time::sleep(retry_wait(header)).await;
                continue;
            }
            if !status.is_success() {
                return Err(Self::refusal(resp).await);
            }
            let bytes = resp.bytes().await.map_err(|e| self.unreachable(e))?;
            if bytes.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&bytes).map_err(|e| ApiError::Protocol(e.to_string()));
        }
    }

    /// One exchange of the binary sync protocol. Not retried: a refused sync is an error the
    /// steady run counts.
    pub async fn sync(&self, token: &str, body: Vec<u8>) -> Result<Vec<u8>, ApiError> {
        let resp = self
            .client
            .post(format!("{}/v1/sync", self.base))
            .bearer_auth(token)
            .header("content-type", sync_core::protocol::codec::CONTENT_TYPE)
            .body(body)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        if !resp.status().is_success() {
            return Err(Self::refusal(resp).await);
        }
        let bytes = resp.bytes().await.map_err(|e| self.unreachable(e))?;
        Ok(bytes.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_are_honoured_and_capped() {
        assert_eq!(retry_wait(Some("2")), Duration::from_secs(2));
        assert_eq!(retry_wait(Some(" 0 ")), Duration::from_secs(0));
        assert_eq!(retry_wait(Some("3600")), MAX_RETRY_WAIT);
        assert_eq!(
            retry_wait(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            DEFAULT_RETRY_WAIT
        );
        assert_eq!(retry_wait(None), DEFAULT_RETRY_WAIT);
    }

    #[test]
    fn only_http_urls_are_accepted() {
        assert!(Http::new("ftp://x").is_err());
        assert!(Http::new("http://127.0.0.1:1/").is_ok());
    }
}
