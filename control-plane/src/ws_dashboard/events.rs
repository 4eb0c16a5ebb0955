//! Events out: what the hub queued for one page ([`crate::outbox`]), written to its socket in
//! batches, with a ping now and then. A page that reads too slowly is closed, not waited for.

use std::time::Duration;

use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use warp::ws::{Message as WsMessage, WebSocket};

use super::End;
use crate::outbox;

const PING_EVERY: Duration = Duration::from_secs(30);
/// Messages written to the socket before one flush: fewer system calls while a job streams.
const BATCH_MESSAGES: usize = 64;
const BATCH_BYTES: usize = 256 * 1024;

/// Sends what the hub queued, in batches, and a ping now and then. Ends when the queue
/// overflows, or when a batch is not out before its oldest message is `max_lag` old.
pub(super) async fn write_loop(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    rx: &mut outbox::Receiver,
    max_lag: Duration,
) -> End {
    let mut ping = tokio::time::interval(PING_EVERY);
    loop {
        let (messages, due) = tokio::select! {
            batch = rx.next_batch(BATCH_MESSAGES, BATCH_BYTES) => match batch {
                Ok(batch) => {
                    let due = batch.oldest + max_lag;
                    let messages: Vec<_> = batch.messages.into_iter().map(|m| WsMessage::text(outbox::take(m))).collect();
                    (messages, due)
                }
                Err(_) => return End::Behind,
            },
            _ = ping.tick() => (vec![WsMessage::ping(Vec::new())], tokio::time::Instant::now() + max_lag),
        };
        let send = tokio::time::timeout_at(due, async {
            for m in messages {
                sink.feed(m).await?;
            }
            sink.flush().await
        });
        // A socket that takes nothing blocks the write; the queue may overflow meanwhile.
        let sent = tokio::select! {
            sent = send => sent,
            _ = rx.overflowed() => return End::Behind,
        };
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return End::Gone,
            Err(_) => return End::Behind,
        }
    }
}
