use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

/// The body of every error response.
///
/// Seed clients read `detail`; OAuth clients read `error` / `error_description` (RFC 6749 §5.2).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct ErrorBody {
    /// A sentence for people.
    pub detail: String,
    /// RFC 6749 / RFC 6750 error code, on token-endpoint and bearer errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// Which fields were invalid and why, on validation errors (422).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One invalid field of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}
