//! Integration tests over real WebSockets against the in-process server on 127.0.0.1:0.

mod access;
mod api;
mod burst_rss;
mod cluster;
mod cluster_faults;
mod cluster_nodes;
mod cluster_traffic;
mod common;
pub mod connection_limits;
mod crash;
mod data;
mod durable;
mod exact;
mod floor;
mod fuzz_replay;
mod history;
mod idempotent;
mod identity;
mod load_balancer;
mod memory;
mod observability;
mod presence;
mod recovery;
mod relay;
mod robustness;
mod static_files;
mod wire_limits;
