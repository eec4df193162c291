//! The Open ChatBot chat service: conversations and messages over REST, replies streamed as
//! durable generations over WebSockets, and the bridge to model providers.

mod app;
pub mod auth;
pub mod cluster;
pub mod convert;
pub mod generation;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod providers;
pub mod snippet;
pub mod state;
pub mod store;
pub mod tools;

pub use app::{App, BuildError, build};
