//! HTTP/2 connections told to go away at their own close time while
//! draining ([`serve_service`](super::serve_service)), as HTTP/1 ones
//! are told `Connection: close`: their clients move to the new child a
//! few at a time, not all at lameduck, and the old child's grace ends
//! early once they have. A graceful GOAWAY refuses no stream a client
//! has sent, so, unlike the close of an idle HTTP/1 connection, it
//! needs no response to ride on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use http::{Request, Version};
use tower_service::Service;

use crate::Context;

/// A connection's service, noting whether a request came over HTTP/2:
/// hyper-util's auto builder tells no one which protocol it found.
#[derive(Debug, Clone)]
pub(crate) struct NotesHttp2<S> {
    inner: S,
    spoke: Arc<AtomicBool>,
}

impl<S> NotesHttp2<S> {
    /// `inner`, setting `spoke` at the connection's first HTTP/2 request.
    pub fn new(inner: S, spoke: Arc<AtomicBool>) -> Self {
        NotesHttp2 { inner, spoke }
    }
}

impl<S, B> Service<Request<B>> for NotesHttp2<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> S::Future {
        if request.version() == Version::HTTP_2 {
            self.spoke.store(true, Ordering::Relaxed);
        }
        self.inner.call(request)
    }
}

/// Completes once draining has lasted `close_time`, if the connection
/// spoke HTTP/2 by then; never for one that did not (HTTP/1 closes on a
/// response instead, and an idle one at lameduck).
pub(crate) async fn http2_due(ctx: Context, close_time: Duration, spoke: Arc<AtomicBool>) {
    ctx.draining().await;
    let lasted = ctx.draining_for().unwrap_or_default();
    tokio::time::sleep(close_time.saturating_sub(lasted)).await;
    if !spoke.load(Ordering::Relaxed) {
        std::future::pending::<()>().await;
    }
}
