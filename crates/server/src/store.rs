//! Durable state, from the `meetbridge-store` crate: the [`Store`] trait, embedded SQLite
//! ([`sqlite::SqliteStore`]) and PostgreSQL ([`postgres::PgStore`]).

pub use meetbridge_store::*;
