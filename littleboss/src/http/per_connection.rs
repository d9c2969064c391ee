//! The make-service [`serve`](super::serve) hands axum: the router, given
//! a close time of its own for each connection.
//!
//! A layer on the router cannot do it: axum clones the router for each
//! connection, and hyper clones that clone for each request, so nothing
//! told apart per connection can live in it. axum calls the make-service
//! once per accepted connection: that is where the close time is drawn,
//! and where the peer's address goes in, as `ConnectInfo`, as axum's
//! `into_make_service_with_connect_info` would put it.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context as TaskContext, Poll};

use axum::Extension;
use axum::extract::ConnectInfo;
use axum::middleware::AddExtension;
use axum::serve::{IncomingStream, Listener};
use tower_layer::Layer;
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

impl<L: Listener> Service<IncomingStream<'_, L>> for PerConnection
where
    L::Addr: Clone + Send + Sync + 'static,
{
    type Response = CloseWhenDraining<AddExtension<axum::Router, ConnectInfo<L::Addr>>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, connection: IncomingStream<'_, L>) -> Self::Future {
        let close_time = self.times.draw();
        let peer = ConnectInfo(connection.remote_addr().clone());
        let router = Extension(peer).layer(self.router.clone());
        ready(Ok(CloseWhenDraining::at(router, &self.ctx, close_time)))
    }
}
