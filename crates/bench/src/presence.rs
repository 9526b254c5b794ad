//! Presence at scale: (d) a storm of joins into one object, (e) the memory of joined idle
//! connections after their announcements, (f) very many idle authenticated connections.
//!
//! Members are driven over raw TCP once their handshake is done: a cheap load generator
//! leaves more of the shared cores to the server, and a member only needs to count and
//! check the participant events it receives, not to parse them.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::{Buf, BytesMut};
use futures_util::StreamExt;
use memchr::memmem;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::{admin, fmt_num, ms, percentile, rss_bytes, token, CpuMeter, Target};

/// A client frame (masked, as clients must) carrying one text message.
pub fn client_text_frame(text: &str) -> Vec<u8> {
    let payload = text.as_bytes();
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(0x81);
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= 0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let key = [0x5a, 0x1e, 0x77, 0x03];
    frame.extend_from_slice(&key);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    frame
}

/// Reads server frames (unmasked) off a raw socket and hands each text frame's payload
/// to `on_text` until the socket closes, a close frame comes, or `on_text` says stop.
pub async fn read_frames<R: AsyncReadExt + Unpin>(
    mut read: R,
    mut buf: BytesMut,
    mut on_text: impl FnMut(&[u8]) -> bool,
) {
    loop {
        while buf.len() >= 2 {
            let opcode = buf[0] & 0x0f;
            let (len, off) = match buf[1] & 0x7f {
                126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
                127 if buf.len() >= 10 => {
                    let mut n = [0u8; 8];
                    n.copy_from_slice(&buf[2..10]);
                    (u64::from_be_bytes(n) as usize, 10)
                }
                126 | 127 => break,
                n => (n as usize, 2),
            };
            if buf.len() < off + len {
                break;
            }
            if opcode == 8 {
                return;
            }
            if opcode == 1 && !on_text(&buf[off..off + len]) {
                return;
            }
            buf.advance(off + len);
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(16 * 1024);
        }
        match read.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        // A quiet member keeps a small buffer.
        if buf.is_empty() && buf.capacity() > 64 * 1024 {
            buf = BytesMut::with_capacity(16 * 1024);
        }
    }
}

/// Opens a WebSocket from `source` (any free port), reads the welcome, and returns the
/// bare TCP stream.
pub async fn connect_raw(
    addr: SocketAddr,
    source: Option<Ipv4Addr>,
    token: &str,
) -> anyhow::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(ip) = source {
        // Ports of connections closed by an earlier run may still be in TIME_WAIT.
        socket.set_reuseaddr(true)?;
        socket
            .bind(SocketAddr::from((ip, 0)))
            .with_context(|| format!("binding a client socket to {ip}"))?;
    }
    let tcp = socket.connect(addr).await?;
    tcp.set_nodelay(true)?;
    let mut config = WebSocketConfig::default();
    config.read_buffer_size = 4096;
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(
        format!("ws://{addr}/ws?token={token}"),
        tcp,
        Some(config),
    )
    .await?;
    ws.next().await.context("no welcome")??;
    Ok(ws.into_inner())
}

/// The object's frames as the server writes them, up to the event type.
fn event_prefix(object: &str) -> String {
    format!(
        "{{\"op\":\"plugin\",\"object\":{},\"message\":{{\"type\":\"ovice_participant_",
        json!(object)
    )
}

/// What the members of a storm saw, summed.
#[derive(Default)]
struct Seen {
    joined: AtomicU64,
    subscribed: AtomicU64,
    other: AtomicU64,
    /// Joined events whose `isSelf: true` named the receiver itself.
    self_joined: AtomicU64,
    /// Events with a wrong or missing `isSelf`.
    wrong_self: AtomicU64,
    /// Nanoseconds after the start when the last joined event arrived.
    last_joined_ns: AtomicU64,
}

