//! Silent connections left with the kernel until they speak: the helpers
//! serve HTTP, in which the client speaks first, so they turn on
//! `TCP_DEFER_ACCEPT` (see [`TcpListener::defer_accept`]). A client that
//! connects just before a reload and speaks seconds later is then accepted
//! by the child serving when it speaks, not closed unheard by an old child
//! whose grace ran out first.

use std::os::fd::AsFd;
use std::time::Duration;

use crate::TcpListener;

/// How long the kernel holds a silent connection back: 30 s (31 on the
/// kernel's schedule), longer than a real client is silent before its
/// first byte (a TCP health check or a preconnect that never speaks is
/// held that long, then accepted), and short enough that one gone silent is accepted then,
/// with the grace at a reload as without the option, rather than hold its
/// place in the listen backlog for long. (nginx and HAProxy defer for 1 s:
/// they use the option against idle wake-ups, not to carry a connection
/// across a reload.)
pub(crate) const DEFERRAL: Duration = Duration::from_secs(30);

/// Turns the deferral on for `listener`'s socket, unless it is on already
/// (systemd's `DeferAcceptSec=`, or an earlier child's doing), which is
/// left as it is. A failure is said and otherwise ignored: the drain works
/// without it, with the grace as the only wait for a first byte.
pub(crate) fn defer_silent_connections(listener: &TcpListener) {
    let deferred = crate::defer_accept::deferral(listener.as_fd()).and_then(|set| {
        if set.is_zero() {
            listener.defer_accept(DEFERRAL)
        } else {
            Ok(())
        }
    });
    if let Err(e) = deferred {
        // Aside: on the serve path, which a logger that blocks must not
        // hold up.
        crate::report::say_aside(
            log::Level::Warn,
            format!("cannot defer silent connections until they speak (TCP_DEFER_ACCEPT): {e}"),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;
    use std::time::Duration;

    use super::defer_silent_connections;
    use crate::defer_accept::deferral;

    /// Off, it is turned on for the helper's 30 s (31 on the kernel's
    /// schedule); set already, by systemd's `DeferAcceptSec=` say, it is
    /// left as it was.
    #[tokio::test]
    async fn the_deferral_is_turned_on_unless_it_is_set_already() {
        let (_phase, _ctx, listener, _addr) =
            crate::http::serve::tests::setup(Duration::ZERO).await;
        defer_silent_connections(&listener);
        assert_eq!(deferral(listener.as_fd()).unwrap(), Duration::from_secs(31));

        let (_phase, _ctx, listener, _addr) =
            crate::http::serve::tests::setup(Duration::ZERO).await;
        listener.defer_accept(Duration::from_secs(2)).unwrap();
        defer_silent_connections(&listener);
        assert_eq!(deferral(listener.as_fd()).unwrap(), Duration::from_secs(3));
    }
}
