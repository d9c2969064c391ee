//! The axum application that the `http`, `readme` and `axum_serve`
//! examples serve.
//!
//! - `GET /`: a greeting naming the process that served it;
//! - `POST /`: reads the body and says how long it was;
//! - `GET /slow?ms=N`: answers after N milliseconds (at most 5 000).
//!
//! Every response carries an `x-littleboss-pid` header naming the process
//! that served it, so a reload shows up as a change of pid.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Query;
use axum::http::HeaderValue;
use axum::middleware::map_response;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

/// The longest `/slow` answers: well within the 10 s lameduck of the
/// `http` example, so one started just before a reload still completes in
/// the old child. (`readme` and `axum_serve` keep the
/// defaults, a 2 s lameduck: in `readme` a `/slow` longer than its
/// bound, about 1.8 s from draining, is cut there; bare `axum::serve`
/// waits for it unbounded, and the supervisor kills the old child at its
/// lameduck timeout.)
pub const SLOW_MAX_MS: u64 = 5_000;

/// The routes, with the pid header.
///
/// ```no_run
/// let app: axum::Router = examples::app::app();
/// ```
pub fn app() -> Router {
    Router::new()
        .route("/", get(hello).post(posted))
        .route("/slow", get(slow))
        .layer(map_response(pid_header))
}

async fn hello() -> String {
    format!(
        "hello from the {} example, pid {}, version {}\n",
        example(),
        std::process::id(),
        env!("CARGO_PKG_VERSION")
    )
}

/// The example serving: its binary's name (`http`, `readme`,
/// `axum_serve`), as it was run; read once, not at every request.
fn example() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let arg0 = std::env::args_os().next().unwrap_or_default();
        let name = std::path::Path::new(&arg0).file_name().unwrap_or_default();
        name.to_string_lossy().into_owned()
    })
}

async fn posted(body: Bytes) -> String {
    format!("got {} bytes in pid {}\n", body.len(), std::process::id())
}

#[derive(Deserialize)]
struct SlowParams {
    ms: Option<u64>,
}

async fn slow(Query(params): Query<SlowParams>) -> String {
    let ms = params.ms.unwrap_or(1000).min(SLOW_MAX_MS);
    eprintln!(
        "{}: pid {} answering /slow in {ms} ms",
        example(),
        std::process::id()
    );
    tokio::time::sleep(Duration::from_millis(ms)).await;
    format!("slept {ms} ms in pid {}\n", std::process::id())
}

async fn pid_header(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert("x-littleboss-pid", HeaderValue::from(std::process::id()));
    response
}
