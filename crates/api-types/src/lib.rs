//! Wire types shared by the Open ChatBot services and their clients.
//!
//! Everything that crosses the network is defined here once, so the servers, the tests and the
//! generated TypeScript types for the web UI cannot drift apart.

pub mod auth;
pub mod chat;
pub mod error;
pub mod mcp;
pub mod rules;
pub mod search;
pub mod settings;
pub mod typescript;
