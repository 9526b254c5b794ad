//! (g) A relayed message durable and acknowledged: one sender sends broadcasts into one
//! object on a fixed schedule (`--ack-rate`, 1,000/s by default) without waiting for the
//! acks, and the time from each send to its `ack` (which the server writes only once the
//! message is stored: committed to the store, or stored by JetStream in a cluster) gives
//! p50/p99. `--ack-members` members (spread over the nodes) receive them; the row says
//! whether every member got every acknowledged message.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    admin, call, connect, connect_with, fmt_num, head_of, ms, percentile, token, BenchConfig,
    CpuMeter, Target,
};

const OBJECT: &str = "bench-ack";

pub async fn ack(
    target: &Target,
    config: &BenchConfig,
) -> anyhow::Result<(String, String, String)> {
    admin(
        target,
        "/api/admin/spaces/bench/objects",
        json!({"id": OBJECT, "type": "static", "pluginUrl": "/plugins/bench/"}),
    )
    .await?;
    // The members: each counts the relayed messages it gets, until the "end" one.
    let mut members = Vec::new();
    for i in 0..config.ack_members {
        let token = token(target, &format!("ack-m{i}")).await?;
        let mut ws = connect_with(target.node_for(i + 1), &token, 64 * 1024).await?;
        call(
            &mut ws,
            json!({"op": "presence", "object": OBJECT, "status": "subscribed"}),
            1,
        )
        .await?;
        let count = Arc::new(AtomicU64::new(0));
        let counted = count.clone();
        members.push((
            count,
            tokio::spawn(async move {
                while let Some(Ok(Message::Text(t))) = ws.next().await {
                    let head = head_of(&t, 200);
                    if head.contains("\"ovice_message\"") {
                        if head.contains("\"event\":\"end\"") {
                            break;
                        }
                        counted.fetch_add(1, Relaxed);
                    }
                }
            }),
        ));
    }
    let token = token(target, "ack-sender").await?;
    let mut sender = connect(target.addr, &token).await?;
    call(
        &mut sender,
        json!({"op": "presence", "object": OBJECT, "status": "joined"}),
        1,
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (mut sink, mut stream) = sender.split();
    let rate = config.ack_rate.max(1.0);
    let total = (rate * config.seconds as f64).round() as usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let base = Instant::now();
    // Acks arrive on the read half: latency by `req` (the send time is k * interval).
    let reader = tokio::spawn(async move {
        let mut latencies = Vec::with_capacity(total);
        let mut refused = 0usize;
        while latencies.len() + refused < total {
            let Some(Ok(Message::Text(t))) = stream.next().await else {
                break;
            };
            let head = head_of(&t, 120);
            let Some(at) = head.find("\"req\":") else {
                continue;
            };
            let req: usize = head[at + 6..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect::<String>()
                .parse()
                .unwrap_or(0);
            if req < 100 {
                continue;
            }
            if head.contains("\"op\":\"ack\"") {
                let sent = base + interval * (req - 100) as u32;
                latencies.push(sent.elapsed().as_nanos() as u64);
            } else {
                refused += 1;
            }
        }
        (latencies, refused)
    });
    let cpu = CpuMeter::start(target.pids.clone());
    let start = tokio::time::Instant::from_std(base);
    for k in 0..total {
        tokio::time::sleep_until(start + interval * k as u32).await;
        let frame = format!(
            "{{\"op\":\"plugin\",\"object\":\"{OBJECT}\",\"req\":{},\"message\":{{\"type\":\"ovice_broadcast_message\",\"payload\":{{\"event\":\"a\",\"message\":{{\"k\":{k},\"text\":\"a chat message of ordinary length, about a hundred bytes in all\"}}}}}}}}",
            k + 100
        );
        sink.send(Message::text(frame)).await?;
    }
    let (mut latencies, refused) = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .context("acks did not all arrive within 30 s")??;
    let cpu = cpu.report();
    let acked = latencies.len();
    // Every member should have every acknowledged message.
    let deadline = Instant::now() + Duration::from_secs(10);
    while members
        .iter()
        .any(|(c, _)| (c.load(Relaxed) as usize) < acked)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let short = members
        .iter()
        .filter(|(c, _)| (c.load(Relaxed) as usize) < acked)
        .count();
    let end = format!(
        "{{\"op\":\"plugin\",\"object\":\"{OBJECT}\",\"message\":{{\"type\":\"ovice_broadcast_message\",\"payload\":{{\"event\":\"end\",\"message\":0}}}}}}"
    );
    sink.send(Message::text(end)).await?;
    for (_, task) in members {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    latencies.sort_unstable();
    eprintln!("bench: ack phase: {acked} acknowledged of {total}, {refused} refused ({cpu})");
    Ok((
        format!(
            "relayed message durable and acknowledged, ack p50 / p99 at {} msg/s into one object ({} members, {} node{})",
            fmt_num(rate),
            config.ack_members,
            target.addrs.len(),
            if target.addrs.len() > 1 { "s" } else { "" }
        ),
        format!(
            "{} / {} (max {}; {} of {} acked, {refused} refused, {}; {cpu})",
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.99)),
            ms(latencies.last().copied().unwrap_or(0)),
            fmt_num(acked as f64),
            fmt_num(total as f64),
            if short == 0 {
                "every member got every one".to_owned()
            } else {
                format!("{short} members short")
            }
        ),
        "p99 < 20 ms".into(),
    ))
}
