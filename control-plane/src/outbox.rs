//! A dashboard socket's queue of outgoing messages, bounded in bytes and messages (threats.md 35).
//!
//! The hub pushes into it without waiting (it holds its lock meanwhile, so it must never wait
//! on a socket); the socket's task pops batches and writes them. A dashboard that stops reading
//! cannot make the control plane buffer without limit: once its queue holds more than its
//! bytes or messages, the queue is emptied at once and marked *behind*, further pushes are
//! dropped, and the socket's task closes it with [`BEHIND_CODE`]; the page reconnects and
//! reloads what it missed from the store. Messages are shared ([`Text`]): one job event
//! watched by several dashboards is one allocation, whatever their queues hold, and the last
//! socket to send it takes the text itself (no copy for a job watched by one dashboard).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::time::Instant;

/// The WebSocket close code of a socket closed for falling behind (4000–4999 are the
/// application's own), and its reason; docs/api.md and the dashboard know both.
pub const BEHIND_CODE: u16 = 4001;
pub const BEHIND_REASON: &str = "too far behind the live events; reconnect and reload";

/// A message's text, shared by every queue it is in.
pub type Text = Arc<String>;

/// The text to send: the shared one itself when this queue holds its last reference.
pub fn take(text: Text) -> String {
    Arc::try_unwrap(text).unwrap_or_else(|shared| (*shared).clone())
}

/// At most this many messages wait for one socket, whatever their size (each costs its entry).
pub const MAX_MESSAGES: usize = 65_536;

/// Why the queue stopped taking messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// It overflowed: the socket is too far behind.
    Behind,
    /// The socket's task is gone.
    Gone,
}

#[derive(Debug, Default)]
struct Inner {
    queue: VecDeque<(Text, Instant)>,
    bytes: usize,
    closed: Option<Closed>,
}

#[derive(Debug)]
struct Shared {
    inner: Mutex<Inner>,
    ready: Notify,
    /// Woken when the queue overflows, for a writer blocked on its socket meanwhile.
    overflow: Notify,
    max_bytes: usize,
    max_messages: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The hub's end: pushes never wait.
#[derive(Debug, Clone)]
pub struct Sender(Arc<Shared>);

/// The socket task's end. Dropping it makes every later push fail.
#[derive(Debug)]
pub struct Receiver(Arc<Shared>);

/// A queue holding at most `max_bytes` of text and `max_messages` messages.
pub fn channel(max_bytes: usize, max_messages: usize) -> (Sender, Receiver) {
    let shared = Arc::new(Shared {
        inner: Mutex::new(Inner::default()),
        ready: Notify::new(),
        overflow: Notify::new(),
        max_bytes: max_bytes.max(1),
        max_messages: max_messages.max(1),
    });
    (Sender(Arc::clone(&shared)), Receiver(shared))
}

impl Sender {
    /// Queues `text`; false if the queue is closed, or overflowed now (then it is emptied and
    /// closed as [`Closed::Behind`]).
    pub fn send(&self, text: Text) -> bool {
        let mut inner = self.0.lock();
        if inner.closed.is_some() {
            return false;
        }
        if inner.bytes + text.len() > self.0.max_bytes || inner.queue.len() >= self.0.max_messages {
            inner.queue = VecDeque::new();
            inner.bytes = 0;
            inner.closed = Some(Closed::Behind);
            drop(inner);
            self.0.ready.notify_one();
            self.0.overflow.notify_waiters();
            return false;
        }
        inner.bytes += text.len();
        inner.queue.push_back((text, Instant::now()));
        drop(inner);
        self.0.ready.notify_one();
        true
    }

    pub fn is_closed(&self) -> bool {
        self.0.lock().closed.is_some()
    }

    /// Messages and bytes waiting now.
    pub fn queued(&self) -> (usize, usize) {
        let inner = self.0.lock();
        (inner.queue.len(), inner.bytes)
    }
}

/// Messages popped together, oldest first, with when the oldest was queued.
#[derive(Debug)]
pub struct Batch {
    pub messages: Vec<Text>,
    pub oldest: Instant,
}

impl Receiver {
    /// The next messages (up to `max_messages`, and past `max_bytes` only by the first one),
    /// waiting until there is one; `Err` once the queue overflowed.
    pub async fn next_batch(
        &mut self,
        max_messages: usize,
        max_bytes: usize,
    ) -> Result<Batch, Closed> {
        loop {
            let ready = self.0.ready.notified();
            {
                let mut inner = self.0.lock();
                if let Some(closed) = inner.closed {
                    return Err(closed);
                }
                if let Some(&(_, oldest)) = inner.queue.front() {
                    let mut messages = Vec::new();
                    let mut bytes = 0;
                    while let Some((text, _)) = inner.queue.front() {
                        if !messages.is_empty()
                            && (messages.len() >= max_messages || bytes + text.len() > max_bytes)
                        {
                            break;
                        }
                        bytes += text.len();
                        if let Some((text, _)) = inner.queue.pop_front() {
                            messages.push(text);
                        }
                    }
                    inner.bytes -= bytes;
                    return Ok(Batch { messages, oldest });
                }
            }
            ready.await;
        }
    }

