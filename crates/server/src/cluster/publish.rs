//! The node's one queue towards JetStream: frames are sent in the order the rooms submit
//! them (each room submits under its lock, so in its own order) and JetStream's answers
//! are awaited behind, many in flight at once, each handed to its frame's callback.

use std::future::Future;
use std::pin::Pin;

use futures_util::stream::{FuturesOrdered, StreamExt};
use meetbridge_broker::{Broker, BrokerError, Outgoing, Published};
use tokio::sync::mpsc;

/// Called with JetStream's answer to a publish (the object's `seq` for the frame).
pub type PublishDone = Box<dyn FnOnce(Result<Published, BrokerError>) + Send>;

pub struct Job {
    pub object: String,
    pub out: Outgoing,
    pub done: PublishDone,
}

type Waiting = Pin<Box<dyn Future<Output = (PublishDone, Result<Published, BrokerError>)> + Send>>;

pub async fn run(broker: Broker, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let mut waiting: FuturesOrdered<Waiting> = FuturesOrdered::new();
    loop {
        tokio::select! {
            job = jobs.recv() => {
                let Some(job) = job else { break };
                match broker.send(&job.object, &job.out).await {
                    Ok(answer) => {
                        let done = job.done;
                        waiting.push_back(Box::pin(async move { (done, answer.await) }));
                    }
                    Err(e) => (job.done)(Err(e)),
                }
            }
            Some((done, result)) = waiting.next(), if !waiting.is_empty() => done(result),
        }
    }
    while let Some((done, result)) = waiting.next().await {
        done(result);
    }
}
