//! The make-service [`serve`](super::serve) hands axum: the router, given
//! a close time of its own for each connection.
//!
//! A layer on the router cannot do it: axum clones the router for each
//! connection, and hyper clones that clone for each request, so nothing
//! told apart per connection can live in it. axum calls the make-service
//! once per accepted connection: that is where the close time is drawn.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context as TaskContext, Poll};

use axum::serve::{IncomingStream, Listener};
use tower_service::Service;

use super::close::CloseWhenDraining;
use super::spread::CloseTimes;
use crate::Context;

/// Makes each connection's service: the router, closing at the
/// connection's own close time once draining has begun.
#[derive(Debug)]
pub(crate) struct PerConnection {
    router: axum::Router,
    ctx: Context,
    times: CloseTimes,
}

impl PerConnection {
    /// For `router`, its closes spread over half of `ctx`'s grace.
    pub fn new(ctx: &Context, router: axum::Router) -> Self {
        PerConnection {
            router,
            ctx: ctx.clone(),
            times: CloseTimes::new(ctx.grace()),
        }
    }
}

impl<L: Listener> Service<IncomingStream<'_, L>> for PerConnection {
    type Response = CloseWhenDraining<axum::Router>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _connection: IncomingStream<'_, L>) -> Self::Future {
        let close_time = self.times.draw();
        ready(Ok(CloseWhenDraining::at(
            self.router.clone(),
            &self.ctx,
            close_time,
        )))
    }
}
