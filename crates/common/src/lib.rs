//! What every Open ChatBot service shares: configuration, telemetry, shutdown, ids, the HTTP
//! error shape, and the access-token contract (claims and verification).

pub mod clock;
pub mod config;
pub mod http;
pub mod ids;
pub mod shutdown;
pub mod telemetry;
pub mod token;
