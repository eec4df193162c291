//! API tests: the real auth server on a free port with a fresh database, once on SQLite and
//! once on PostgreSQL (127.0.0.1:5432, or `OPENCHAT_TEST_POSTGRES_URL`).

mod helpers;

mod attacks;
mod docs;
mod oauth;
mod passwords;
mod users;
