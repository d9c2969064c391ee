//! `Connection: close` on HTTP/1 responses once draining has begun, at
//! once or (in the helpers) at each connection's close time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, ready};
use std::time::Duration;

use http::{HeaderValue, Request, Response, StatusCode, Version, header};
use tower_layer::Layer;
use tower_service::Service;

use super::spread::{Arrivals, should_close};
use crate::Context;

/// A tower layer that adds `Connection: close` to every HTTP/1 response
/// produced once this program is draining, so each keep-alive connection
/// ends after its current response and its client reconnects (to the new
/// child). HTTP/2 responses are left alone: HTTP/2 has GOAWAY instead; so
/// is a protocol switch (a `101`, a CONNECT's `2xx` tunnel), which the
/// program ends its own way. What the response's `Connection` header
/// named already stays (an `Upgrade` a `426` lists), but `keep-alive`.
///
/// [`serve`](fn@super::serve) and [`serve_service`](super::serve_service)
/// do better than this layer: they give each connection a close time of
/// its own, spread over the first half of the grace, so that keep-alive
/// clients do not all reconnect to the new child at the same instant (see
/// [the module](super)). A layer cannot: it never sees connections, only
/// requests, so this one closes every connection on its first response
/// once draining has begun. Add it yourself when serving another way.
/// axum's graceful shutdown then waits for every connection, a stream
/// open for ever among them: bound that wait by the drain budget, so that
/// `main` returns before the supervisor's kill (as the helpers do):
///
/// ```no_run
/// # async fn f(ctx: littleboss::Context) {
/// let app = axum::Router::new()
///     .route("/", axum::routing::get(|| async { "hi" }))
///     // Last: a layer wraps only the routes added before it.
///     .layer(littleboss::http::CloseWhenDrainingLayer::new(&ctx));
/// let listener = ctx.tcp("http").expect("http listener enabled");
/// let serving = axum::serve(listener, app).with_graceful_shutdown(ctx.lameduck());
/// let bound = async {
///     ctx.lameduck().await;
///     tokio::time::sleep(ctx.drain_budget()).await;
/// };
/// tokio::select! {
///     served = serving => served.unwrap(),
///     () = bound => {} // Connections still open are left.
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CloseWhenDrainingLayer {
    ctx: Context,
}

impl CloseWhenDrainingLayer {
    /// The layer for this program's lameduck.
    ///
    /// ```no_run
    /// # fn f(ctx: littleboss::Context) {
    /// let layer = littleboss::http::CloseWhenDrainingLayer::new(&ctx);
    /// # }
    /// ```
    pub fn new(ctx: &Context) -> Self {
        CloseWhenDrainingLayer { ctx: ctx.clone() }
    }
}

impl<S> Layer<S> for CloseWhenDrainingLayer {
    type Service = CloseWhenDraining<S>;

    fn layer(&self, inner: S) -> CloseWhenDraining<S> {
        CloseWhenDraining::at(inner, &self.ctx, Duration::ZERO)
    }
}

/// The service of [`CloseWhenDrainingLayer`].
///
/// ```no_run
/// # fn f(ctx: littleboss::Context) {
/// use tower_layer::Layer;
/// let svc = littleboss::http::CloseWhenDrainingLayer::new(&ctx)
///     .layer(axum::Router::<()>::new());
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CloseWhenDraining<S> {
    inner: S,
    ctx: Context,
    /// How long after draining began the connection closes: zero for the
    /// layer, drawn per connection by the helpers. A field, so that it
    /// survives the service's clone for each request.
    close_time: Duration,
    /// The connection's requests so far. None with a zero close time,
    /// which closes at once whatever the gaps: the layer's, whose service
    /// every connection shares.
    arrivals: Option<Arc<Arrivals>>,
}

