//! Chat service API tests: the real auth server and chat service on free ports, a fresh chat
//! database (SQLite and PostgreSQL), and the fake provider — a real HTTP server speaking
//! OpenAI's streaming protocol — in place of the model.

mod helpers;
mod limits;
mod mcp_server;
mod metrics;

mod chaos;
mod connections;
mod egress;
mod generations;
mod identity;
mod models;
mod oauth;
mod pages;
mod replies;
mod rest;
mod search;
mod settings;
mod sockets;
mod tool_approval;
mod tool_servers;
mod tools;
mod upstream;
mod ws;
