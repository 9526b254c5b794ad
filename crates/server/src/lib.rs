//! # meetbridge-server: the platform server
//!
//! The platform side of the oVice custom-plugin contract: spaces hold objects, users'
//! presence on objects, relay of plugin messages between the members of an object, saved
//! data, and a bounded message history for recovery after a dropped connection. The
//! WebSocket frames are those of `meetbridge_protocol::bridge`.
//!
//! One file per concern, from the socket inwards (see `docs/ARCHITECTURE.md`):
//! [`socket`] (one WebSocket: the endpoint and the read/write loop, over the handshake of
//! [`upgrade`] and the vectored [`writer`]) hands frames to a [`session`] (one file per
//! frame kind), which acts on [`room`]s (an object's live state and the operations on
//! it) found in the [`hub`] (the object registry) and writes through an [`outbox`].
//! Durable state is in [`store`]; in cluster mode [`cluster`] links the node to the
//! others through NATS JetStream. [`auth`] reads who is calling; [`listener`] accepts
//! connections within caps and timeouts, [`api`] is the HTTP API, [`web`] the static
//! files, [`metrics`] the counters, [`trim`] hands memory back after bursts. [`state`] is
//! what handlers get, [`server`] assembles and runs it all; [`cli`] and [`config`] are the
//! command line, [`demo`] the demo space.

pub mod api;
pub mod auth;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod demo;
pub mod floor;
pub mod fuzzing;
pub mod hub;
pub mod listener;
pub mod memory;
pub mod metrics;
pub mod outbox;
pub mod rate;
pub mod refusal;
pub mod room;
pub mod server;
pub mod session;
pub mod socket;
pub mod state;
pub mod store;
pub mod trim;
pub mod upgrade;
pub mod web;
pub mod writer;

pub use server::{start, Server};
