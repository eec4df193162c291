//! Tools for the model: MCP servers reached over HTTP, under an egress policy.

pub mod egress;
