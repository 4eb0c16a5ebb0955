//! A bounded queue between threads that allocates as it fills (the notices waiting for the
//! alerts' sender; observations wait in the [`super::inbox`], which cannot overflow). std's
//! `sync_channel` allocates its whole bound when it is made: the alerts' two queues of 65,536
//! held 23 MB resident in an idle control plane (BENCHMARKS.md, issue 19). This is std's unbounded channel, which grows
//! block by block, with a count that refuses what would pass the bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, TrySendError};

/// Makes a queue holding at most `bound` items.
pub(super) fn bounded<T>(bound: usize) -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = mpsc::channel();
    let len = Arc::new(AtomicUsize::new(0));
    (
        Sender {
            tx,
            len: Arc::clone(&len),
            bound,
        },
        Receiver { rx, len },
    )
}

#[derive(Debug)]
pub(super) struct Sender<T> {
    tx: mpsc::Sender<T>,
    len: Arc<AtomicUsize>,
    bound: usize,
}

impl<T> Sender<T> {
    /// Queues `item`, or gives it back when the queue is full or its receiver is gone.
    pub(super) fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        if self.len.fetch_add(1, Ordering::AcqRel) >= self.bound {
            self.len.fetch_sub(1, Ordering::AcqRel);
            return Err(TrySendError::Full(item));
        }
        self.tx.send(item).map_err(|e| {
            self.len.fetch_sub(1, Ordering::AcqRel);
            TrySendError::Disconnected(e.0)
        })
    }
}

#[derive(Debug)]
pub(super) struct Receiver<T> {
    rx: mpsc::Receiver<T>,
    len: Arc<AtomicUsize>,
}

impl<T> Receiver<T> {
    fn took(&self, item: T) -> T {
        self.len.fetch_sub(1, Ordering::AcqRel);
        item
    }

    pub(super) fn recv(&self) -> Result<T, mpsc::RecvError> {
        self.rx.recv().map(|item| self.took(item))
    }

    #[cfg(test)]
    pub(super) fn recv_timeout(
        &self,
        wait: std::time::Duration,
    ) -> Result<T, mpsc::RecvTimeoutError> {
        self.rx.recv_timeout(wait).map(|item| self.took(item))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::RecvTimeoutError;
    use std::time::Duration;

    use super::*;

    #[test]
    fn it_refuses_past_its_bound_and_takes_again_once_one_is_received() {
        let (tx, rx) = bounded(2);
        assert!(tx.try_send(1).is_ok());
        assert!(tx.try_send(2).is_ok());
        assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
        assert_eq!(rx.recv().ok(), Some(1));
        assert!(tx.try_send(4).is_ok());
        assert_eq!(rx.recv_timeout(Duration::from_millis(10)).ok(), Some(2));
        assert_eq!(rx.recv().ok(), Some(4));
        assert!(matches!(
            rx.recv_timeout(Duration::from_millis(10)),
            Err(RecvTimeoutError::Timeout)
        ));
        drop(rx);
        assert!(matches!(tx.try_send(5), Err(TrySendError::Disconnected(5))));
    }
}