impl<S> CloseWhenDraining<S> {
    /// `inner`, its responses saying `Connection: close` once draining has
    /// lasted `close_time`: for the service of one connection.
    pub(crate) fn at(inner: S, ctx: &Context, close_time: Duration) -> Self {
        CloseWhenDraining {
            inner,
            ctx: ctx.clone(),
            close_time,
            arrivals: (!close_time.is_zero()).then(Arc::default),
        }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CloseWhenDraining<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = CloseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let http1 = request.version() < Version::HTTP_2;
        let http10 = request.version() <= Version::HTTP_10;
        let connect = request.method() == http::Method::CONNECT;
        // HTTP/2's many streams have no gaps to go by, nor need them.
        let arrivals = self.arrivals.as_ref().filter(|_| http1);
        let gap = arrivals.and_then(|a| a.arrive(std::time::Instant::now()));
        CloseFuture {
            inner: self.inner.call(request),
            ctx: http1.then(|| self.ctx.clone()),
            close_time: self.close_time,
            gap,
            http10,
            connect,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`CloseWhenDraining`]: the inner service's,
    /// its response given `Connection: close` once due.
    ///
    /// ```no_run
    /// # async fn f(ctx: littleboss::Context) {
    /// use tower::{Service, ServiceExt};
    /// use tower_layer::Layer;
    /// let mut service = littleboss::http::CloseWhenDrainingLayer::new(&ctx).layer(
    ///     tower::service_fn(|_: http::Request<()>| async {
    ///         Ok::<_, std::convert::Infallible>(http::Response::new(()))
    ///     }),
    /// );
    /// let future: littleboss::http::CloseFuture<_> =
    ///     service.ready().await.unwrap().call(http::Request::new(()));
    /// let response = future.await.unwrap();
    /// # let _ = response;
    /// # }
    /// ```
    #[derive(Debug)]
    pub struct CloseFuture<F> {
        #[pin]
        inner: F,
        // `None` for HTTP/2.
        ctx: Option<Context>,
        close_time: Duration,
        // Since the connection's request before this one.
        gap: Option<Duration>,
        // The request was HTTP/1.0 (or older).
        http10: bool,
        // The request was a CONNECT.
        connect: bool,
    }
}

impl<F, B, E> Future for CloseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        // Decided when the response is ready, not when the request came:
        // a slow request that started before draining closes too. A
        // protocol switch (a WebSocket's 101, a CONNECT's 2xx tunnel)
        // keeps its headers: the connection stops being HTTP, and the
        // program ends it its own way.
        let tunnel = *this.connect && response.status().is_success();
        if let Some(ctx) = this.ctx
            && response.status() != StatusCode::SWITCHING_PROTOCOLS
            && !tunnel
            && should_close(ctx.draining_for(), *this.close_time, *this.gap, ctx.grace())
        {
            close_connection(response.headers_mut());
            // To an HTTP/1.0 client that asked for keep-alive, hyper adds
            // `keep-alive` to this `close` on a 1.1 response (not on a
            // 1.0 one): a contradiction, which the client may read as
            // keep-alive.
            if *this.http10 {
                *response.version_mut() = Version::HTTP_10;
            }
        }
        Poll::Ready(Ok(response))
    }
}

