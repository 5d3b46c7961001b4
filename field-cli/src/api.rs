//! The server's HTTP API as a device sees it: login and tokens, JSON calls, the binary sync
//! exchange and blob upload. Every failure is an [`ApiError`] that says what to do next.

pub mod upload;

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot reach the server at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The access token expired: refresh and try again.
    #[error("the access token has expired")]
    Expired,
    #[error("the server refused ({code}): {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
}

/// What login and refresh return.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub user: UserInfo,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: String,
    pub role: String,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub skills: Vec<String>,
}

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    pub fn new(base: &str) -> Result<Api, ApiError> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ApiError::Protocol(format!(
                "server {base:?} is not an http:// or https:// URL"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(120))
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| ApiError::Protocol(e.to_string()))?;
        Ok(Api { http, base })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn unreachable(&self, e: reqwest::Error) -> ApiError {
        unreachable(&self.base, e)
    }

    async fn refusal(resp: reqwest::Response) -> ApiError {
        refusal(resp).await
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, ApiError> {
        let resp = req.send().await.map_err(|e| self.unreachable(e))?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(Self::refusal(resp).await)
        }
    }

    /// A JSON call; `token` is the access token when the endpoint needs one.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = self.send(req).await?;
        let bytes = resp.bytes().await.map_err(|e| self.unreachable(e))?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Protocol(e.to_string()))
    }

    pub async fn login(
        &self,
        user: &str,
        password: &str,
        device: &str,
    ) -> Result<Tokens, ApiError> {
        let v = self
            .call(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(&json!({"user": user, "password": password, "device_id": device})),
            )
            .await?;
        serde_json::from_value(v).map_err(|e| ApiError::Protocol(e.to_string()))
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, ApiError> {
        let v = self
            .call(
                Method::POST,
                "/v1/auth/refresh",
                None,
                Some(&json!({ "refresh_token": refresh_token })),
            )
            .await?;
        serde_json::from_value(v).map_err(|e| ApiError::Protocol(e.to_string()))
    }

    pub async fn logout(&self, refresh_token: &str) -> Result<(), ApiError> {
        self.call(
            Method::POST,
            "/v1/auth/logout",
            None,
            Some(&json!({ "refresh_token": refresh_token })),
        )
        .await
        .map(|_| ())
    }

    /// One exchange of the binary sync protocol.
    pub async fn sync(&self, token: &str, body: Vec<u8>) -> Result<Vec<u8>, ApiError> {
        let req = self
            .http
            .post(format!("{}/v1/sync", self.base))
            .bearer_auth(token)
            .header("content-type", sync_core::protocol::codec::CONTENT_TYPE)
            .body(body);
        let resp = self.send(req).await?;
        let bytes = resp.bytes().await.map_err(|e| self.unreachable(e))?;
        Ok(bytes.to_vec())
    }

    /// Uploads a blob (photo or signature image) under its SHA-256, resuming an upload the
    /// server holds part of (and saying so on stderr: `resumed at N of M bytes`).
    pub async fn put_blob(&self, token: &str, hash: &str, bytes: Vec<u8>) -> Result<(), ApiError> {
        if let Some(done) = upload::resumable(&self.http, &self.base, token, hash, &bytes).await? {
            if let Some(at) = done.resumed_at {
                eprintln!(
                    "image {}…: upload resumed at {at} of {} bytes",
                    hash.get(..12).unwrap_or(hash),
                    done.length
                );
            }
            return Ok(());
        }
        // A server without resumable uploads: the whole image in one request.
        let mime = match bytes.get(..4) {
            Some([0xFF, 0xD8, ..]) => "image/jpeg",
            Some([0x89, b'P', b'N', b'G']) => "image/png",
            _ => "image/webp",
        };
        let req = self
            .http
            .put(format!("{}/v1/blobs/{hash}", self.base))
            .bearer_auth(token)
            .header("content-type", mime)
            .body(bytes);
        self.send(req).await.map(|_| ())
    }
}

/// The server at `base` could not be reached (or the transfer broke off).
pub(crate) fn unreachable(base: &str, e: reqwest::Error) -> ApiError {
    ApiError::Unreachable {
        url: base.to_owned(),
        reason: if e.is_timeout() {
            "timed out".into()
        } else if e.is_connect() {
            "connection refused or no network".into()
        } else {
            e.to_string()
        },
    }
}

/// Turns a non-2xx response into the server's `{error, message}`.
pub(crate) async fn refusal(resp: reqwest::Response) -> ApiError {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let code = body["error"].as_str().unwrap_or("unknown").to_owned();
    if status == StatusCode::UNAUTHORIZED && code == "token_expired" {
        return ApiError::Expired;
    }
    ApiError::Refused {
        status: status.as_u16(),
        message: body["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("HTTP {status}")),
        code,
    }
}
