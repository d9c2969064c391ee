//! How long the helpers wait for connections once lameduck has completed.

use std::future::Future;
use std::time::Duration;

use crate::Context;
use crate::report::warning;

/// Runs `serve` (a server's graceful shutdown, begun at lameduck) to its
/// end, or until the lameduck timeout is about to end: the supervisor
/// kills the process then, so `main` should have returned. Returns whether
/// it ended on its own.
pub(crate) async fn bounded<T>(ctx: &Context, serve: impl Future<Output = T>) -> Option<T> {
    let grace = ctx.grace();
    // Counted from draining: lameduck may come early.
    let bound = grace + budget(ctx.lameduck_timeout(), grace);
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
            warning!(
                "connections still open {bound:?} after draining began (the lameduck timeout less a margin); returning"
            );
            None
        }
    }
}

/// What is left of the lameduck timeout after the grace, less a tenth
/// (at most 250 ms) for `main` to return and the process to exit.
fn budget(timeout: Duration, grace: Duration) -> Duration {
    let margin = (timeout / 10).min(Duration::from_millis(250));
    timeout.saturating_sub(grace).saturating_sub(margin)
}

#[cfg(test)]
mod tests {
    use super::budget;
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

    #[test]
    fn the_budget_leaves_a_margin_before_the_kill() {
        let ms = Duration::from_millis;
        assert_eq!(budget(ms(2000), ms(1000)), ms(800));
        assert_eq!(budget(ms(10_000), ms(1000)), ms(8750));
        assert_eq!(budget(ms(100), ms(50)), ms(40));
        assert_eq!(budget(ms(0), ms(0)), ms(0));
    }
}
