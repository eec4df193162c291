//! What every Open ChatBot service shares: configuration, telemetry, shutdown, ids, the HTTP
//! error shape, and the access-token contract (claims and verification).

pub mod clock;
pub mod config;
pub mod db;
pub mod http;
pub mod ids;
pub mod jwks;
pub mod metrics;
pub mod revocations;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token;
