//! The admin's session for set-up and checks: one client, logging in again when the access
//! token expires, waiting out a busy server (see `http`).

use std::sync::Mutex;

use anyhow::{anyhow, Context};
use reqwest::Method;
use serde_json::{json, Value};

use super::http::Http;
use crate::api::{ApiError, Tokens};

pub struct Admin {
    http: Http,
    user: String,
    password: String,
    token: Mutex<String>,
}

impl Admin {
    pub async fn login(http: &Http, user: &str, password: &str) -> anyhow::Result<Admin> {
        let token = Self::fresh_token(http, user, password).await?;
        Ok(Admin {
            http: http.clone(),
            user: user.to_owned(),
            password: password.to_owned(),
            token: Mutex::new(token),
        })
    }

    /// Logs in without a device id: the admin does not sync.
    async fn fresh_token(http: &Http, user: &str, password: &str) -> anyhow::Result<String> {
        let v = http
            .json(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(&json!({"user": user, "password": password})),
            )
            .await?;
        let tokens: Tokens = serde_json::from_value(v)
            .map_err(|e| anyhow!("unexpected answer to the login: {e}"))?;
        Ok(tokens.access_token)
    }

    fn token(&self) -> anyhow::Result<String> {
        self.token
            .lock()
            .map(|t| t.clone())
            .map_err(|_| anyhow!("the admin session's lock is poisoned"))
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let token = self.token()?;
        match self
            .http
            .json(method.clone(), path, Some(&token), body)
            .await
        {
            Err(ApiError::Expired) => {
                let fresh = Self::fresh_token(&self.http, &self.user, &self.password)
                    .await
                    .context("logging in again as the admin after the access token expired")?;
                if let Ok(mut t) = self.token.lock() {
                    t.clone_from(&fresh);
                }
                Ok(self.http.json(method, path, Some(&fresh), body).await?)
            }
            other => Ok(other?),
        }
    }
}