/// Counts one member's participant events until its socket closes.
async fn storm_member(
    read: tokio::net::tcp::OwnedReadHalf,
    me: String,
    prefix: Arc<String>,
    seen: Arc<Seen>,
    base: Instant,
) {
    let is_self = memmem::Finder::new(b"\"isSelf\":true");
    let not_self = memmem::Finder::new(b"\"isSelf\":false");
    let own_id = format!("\"id\":{},", json!(me));
    let own_id = memmem::Finder::new(own_id.as_bytes());
    read_frames(read, BytesMut::with_capacity(16 * 1024), |text| {
        let Some(rest) = text.strip_prefix(prefix.as_bytes()) else {
            return true;
        };
        let joined = rest.starts_with(b"joined\"");
        if joined {
            seen.joined.fetch_add(1, Relaxed);
            seen.last_joined_ns
                .fetch_max(base.elapsed().as_nanos() as u64, Relaxed);
        } else if rest.starts_with(b"subscribed\"") {
            seen.subscribed.fetch_add(1, Relaxed);
        } else {
            seen.other.fetch_add(1, Relaxed);
        }
        match (is_self.find(rest), not_self.find(rest)) {
            (Some(_), None) if own_id.find(rest).is_some() => {
                if joined {
                    seen.self_joined.fetch_add(1, Relaxed);
                }
            }
            (None, Some(_)) if own_id.find(rest).is_none() => {}
            _ => {
                seen.wrong_self.fetch_add(1, Relaxed);
            }
        }
        true
    })
    .await;
}

/// One row of the bench's table: (measure, result, aim).
pub type Row = (String, String, String);

/// Opens `n` connections with tokens for `user(i)`, `parallel` at a time, spreading them
/// over `sources` (none: the kernel's choice).
async fn open_many(
    target: &Target,
    n: usize,
    parallel: usize,
    sources: &[Ipv4Addr],
    user: impl Fn(usize) -> String,
) -> anyhow::Result<Vec<TcpStream>> {
    let mut tokens = Vec::with_capacity(n);
    let mut last: Option<(String, String)> = None;
    for i in 0..n {
        let id = user(i);
        // Many connections of one user share its token.
        if let Some((last_id, token)) = &last {
            if *last_id == id {
                tokens.push(token.clone());
                continue;
            }
        }
        let token = token(target, &id).await?;
        last = Some((id, token.clone()));
        tokens.push(token);
    }
    let tokens = Arc::new(tokens);
    let next = Arc::new(AtomicU64::new(0));
    let sources: Arc<Vec<Ipv4Addr>> = Arc::new(sources.to_vec());
    let mut tasks = Vec::new();
    for _ in 0..parallel.max(1) {
        let (tokens, next, sources) = (tokens.clone(), next.clone(), sources.clone());
        let addr = target.addr;
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Relaxed) as usize;
                if i >= tokens.len() {
                    break;
                }
                let source = (!sources.is_empty()).then(|| sources[i % sources.len()]);
                let tcp = connect_raw(addr, source, &tokens[i])
                    .await
                    .with_context(|| format!("connection {i}"))?;
                mine.push((i, tcp));
            }
            anyhow::Ok(mine)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, tcp)| tcp).collect())
}

