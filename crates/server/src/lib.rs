//! # meetbridge: the platform server
//!
//! The platform side of the oVice custom-plugin contract (seed 003): spaces hold objects,
//! users' presence on objects, relay of plugin messages between the members of an object,
//! saved data, and a bounded message history for recovery after a dropped connection.
//! The WebSocket frames are those of `meetbridge_protocol::bridge`.
//!
//! One file per concern: [`config`], [`token`], [`store`], [`hub`] (object registry),
//! [`room`] (presence), [`relay`], [`history`], [`dedup`] (idempotent sends), [`outbox`] and [`connection`] (one
//! socket), [`ws`] (the endpoint), [`api`] (admin, participant and dev-login HTTP API),
//! [`web`] (static files), [`metrics`], [`demo`], [`cli`], [`bench`], [`server`].

pub mod api;
pub mod bench;
pub mod cli;
pub mod config;
pub mod connection;
pub mod dedup;
pub mod demo;
pub mod history;
pub mod http_client;
pub mod hub;
pub mod metrics;
pub mod outbox;
pub mod relay;
pub mod room;
pub mod server;
pub mod store;
pub mod token;
pub mod web;
pub mod ws;

pub use server::{start, Server};
