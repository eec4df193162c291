//! `Json` and `Form` extractors whose rejections are [`ApiError`]s: 413 for bodies over the
//! limit, 415 for a wrong content type, 422 for a body that does not fit the schema.

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ApiError;

/// JSON body in, JSON body out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(not_json());
        }
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => bytes,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(payload_too_large()),
            Err(e) => {
                return Err(ApiError::bad_request(format!("Cannot read the request body ({})", e.status())));
            }
        };
        // Every body of the API is an object; serde would also read a struct from an array
        // (its fields in order), which no document allows.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            return Err(ApiError::invalid_field("body", "must be a JSON object"));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// `Content-Type: application/json` or `application/…+json`, as axum's own `Json` accepts.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => not_json(),
        JsonRejection::JsonSyntaxError(_) => ApiError::bad_request("The body is not valid JSON"),
        JsonRejection::JsonDataError(e) => {
            // serde's message names the field and the problem, and nothing internal.
            ApiError::invalid_field(
                "body",
                e.body_text().replace("Failed to deserialize the JSON body into the target type: ", ""),
            )
        }
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            payload_too_large()
        }
        other => ApiError::bad_request(format!("Cannot read the request body ({})", other.status())),
    }
}

fn not_json() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Expected a JSON body with Content-Type: application/json",
    )
}

fn payload_too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large")
}

/// A form-encoded body (`application/x-www-form-urlencoded`), as OAuth token requests are.
/// Rejections are OAuth `invalid_request` errors.
#[derive(Debug, Clone, Copy, Default)]
pub struct Form<T>(pub T);

impl<S, T> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(Self(value)),
            Err(FormRejection::BytesRejection(e)) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(payload_too_large())
            }
            Err(FormRejection::InvalidFormContentType(_)) => Err(ApiError::oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Expected a form-encoded body (application/x-www-form-urlencoded)",
            )),
            Err(rejection) => Err(ApiError::oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("The form could not be read: {}", rejection.body_text()),
            )),
        }
    }
}

/// Query-string parameters; a malformed query is a 422 naming the problem.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::invalid_field(
                "query",
                rejection.body_text().replace("Failed to deserialize query string: ", ""),
            )),
        }
    }
}