/// (d): `n` members join one object at once. Returns the table rows.
pub async fn storm(target: &Target, n: usize, settle: Duration) -> anyhow::Result<Vec<Row>> {
    let object = "bench-presence";
    admin(
        target,
        "/api/admin/spaces/bench/objects",
        json!({"id": object, "type": "static", "pluginUrl": "/plugins/bench/"}),
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = target.pid.and_then(rss_bytes);
    let opened = Instant::now();
    let conns = open_many(target, n, 32, &[], |i| format!("p{i}")).await?;
    eprintln!(
        "bench: presence storm: {n} members connected in {:.1} s",
        opened.elapsed().as_secs_f64()
    );
    let seen = Arc::new(Seen::default());
    let prefix = Arc::new(event_prefix(object));
    let base = Instant::now();
    let mut writers = Vec::with_capacity(n);
    let mut readers = Vec::with_capacity(n);
    for (i, tcp) in conns.into_iter().enumerate() {
        let (read, write) = tcp.into_split();
        readers.push(tokio::spawn(storm_member(
            read,
            format!("p{i}"),
            prefix.clone(),
            seen.clone(),
            base,
        )));
        writers.push(write);
    }
    let join = client_text_frame(
        &json!({"op": "presence", "req": 1, "object": object, "status": "joined"}).to_string(),
    );
    let expected = (n as u64) * (n as u64 + 1) / 2;
    let cpu = CpuMeter::start(target.pid);
    let start = base.elapsed();
    for w in &mut writers {
        w.write_all(&join).await?;
    }
    let sent = base.elapsed() - start;
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.joined.load(Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let cpu = cpu.report();
    let joined = seen.joined.load(Relaxed);
    if joined < expected {
        bail!("presence storm: {joined} of {expected} joined events arrived in 120 s");
    }
    let all_seen = Duration::from_nanos(seen.last_joined_ns.load(Relaxed)).saturating_sub(start);
    // Wait for the subscribed events too (they come before each joined one).
    while seen.subscribed.load(Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let events =
        seen.joined.load(Relaxed) + seen.subscribed.load(Relaxed) + seen.other.load(Relaxed);
    let wrong = seen.wrong_self.load(Relaxed);
    let selves = seen.self_joined.load(Relaxed);
    if wrong > 0 || selves != n as u64 {
        bail!(
            "presence storm: isSelf wrong on {wrong} events; {selves} of {n} members saw their own join as isSelf"
        );
    }
    eprintln!(
        "bench: presence storm: joins sent in {}, every join seen by every member after {} ({cpu})",
        ms(sent.as_nanos() as u64),
        ms(all_seen.as_nanos() as u64)
    );
    tokio::time::sleep(settle).await;
    let per_conn = match (rss_before, target.pid.and_then(rss_bytes)) {
        (Some(b), Some(a)) => format!(
            "{:.1} KiB per member {} s after (RSS +{:.1} MiB)",
            a.saturating_sub(b) as f64 / n as f64 / 1024.0,
            settle.as_secs(),
            a.saturating_sub(b) as f64 / 1048576.0
        ),
        _ => "RSS not known (--server-pid)".into(),
    };
    drop(writers);
    for r in readers {
        r.abort();
    }
    Ok(vec![
        (
            format!(
                "presence storm: {} members join one object, until every member saw every join",
                fmt_num(n as f64)
            ),
            format!(
                "{} ({} participant events, {}/s; {cpu})",
                ms(all_seen.as_nanos() as u64),
                fmt_num(events as f64),
                fmt_num(events as f64 / all_seen.as_secs_f64().max(1e-9)),
            ),
            "< 2 s".into(),
        ),
        (
            "presence storm: server memory after it settled".into(),
            per_conn,
            "-".into(),
        ),
    ])
}

/// (e): `n` connections, `per_object` on each object, first authenticated only, then all
/// joined at once; memory per connection on a fresh server, measured `wait` after the
/// last join was seen.
pub async fn idle_joined(
    target: &Target,
    n: usize,
    per_object: usize,
    wait: Duration,
) -> anyhow::Result<Vec<Row>> {
    let pid = target
        .pid
        .context("memory needs the server's pid (--server-pid)")?;
    let per_object = per_object.max(1);
    let objects = n.div_ceil(per_object);
    for k in 0..objects {
        admin(
            target,
            "/api/admin/spaces/bench/objects",
            json!({"id": format!("bench-idle-{k}"), "type": "static", "pluginUrl": "/plugins/bench/"}),
        )
        .await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_bytes(pid).context("reading server RSS")?;
    let opened = Instant::now();
    let conns = open_many(target, n, 50, &[], |i| format!("i{i}")).await?;
    eprintln!(
        "bench: idle: {n} connections open in {:.1} s",
        opened.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let authenticated = rss_bytes(pid).context("reading server RSS")?;

    let seen = Arc::new(Seen::default());
    let base = Instant::now();
    let mut writers = Vec::with_capacity(n);
    let mut readers = Vec::with_capacity(n);
    for (i, tcp) in conns.into_iter().enumerate() {
        let (read, write) = tcp.into_split();
        let prefix = Arc::new(event_prefix(&format!("bench-idle-{}", i / per_object)));
        readers.push(tokio::spawn(storm_member(
            read,
            format!("i{i}"),
            prefix,
            seen.clone(),
            base,
        )));
        writers.push(write);
    }
    for (i, w) in writers.iter_mut().enumerate() {
        let join = client_text_frame(
            &json!({"op": "presence", "req": 1, "object": format!("bench-idle-{}", i / per_object), "status": "joined"})
                .to_string(),
        );
        w.write_all(&join).await?;
    }
    // Every object: k members, k(k+1)/2 joined events.
    let expected: u64 = (0..objects)
        .map(|k| {
            let m = per_object.min(n - k * per_object) as u64;
            m * (m + 1) / 2
        })
        .sum();
    let deadline = Instant::now() + Duration::from_secs(120);
    while (seen.joined.load(Relaxed) < expected || seen.subscribed.load(Relaxed) < expected)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if seen.joined.load(Relaxed) < expected {
        bail!("idle: not every join was announced within 120 s");
    }
    if seen.wrong_self.load(Relaxed) > 0 || seen.self_joined.load(Relaxed) != n as u64 {
        bail!("idle: isSelf wrong on some participant events");
    }
    eprintln!(
        "bench: idle: {n} joined on {objects} objects, every join seen after {:.1} s; waiting {} s",
        Duration::from_nanos(seen.last_joined_ns.load(Relaxed)).as_secs_f64(),
        wait.as_secs()
    );
    tokio::time::sleep(wait).await;
    let joined = rss_bytes(pid).context("reading server RSS")?;
    drop(writers);
    for r in readers {
        r.abort();
    }
    let kib = |rss: u64| rss.saturating_sub(before) as f64 / n as f64 / 1024.0;
    let mib = |rss: u64| rss.saturating_sub(before) as f64 / 1048576.0;
    Ok(vec![
        (
            format!(
                "server memory per idle connection, authenticated ({} connections)",
                fmt_num(n as f64)
            ),
            format!("{:.1} KiB (RSS +{:.1} MiB)", kib(authenticated), mib(authenticated)),
            "< 10.5 KiB".into(),
        ),
        (
            format!(
                "server memory per idle connection, joined ({per_object} per object, {} s after the last join)",
                wait.as_secs()
            ),
            format!("{:.1} KiB (RSS +{:.1} MiB)", kib(joined), mib(joined)),
            "<= 12 KiB".into(),
        ),
    ])
}

/// (f): `n` idle authenticated connections from `sources` client addresses; the server's
/// memory, and `/healthz` latency while they are open.
pub async fn many_idle(target: &Target, n: usize, sources: usize) -> anyhow::Result<Vec<Row>> {
    let sources: Vec<Ipv4Addr> = (0..sources.max(1))
        .map(|k| Ipv4Addr::new(127, 0, 0, 2 + k as u8))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = target.pid.and_then(rss_bytes);
    let opened = Instant::now();
    let conns = open_many(target, n, 64, &sources, |_| "many".into()).await?;
    eprintln!(
        "bench: {} idle connections from {} addresses open in {:.1} s",
        fmt_num(conns.len() as f64),
        sources.len(),
        opened.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = target.pid.and_then(rss_bytes);
    let mut latencies = Vec::new();
    for _ in 0..100 {
        let t0 = Instant::now();
        let response = target
            .http
            .get(format!("http://{}/healthz", target.addr))
            .send()
            .await?;
        let status = response.status();
        let body = response.text().await?;
        if !status.is_success() || body.trim() != "ok" {
            bail!("/healthz answered {status}: {body}");
        }
        latencies.push(t0.elapsed().as_nanos() as u64);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    latencies.sort_unstable();
    drop(conns);
    let memory = match (before, after) {
        (Some(b), Some(a)) => format!(
            "RSS {:.2} GiB, {:.1} KiB per connection",
            a as f64 / 1073741824.0,
            a.saturating_sub(b) as f64 / n as f64 / 1024.0
        ),
        _ => "RSS not known (--server-pid)".into(),
    };
    Ok(vec![
        (
            format!(
                "{} idle authenticated connections ({} client addresses): server memory",
                fmt_num(n as f64),
                sources.len()
            ),
            memory,
            "RSS < 1.2 GiB".into(),
        ),
        (
            format!(
                "/healthz with {} connections open (100 requests)",
                fmt_num(n as f64)
            ),
            format!(
                "p50 {}, p99 {}, max {}",
                ms(percentile(&latencies, 0.5)),
                ms(percentile(&latencies, 0.99)),
                ms(*latencies.last().unwrap_or(&0))
            ),
            "< 100 ms".into(),
        ),
    ])
}

/// Raises this process's open-file limit to at least `want`: the hard limit too when
/// allowed (root), else up to the hard limit. Returns the limit in force. A child server
/// started afterwards inherits it.
pub fn raise_nofile_limit_to(want: u64) -> u64 {
    use rlimit::Resource;
    let Ok((soft, hard)) = Resource::NOFILE.get() else {
        return 0;
    };
    if soft >= want {
        return soft;
    }
    if hard < want && Resource::NOFILE.set(want, want).is_ok() {
        return want;
    }
    let _ = Resource::NOFILE.set(hard, hard);
    Resource::NOFILE.get().map_or(soft, |(s, _)| s)
}
