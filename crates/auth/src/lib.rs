//! The Open ChatBot auth server: an OAuth 2.0 authorization server for users, roles and
//! tokens. `build(config)` binds the listener; `App::run_until_stopped` serves until the
//! shutdown future resolves.

pub mod accounts;
pub mod admin;
mod app;
pub mod credentials;
pub mod domain;
pub mod http;
pub mod keys;
pub mod limits;
pub mod oauth;
pub mod passwords;
pub mod principal;
pub mod state;
pub mod store;
pub mod tokens;

pub use app::{App, BuildError, build};
