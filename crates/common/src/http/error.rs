use api_types::error::{ErrorBody, FieldError};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A crate-wide result for handlers, so they can use `?`.
pub type ApiResult<T> = Result<T, ApiError>;

/// An error answered to a client: a status, a `detail` sentence and, where a standard asks for
/// them, OAuth error fields and headers. Internal failures are logged here and answered with a
/// generic sentence: nothing internal reaches the client.
///
/// Boxed, so that `Result<T, ApiError>` stays as small as `T` on the happy path.
#[derive(Debug)]
pub struct ApiError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    status: StatusCode,
    body: ErrorBody,
    /// Value of `WWW-Authenticate` (RFC 6750 §3).
    www_authenticate: Option<String>,
    /// Seconds, for `Retry-After` on 429.
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            status,
            body: ErrorBody {
                detail: detail.into(),
                error: None,
                error_description: None,
                errors: Vec::new(),
            },
            www_authenticate: None,
            retry_after: None,
        }))
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The sentence for people.
    pub fn detail(&self) -> &str {
        &self.0.body.detail
    }

    /// The OAuth / bearer error code, if any.
    pub fn code(&self) -> Option<&str> {
        self.0.body.error.as_deref()
    }

    /// 409: the request is sound, but the current state does not allow it.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// 422 naming the invalid fields.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail =
            errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
        let mut error = Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail);
        error.0.body.errors = errors;
        error
    }

    /// 422 for one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError { field: field.into(), message: message.into() }])
    }

    /// 429 with `Retry-After`.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many attempts; try again in {retry_after_secs} seconds"),
        );
        error.0.retry_after = Some(retry_after_secs.max(1));
        error
    }

    /// 503 with `Retry-After`: the server is busy, not broken.
    pub fn service_busy(retry_after_secs: u64, detail: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::SERVICE_UNAVAILABLE, detail);
        error.0.retry_after = Some(retry_after_secs.max(1));
        error
    }

    /// 429 with `Retry-After` and a sentence of the caller's choosing.
    pub fn too_many_requests_with(retry_after_secs: u64, detail: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::TOO_MANY_REQUESTS, detail);
        error.0.retry_after = Some(retry_after_secs.max(1));
        error
    }

    /// A missing or unusable bearer token (RFC 6750 §3.1). Without a token at all, the
    /// challenge carries no error code, as the RFC asks.
    pub fn unauthorized(detail: impl Into<String>, token_was_present: bool) -> Self {
        let detail = detail.into();
        let mut error = Self::new(StatusCode::UNAUTHORIZED, detail.clone());
        if token_was_present {
            error.0.body.error = Some("invalid_token".into());
            error.0.body.error_description = Some(detail.clone());
            error.0.www_authenticate = Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                detail.replace(['"', '\\'], "")
            ));
        } else {
            error.0.www_authenticate = Some("Bearer".into());
        }
        error
    }

    /// An OAuth error (RFC 6749 §5.2) with its code and description; `detail` repeats it.
    pub fn oauth(status: StatusCode, code: &str, description: impl Into<String>) -> Self {
        let description = description.into();
        let mut error = Self::new(status, description.clone());
        error.0.body.error = Some(code.into());
        error.0.body.error_description = Some(description);
        error
    }

    /// Logs the cause and answers 500 with nothing internal in it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
    }

    /// The answer to a failed database call: 503 when the database is down or out of space
    /// (saying which, with `Retry-After`), else 500; the cause is logged, not shown.
    pub fn database(cause: &sqlx::Error) -> Self {
        match crate::db::classify(cause) {
            crate::db::Failure::Outage => Self::unavailable(cause),
            crate::db::Failure::Full => {
                tracing::error!(%cause, "the database is out of space");
                let mut error = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The server is out of storage space, so nothing was saved; try again later",
                );
                error.0.retry_after = Some(30);
                error
            }
            crate::db::Failure::Other => Self::internal(cause),
        }
    }

    /// 503 for a dependency that is down; the cause is logged, not shown.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "dependency unavailable");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "Service temporarily unavailable")
    }

    /// Replaces the sentence (for a 429 that is not about login attempts, say).
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.0.body.detail = detail.into();
        self
    }

    pub fn with_www_authenticate(mut self, value: impl Into<String>) -> Self {
        self.0.www_authenticate = Some(value.into());
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Inner { status, body, www_authenticate, retry_after } = *self.0;
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(value) = www_authenticate.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
