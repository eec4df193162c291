//! The HTTP error shape shared by every service, and extractors whose rejections use it.

pub mod docs;
mod error;
mod extract;
pub mod openapi;
pub mod trace;

pub use error::{ApiError, ApiResult};
pub use extract::{Form, Json, Query};
