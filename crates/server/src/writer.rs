//! Writes a connection's queued frames: for each, the WebSocket header (tungstenite's
//! [`FrameHeader`]) and the payload straight from its shared bytes, vectored, so a batch
//! of frames is one system call and nothing is copied into, or kept in, a per-connection
//! buffer. A connection that received a burst holds no more memory once it is written.
//!
//! tungstenite still reads the socket and writes what the protocol answers by itself
//! (pongs, the close handshake); those go out at once (its write buffer is off), and the
//! connection's task never writes while tungstenite does: both run in that one task.

use std::io::{self, IoSlice};

use axum::extract::ws::Utf8Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;

/// Frames per system call at most (two slices each; Linux takes 1024 slices at most).
pub const BATCH: usize = 256;

/// Writes `frames` as text frames, in order, and flushes.
pub async fn write_text_frames<W: AsyncWrite + Unpin>(
    io: &mut W,
    frames: &[Utf8Bytes],
) -> io::Result<()> {
    let header = FrameHeader {
        opcode: OpCode::Data(Data::Text),
        ..FrameHeader::default()
    };
    for chunk in frames.chunks(BATCH) {
        // At most 10 bytes of header per frame from the server (no mask).
        let mut heads = Vec::with_capacity(chunk.len() * 10);
        let mut ends = Vec::with_capacity(chunk.len());
        for frame in chunk {
            header
                .format(frame.as_str().len() as u64, &mut heads)
                .map_err(io::Error::other)?;
            ends.push(heads.len());
        }
        let mut slices = Vec::with_capacity(chunk.len() * 2);
        let mut start = 0;
        for (frame, end) in chunk.iter().zip(ends) {
            slices.push(IoSlice::new(&heads[start..end]));
            slices.push(IoSlice::new(frame.as_str().as_bytes()));
            start = end;
        }
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            let n = io.write_vectored(rest).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut rest, n);
        }
    }
    io.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::protocol::Role;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::WebSocketStream;

    #[tokio::test]
    async fn frames_of_every_length_class_read_back_in_order() {
        let (mut server, client) = tokio::io::duplex(1 << 20);
        let texts: Vec<String> = [0usize, 1, 125, 126, 65_535, 65_536, 300_000]
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let mut s = "x".repeat(n);
                if n > 0 {
                    s.replace_range(0..1, &i.to_string());
                }
                s
            })
            .collect();
        let frames: Vec<Utf8Bytes> = texts.iter().map(|t| t.clone().into()).collect();
        let writer = tokio::spawn(async move {
            // More than one batch.
            let many: Vec<Utf8Bytes> = (0..BATCH + 3).map(|i| i.to_string().into()).collect();
            write_text_frames(&mut server, &frames).await.unwrap();
            write_text_frames(&mut server, &many).await.unwrap();
            server
        });
        let mut ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        for want in &texts {
            let Some(Ok(Message::Text(got))) = ws.next().await else {
                panic!("no text frame");
            };
            assert_eq!(got.as_str(), want);
        }
        for i in 0..BATCH + 3 {
            let Some(Ok(Message::Text(got))) = ws.next().await else {
                panic!("no text frame");
            };
            assert_eq!(got.as_str(), i.to_string());
        }
        drop(writer.await.unwrap());
    }
}