/// Puts `close` in the `Connection` header, in place of a `keep-alive`,
/// keeping the other options it names: an `Upgrade` a `426` offers, the
/// hop-by-hop headers a proxy lists, which the next hop would otherwise
/// forward. A `Keep-Alive` header the handler set goes: its timeout
/// beside `close` says the contrary.
fn close_connection(headers: &mut http::HeaderMap) {
    headers.remove("keep-alive");
    let mut options: Vec<&str> = (headers.get_all(header::CONNECTION).iter())
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|option| {
            !option.is_empty()
                && !option.eq_ignore_ascii_case("keep-alive")
                && !option.eq_ignore_ascii_case("close")
        })
        .collect();
    options.push("close");
    let value = HeaderValue::from_str(&options.join(", "))
        .unwrap_or_else(|_| HeaderValue::from_static("close"));
    headers.insert(header::CONNECTION, value);
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::time::{Duration, Instant};

    use http::{Request, Response, StatusCode, header};
    use tower::ServiceExt;
    use tower_layer::Layer;

    use super::CloseWhenDrainingLayer;
    use crate::lameduck::Phase;

    /// The `Connection` header of the response to one HTTP/1.1 request
    /// answered with `status` while draining.
    async fn connection_header(status: StatusCode) -> Option<String> {
        connection_header_for(http::Method::GET, status).await
    }

    async fn connection_header_for(method: http::Method, status: StatusCode) -> Option<String> {
        let set = (status == StatusCode::SWITCHING_PROTOCOLS).then_some("upgrade");
        connection_header_set(method, status, set).await
    }

    /// As [`connection_header`], for a response whose `Connection` header
    /// the program `set`.
    async fn connection_header_set(
        method: http::Method,
        status: StatusCode,
        set: Option<&'static str>,
    ) -> Option<String> {
        let (phase, ctx, _listener, _addr) = crate::http::serve::tests::setup(Duration::ZERO).await;
        phase.send_replace(Phase::Draining(Instant::now()));
        let service = tower::service_fn(move |_: Request<()>| async move {
            let mut response = Response::new(());
            *response.status_mut() = status;
            if let Some(set) = set {
                let value = http::HeaderValue::from_static(set);
                response.headers_mut().insert(header::CONNECTION, value);
            }
            Ok::<_, Infallible>(response)
        });
        let mut request = Request::new(());
        *request.method_mut() = method;
        let response = CloseWhenDrainingLayer::new(&ctx)
            .layer(service)
            .oneshot(request)
            .await
            .unwrap();
        let value = response.headers().get(header::CONNECTION)?;
        Some(value.to_str().unwrap().to_owned())
    }

    #[tokio::test]
    async fn draining_closes_ordinary_responses_but_not_a_protocol_switch() {
        assert_eq!(
            connection_header(StatusCode::OK).await.as_deref(),
            Some("close")
        );
        assert_eq!(
            connection_header(StatusCode::SWITCHING_PROTOCOLS)
                .await
                .as_deref(),
            Some("upgrade")
        );
        // A CONNECT's 2xx opens a tunnel; refused, it is an answer.
        let connect = |status| connection_header_for(http::Method::CONNECT, status);
        assert_eq!(connect(StatusCode::OK).await, None);
        assert_eq!(
            connect(StatusCode::FORBIDDEN).await.as_deref(),
            Some("close")
        );
    }

    #[tokio::test]
    async fn draining_adds_close_to_what_the_response_named_in_place_of_keep_alive() {
        let get = http::Method::GET;
        let set = |status, value| connection_header_set(get.clone(), status, Some(value));
        // A 426 offers its upgrade still.
        let offered = set(StatusCode::UPGRADE_REQUIRED, "Upgrade").await;
        assert_eq!(offered.as_deref(), Some("Upgrade, close"));
        // A proxy's hop-by-hop headers stay named.
        let hops = set(StatusCode::OK, "X-Hop, keep-alive").await;
        assert_eq!(hops.as_deref(), Some("X-Hop, close"));
        let said = set(StatusCode::OK, "Keep-Alive").await;
        assert_eq!(said.as_deref(), Some("close"));
        let twice = set(StatusCode::OK, "close").await;
        assert_eq!(twice.as_deref(), Some("close"));
    }

    #[test]
    fn a_keep_alive_header_goes_with_the_close() {
        let mut headers = http::HeaderMap::new();
        headers.insert(header::CONNECTION, "keep-alive".parse().unwrap());
        headers.insert("keep-alive", "timeout=5, max=100".parse().unwrap());
        super::close_connection(&mut headers);
        assert_eq!(headers[header::CONNECTION], "close");
        assert_eq!(headers.get("keep-alive"), None);
    }
}
