//! How long the helpers wait for connections once lameduck has completed.

use std::future::Future;

use crate::Context;

/// Runs `serve` (a server's graceful shutdown, begun at lameduck) to its
/// end, or until the lameduck timeout is about to end: the supervisor
/// kills the process then, so `main` should have returned. Returns whether
/// it ended on its own.
pub(crate) async fn bounded<T>(ctx: &Context, serve: impl Future<Output = T>) -> Option<T> {
    let grace = ctx.grace();
    // Counted from draining: lameduck may come early.
    let bound = grace + ctx.drain_budget();
    let lameduck = ctx.lameduck();
    let deadline = async {
        lameduck.await;
        // Counted from when draining began, not from this call: a caller
        // that reaches here late must not add its lateness to the bound.
        let spent = ctx.draining_for().unwrap_or_default();
        tokio::time::sleep(bound.saturating_sub(spent)).await;
    };
    tokio::select! {
        out = serve => Some(out),
        () = deadline => {
            // Aside: a logger that blocks must not keep the program past
            // its bound.
            crate::report::say_aside(
                log::Level::Warn,
                format!(
                    "connections still open {bound:?} after draining began (the lameduck timeout less a margin); returning"
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::lameduck::Phase;

    #[tokio::test]
    async fn the_bound_counts_from_when_draining_began() {
        // A lameduck timeout of 10 s and no grace: a budget of 9.75 s.
        let (phase, ctx, _listener, _addr) = crate::http::serve::tests::setup(Duration::ZERO).await;
        // Draining began 9.75 s ago, and the caller comes only now.
        // (The build alone keeps a machine up for longer than 10 s.)
        let since = Instant::now()
            .checked_sub(Duration::from_millis(9750))
            .expect("a monotonic clock past 10 s");
        phase.send_replace(Phase::Lameduck(since));
        let serve = std::future::pending::<()>();
        let bounded = tokio::time::timeout(Duration::from_secs(5), super::bounded(&ctx, serve));
        assert_eq!(
            bounded.await,
            Ok(None),
            "waited a whole budget from the call"
        );
    }
}
