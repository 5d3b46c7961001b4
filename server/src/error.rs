//! One error type for every handler: `{"error": code, "message": text}` with the right status.
//! Unexpected failures log their cause chain and answer an opaque 500.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `unauthorized`, `not_found`.
    pub error: String,
    /// What went wrong, for people.
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    Status {
        status: u16,
        code: &'static str,
        message: String,
    },
    #[error("the service is not ready: {0}")]
    Unavailable(String),
    /// Too many failed logins for an account or a client address: 429 `too_many_attempts`
    /// with `Retry-After`, so a client knows when trying again is worth it.
    #[error("{message}")]
    TooManyAttempts {
        retry_after_secs: u64,
        message: String,
    },
    /// The server is at capacity for costly work (password hashing): 503 `busy` with
    /// `Retry-After`. Refusing at once keeps memory bounded where queueing would not.
    #[error("{message}")]
    Busy {
        retry_after_secs: u64,
        message: String,
    },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// A refused step on a work order whose request fields the handler already checked: what
    /// sync-core still calls invalid then depends on the work order's state (a reassignment
    /// without a reason, classifying what is not a complaint), so it is a 409 `wrong_state`.
    pub fn on_state(e: sync_core::workorder::WorkOrderError) -> Self {
        match e {
            sync_core::workorder::WorkOrderError::Invalid { .. } => ApiError::Status {
                status: 409,
                code: "wrong_state",
                message: e.to_string(),
            },
            other => other.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. } | ApiError::Status { code, .. } => code,
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::TooManyAttempts { .. } => "too_many_attempts",
            ApiError::Busy { .. } => "busy",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(anyhow::Error::new(e))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Status { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST)
            }
            ApiError::Unavailable(_) | ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                "something went wrong on the server; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = HttpResponse::build(self.status_code());
        if let ApiError::TooManyAttempts {
            retry_after_secs, ..
        }
        | ApiError::Busy {
            retry_after_secs, ..
        } = self
        {
            response.insert_header((
                actix_web::http::header::RETRY_AFTER,
                retry_after_secs.max(&1).to_string(),
            ));
        }
        response.json(ErrorBody {
            error: self.code().to_owned(),
            message,
        })
    }
}

/// Turns actix's own extractor failures (bad JSON, body too large, bad path) into our shape.
pub fn json_error_handler(
    err: actix_web::error::JsonPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as J;
    let api = match &err {
        J::OverflowKnownLength { .. } | J::Overflow { .. } => ApiError::Status {
            status: 413,
            code: "body_too_large",
            message: err.to_string(),
        },
        J::ContentType => ApiError::Status {
            status: 415,
            code: "unsupported_media_type",
            message: "send JSON with Content-Type: application/json".into(),
        },
        _ => ApiError::bad("malformed_json", err.to_string()),
    };
    api.into()
}

pub fn path_error_handler(
    err: actix_web::error::PathError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::bad("bad_path", err.to_string()).into()
}

pub fn query_error_handler(
    err: actix_web::error::QueryPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::bad("bad_query", err.to_string()).into()
}

/// Rewrites a client error that actix answered itself in plain text (a body over a route's
/// payload limit, a wrong method, …) into our JSON shape, so every 4xx has a JSON body.
pub fn json_client_errors<B>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>> {
    use actix_web::http::header::CONTENT_TYPE;
    use actix_web::middleware::ErrorHandlerResponse;
    let is_json = res
        .response()
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        // A resource with routes for other methods: the same JSON 405 and `Allow` as a path
        // that no resource took (`ops::methods`).
        let methods = crate::ops::methods::allowed(res.request().path()).unwrap_or_default();
        let (req, _) = res.into_parts();
        let body = crate::ops::methods::method_not_allowed(methods);
        return Ok(ErrorHandlerResponse::Response(
            actix_web::dev::ServiceResponse::new(req, body).map_into_right_body(),
        ));
    }
    let (code, message) = match status.as_u16() {
        413 => (
            "body_too_large",
            "the request body is larger than this endpoint accepts",
        ),
        404 => ("not_found", "no such endpoint"),
        415 => (
            "unsupported_media_type",
            "wrong Content-Type for this endpoint",
        ),
        _ => ("bad_request", "the request could not be read"),
    };
    let (req, _) = res.into_parts();
    let body = HttpResponse::build(status).json(ErrorBody {
        error: code.to_owned(),
        message: message.to_owned(),
    });
    Ok(ErrorHandlerResponse::Response(
        actix_web::dev::ServiceResponse::new(req, body).map_into_right_body(),
    ))
}

/// A refused work-order operation: the caller's fault (4xx), except a damaged document.
impl From<sync_core::workorder::WorkOrderError> for ApiError {
    fn from(e: sync_core::workorder::WorkOrderError) -> Self {
        use sync_core::workorder::WorkOrderError as E;
        match e {
            E::Automerge(_) | E::Shape(_) | E::Write(_) | E::NewerSchema { .. } => {
                ApiError::Internal(anyhow::anyhow!("work-order document: {e}"))
            }
            E::RoleNotAllowed { .. } => ApiError::Forbidden(e.to_string()),
            E::Invalid { .. } => ApiError::bad("invalid", e.to_string()),
            E::NotAssignee { .. } | E::WrongStatus { .. } | E::MissingStep { .. } => {
                ApiError::Status {
                    status: 409,
                    code: "wrong_state",
                    message: e.to_string(),
                }
            }
            E::UnknownPartLine(_)
            | E::PartLineRemoved(_)
            | E::UnknownPhoto(_)
            | E::UnknownConflict(_)
            | E::UnknownSignedHeads => ApiError::NotFound(e.to_string()),
        }
    }
}