    /// Resolves once the queue has overflowed: a writer stuck on a socket that takes nothing
    /// waits for this beside its write, or it would notice only when the write completes.
    pub async fn overflowed(&self) {
        loop {
            let notified = self.0.overflow.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.0.lock().closed == Some(Closed::Behind) {
                return;
            }
            notified.await;
        }
    }

    /// Bytes waiting now.
    #[cfg(test)]
    pub fn queued_bytes(&self) -> usize {
        self.0.lock().bytes
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let mut inner = self.0.lock();
        inner.queue = VecDeque::new();
        inner.bytes = 0;
        inner.closed.get_or_insert(Closed::Gone);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Text {
        Arc::new(s.to_owned())
    }

    #[tokio::test]
    async fn messages_come_out_in_order_in_batches() {
        let (tx, mut rx) = channel(1024, 100);
        for i in 0..5 {
            assert!(tx.send(text(&format!("m{i}"))));
        }
        let batch = rx.next_batch(3, 1024).await.expect("a batch");
        assert_eq!(batch.messages.len(), 3);
        assert_eq!(batch.messages[0].as_str(), "m0");
        let batch = rx.next_batch(3, 1024).await.expect("a batch");
        assert_eq!(
            batch
                .messages
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>(),
            ["m3", "m4"]
        );
        assert_eq!(rx.queued_bytes(), 0);
    }

    #[tokio::test]
    async fn a_queue_past_its_bytes_is_emptied_and_says_it_is_behind() {
        let (tx, mut rx) = channel(10, 100);
        assert!(tx.send(text("12345")));
        assert!(tx.send(text("12345")));
        assert!(!tx.send(text("1")), "the 11th byte overflows");
        assert!(tx.is_closed());
        assert_eq!(rx.queued_bytes(), 0, "memory given back at once");
        assert!(!tx.send(text("1")), "nothing more is taken");
        assert_eq!(rx.next_batch(10, 100).await.err(), Some(Closed::Behind));
    }

    #[tokio::test]
    async fn a_queue_past_its_message_count_is_behind() {
        let (tx, mut rx) = channel(1 << 20, 3);
        for _ in 0..3 {
            assert!(tx.send(text("")));
        }
        assert!(!tx.send(text("")));
        assert_eq!(rx.next_batch(10, 100).await.err(), Some(Closed::Behind));
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_by_a_message_and_by_an_overflow() {
        let (tx, mut rx) = channel(4, 10);
        let tx2 = tx.clone();
        let waiter = tokio::spawn(async move {
            let first = rx.next_batch(10, 100).await.map(|b| b.messages.len());
            let second = rx.next_batch(10, 100).await.map(|b| b.messages.len());
            (first, second)
        });
        tokio::task::yield_now().await;
        assert!(tx.send(text("ab")));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(tx2.send(text("abc")));
        assert!(!tx2.send(text("abc")), "overflow");
        let (first, second) = waiter.await.expect("joined");
        assert_eq!(first, Ok(1));
        assert!(
            second == Ok(1) || second == Err(Closed::Behind),
            "{second:?}"
        );
    }

    #[tokio::test]
    async fn a_writer_blocked_elsewhere_hears_of_the_overflow() {
        let (tx, rx) = channel(4, 10);
        let waiter = tokio::spawn(async move { rx.overflowed().await });
        tokio::task::yield_now().await;
        assert!(tx.send(text("abcd")));
        assert!(!tx.send(text("e")));
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken by the overflow")
            .expect("joined");
    }

    #[test]
    fn the_last_holder_takes_the_text_without_a_copy() {
        let text = Arc::new("shared".to_owned());
        let pointer = text.as_ptr();
        let other = Arc::clone(&text);
        assert_eq!(take(other), "shared", "a copy while another queue holds it");
        let last = take(text);
        assert_eq!(last.as_ptr(), pointer, "the original once it is the last");
    }

    #[test]
    fn pushes_fail_once_the_socket_task_is_gone() {
        let (tx, rx) = channel(100, 100);
        drop(rx);
        assert!(!tx.send(text("x")));
        assert!(tx.is_closed());
    }
}
