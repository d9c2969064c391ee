//! Knowing when an async `main` is under way.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::entry::Started;

/// Wraps `main`'s future and calls `started` the first time it waits
/// (returns `Pending`). A `main` that fails or exits before waiting on
/// anything never counts as started, so a reload to it fails cleanly.
pub(crate) struct OnFirstPending<F> {
    inner: Pin<Box<F>>,
    started: Option<Started>,
}

impl<F> OnFirstPending<F> {
    pub fn new(inner: F, started: Started) -> Self {
        OnFirstPending {
            inner: Box::pin(inner),
            started: Some(started),
        }
    }
}

impl<F: Future> Future for OnFirstPending<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let poll = self.inner.as_mut().poll(cx);
        if poll.is_pending()
            && let Some(started) = self.started.take()
        {
            started();
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn flag() -> (Arc<AtomicBool>, Started) {
        let seen = Arc::new(AtomicBool::new(false));
        let set = seen.clone();
        (seen, Box::new(move || set.store(true, Ordering::SeqCst)))
    }

    #[tokio::test]
    async fn a_main_that_waits_is_started() {
        let (seen, started) = flag();
        OnFirstPending::new(tokio::task::yield_now(), started).await;
        assert!(seen.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_main_that_returns_at_once_is_not() {
        let (seen, started) = flag();
        OnFirstPending::new(async { 1 }, started).await;
        assert!(!seen.load(Ordering::SeqCst));
    }
}
