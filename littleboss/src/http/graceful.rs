//! hyper's graceful shutdown of one connection at lameduck, with what its
//! client has sent read first.
//!
//! hyper closes an HTTP/1 connection it finds idle when told to shut down
//! (`graceful_shutdown`), and hyper-util's `GracefulShutdown` tells it
//! before polling the connection again. A request whose bytes reached the
//! socket just before lameduck, and that hyper has not read yet (its task
//! not polled since they came), is then in the socket when it is closed:
//! the kernel resets the connection, and the client loses the request
//! unanswered. Here the connection is polled first, and told to shut down
//! only once nothing is waiting unread in its socket (or after 10 looks
//! 1 ms apart, 10 to 20 ms with the timer's rounding): a request read by
//! then is answered, with `Connection: close`, as one in flight is. An
//! HTTP/1 request head hyper has begun to read (it counts a kept-alive
//! connection idle until the whole head has come) is then given up to
//! 500 ms for the rest (see [`head`](super::head)). This narrows the race
//! rather than closes it: bytes landing just after the last look, or a
//! later request's head slower than that, still meet the close. A
//! connection's first request head, once hyper has read some of it
//! (beyond the first bytes hyper-util reads to tell HTTP/1 from HTTP/2,
//! until which a shutdown closes it), is not closed: hyper counts a
//! connection busy until its first exchange, so told to shut down it
//! only turns keep-alive off, and answers that request whenever it comes
//! whole (a stalled one holds the drain until its bound, as the README
//! says); one with nothing read yet is closed as an idle one is. An
//! HTTP/2 connection needs none of it (its graceful GOAWAY refuses no
//! stream already sent) and is only told a little later when its
//! client's frames wait unread.

use std::future::Future;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::head::RequestBegun;
use crate::Context;

/// How often to look again whether hyper has read what is waiting.
const LOOK_AGAIN: Duration = Duration::from_millis(1);
/// How many times, at most: a client that keeps sending (a pipelined
/// request hyper does not read while it answers one) is not waited for.
/// tokio's reactor sees new bytes within a tick, so a few suffice.
const MOST_LOOKS: u32 = 10;

/// How long a head partly read may take to come whole: a few round trips
/// of a slow network. Bytes read that are no head look the same, and
/// hold the shutdown this long: the rest of a body its handler did not
/// read (which hyper reads after the response, to keep the connection),
/// or an upload in flight (until its response is written; hyper busy
/// then, the shutdown would only have marked it to close). At most half
/// of what is left of the drain's bound, so that the wait does not
/// outlast it (and have the helper say connections were left open).
const REST_OF_A_HEAD: Duration = Duration::from_millis(500);

/// How long, from now, a head partly read, then an upgrade's answer, is
/// waited for (one deadline for both): see [`REST_OF_A_HEAD`].
fn rest_of_a_head(ctx: &Context) -> Duration {
    let bound = ctx.grace() + ctx.drain_budget();
    let left = bound.saturating_sub(ctx.draining_for().unwrap_or_default());
    REST_OF_A_HEAD.min(left / 2)
}

/// Serves `conn` until `shut` turns true (or its sender is gone), then
/// has `shut_down` tell it to shut down gracefully, once `fd` (its
/// socket, open while `conn` is) has nothing waiting unread and no
/// request is `begun` (an HTTP/1 head partly read: see
/// [`head`](super::head)) and no request that asked for an upgrade waits
/// for its answer (both waited for within one deadline, inside `ctx`'s
/// bound); then serves it to its end. An error that ends it (a client
/// gone mid-request, a response body's error) is logged at debug level,
/// as `axum::serve` traces its own.
pub(super) async fn serve_until_shut<C, E>(
    conn: C,
    fd: RawFd,
    begun: Arc<RequestBegun>,
    ctx: Context,
    mut shut: watch::Receiver<bool>,
    shut_down: impl FnOnce(Pin<&mut C>),
) where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        biased;
        ended = conn.as_mut() => return say_if_failed(ended),
        _ = shut.wait_for(|shut| *shut) => {}
    }
    for _ in 0..MOST_LOOKS {
        if !unread_waiting(fd) {
            break;
        }
        // tokio has not yet seen the bytes (its reactor runs between
        // tasks): a moment, for hyper to be woken and read them.
        tokio::select! {
            biased;
            ended = conn.as_mut() => return say_if_failed(ended),
            () = tokio::time::sleep(LOOK_AGAIN) => {}
        }
    }
    // A head partly read: hyper would close it as idle, the request cut
    // off. Whole, it is handed on (hyper busy: answered, then closed).
    // Then a request that asked for an upgrade (a WebSocket's handshake),
    // its answer not out: told to shut down now, hyper would say `close`
    // on its `101` too, beside `upgrade`, which a strict client refuses.
    // Its answer is waited for, within the same bound.
    let until = tokio::time::Instant::now() + rest_of_a_head(&ctx);
    let handed_on_and_answered = async {
        begun.none().await;
        begun.upgrade_answered().await;
    };
    tokio::select! {
        biased;
        ended = conn.as_mut() => return say_if_failed(ended),
        () = handed_on_and_answered => {}
        () = tokio::time::sleep_until(until) => {}
    }
    shut_down(conn.as_mut());
    say_if_failed(conn.await);
}

/// Logs, at debug level, the error a connection ended with.
fn say_if_failed<E: std::fmt::Display>(ended: Result<(), E>) {
    if let Err(e) = ended {
        log::debug!("a connection ended with an error: {e}");
    }
}

/// Whether bytes wait unread in socket `fd` (not its end-of-file).
fn unread_waiting(fd: RawFd) -> bool {
    use nix::sys::socket::{MsgFlags, recv};
    let mut byte = [0u8];
    let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
    matches!(recv(fd, &mut byte, flags), Ok(1))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;

    #[test]
    fn unread_bytes_are_seen_and_an_end_of_file_is_not() {
        let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert!(!super::unread_waiting(b.as_raw_fd()));
        a.write_all(b"GET").unwrap();
        assert!(super::unread_waiting(b.as_raw_fd()));
        // Looked at, not taken.
        let mut got = [0u8; 3];
        (&b).read_exact(&mut got).unwrap();
        assert_eq!(&got, b"GET");
        drop(a);
        assert!(!super::unread_waiting(b.as_raw_fd()));
    }
}
