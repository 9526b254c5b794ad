//! Whether this node's dependencies answer: NATS (the client's connection state) and the
//! store (a round trip every few seconds), for `/healthz` and `/metrics`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::Cluster;
use crate::hub::Hub;

pub struct Health {
    store_ok: AtomicBool,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            store_ok: AtomicBool::new(true),
        }
    }
}

impl Health {
    /// Whether the store answered its last check.
    pub fn store_ok(&self) -> bool {
        self.store_ok.load(Ordering::Relaxed)
    }
}

impl Cluster {
    /// `None` when NATS is connected; else what is wrong, for `/healthz`.
    pub fn broker_problem(&self) -> Option<String> {
        (!self.broker.connected()).then(|| {
            format!(
                "NATS at {} is not connected (relayed messages and saves are refused until it is back)",
                self.broker.url()
            )
        })
    }

    /// The cluster's lines of `/metrics`.
    pub fn render_metrics(&self) -> String {
        let nats = u8::from(self.broker.connected());
        let store = u8::from(self.health.store_ok());
        format!(
            "# HELP meetbridge_dependency_up Whether a dependency of this node answers (1) or not (0).\n\
             # TYPE meetbridge_dependency_up gauge\n\
             meetbridge_dependency_up{{dependency=\"nats\"}} {nats}\n\
             meetbridge_dependency_up{{dependency=\"store\"}} {store}\n\
             # HELP meetbridge_degraded Whether this node cannot do everything durably now (1).\n\
             # TYPE meetbridge_degraded gauge\n\
             meetbridge_degraded {}\n",
            u8::from(nats == 0 || store == 0)
        )
    }
}

/// Checks the store every 2 s (off the async threads) while the node runs.
pub fn run(cluster: Arc<Cluster>, hub: Arc<Hub>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let store = hub.store.clone();
            let check = tokio::task::spawn_blocking(move || store.check());
            let ok = matches!(
                tokio::time::timeout(Duration::from_secs(3), check).await,
                Ok(Ok(Ok(())))
            );
            if ok != cluster.health.store_ok() {
                if ok {
                    tracing::info!("the store answers again");
                } else {
                    tracing::warn!(store = hub.store.kind(), "the store does not answer");
                }
            }
            cluster.health.store_ok.store(ok, Ordering::Relaxed);
        }
    });
}
