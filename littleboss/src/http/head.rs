//! Whether an HTTP/1 connection's client has begun a request that hyper
//! has not yet handed to the service: its head partly read.
//!
//! hyper counts a kept-alive connection idle until a whole request head
//! has come, and its graceful shutdown closes an idle connection at once:
//! a request whose first bytes hyper has read (a head in two segments, a
//! large cookie, a slow client) is cut off mid-way, and its client loses
//! it, unanswered. (Not a connection's first request, once hyper has
//! read some of it: hyper counts the connection busy until its first
//! exchange, and only turns its keep-alive off.)
//! [`serve_until_shut`](super::graceful::serve_until_shut) waits,
//! before it tells the connection to shut down, for the head to be
//! whole (the service called: hyper is busy then, and answers with
//! `Connection: close`), for up to 500 ms.
//!
//! Told from the connection's bytes: read since its last write or
//! service call, a request has begun. HTTP/2 (its preface first) never
//! counts: its GOAWAY refuses no stream already sent. A pipelined
//! request's bytes, read before the response ahead of it was written,
//! are not told from that response's request body: its head, partly read
//! then, still meets the close (clients pipeline only requests they may
//! send again, RFC 9112 §9.3.2).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll};

use tokio::sync::Notify;

/// HTTP/2's connection preface, as a client's first bytes: all 24 of
/// them, as hyper-util's detection reads them. Until they are, the
/// connection counts as begun: a shutdown while its protocol is still
/// being told would cancel it, not send a GOAWAY.
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What the connection's protocol is known to be, from its first read.
const UNKNOWN: u8 = 0;
const HTTP1: u8 = 1;
const HTTP2: u8 = 2;

/// One connection's request under way: set by a read, cleared by a write
/// (both told by its stream, [`Counted`](super::open::Counted)) or the
/// service's call ([`HandedOn`]). It also keeps, for the stream's close,
/// whether hyper took a request for an upgrade ([`upgrade_asked`](Self::upgrade_asked),
/// set by [`HandedOn`]): the state the stream and the service share.
#[derive(Debug, Default)]
pub(super) struct RequestBegun {
    begun: AtomicBool,
    protocol: AtomicU8,
    /// While the protocol is unknown: how much of HTTP/2's preface the
    /// bytes read so far are.
    preface_seen: AtomicUsize,
    /// Told when `begun` or `upgrade_pending` clears
    /// ([`clear`](Self::clear), [`written`](Self::written)).
    cleared: Notify,
    /// hyper took an HTTP/1 request on this connection for an upgrade (an
    /// `Upgrade` header on HTTP/1.1, a CONNECT).
    upgrade_asked: AtomicBool,
    /// Such a request is handed on, its answer not written yet.
    upgrade_pending: AtomicBool,
}

impl RequestBegun {
    /// Read bytes `read` (the first read's, for the protocol).
    pub fn read(&self, read: &[u8]) {
        if read.is_empty() {
            return;
        }
        let protocol = match self.protocol.load(Ordering::Relaxed) {
            UNKNOWN => {
                // The preface, maybe over several reads (as hyper-util's
                // own detection reads it).
                let seen = self.preface_seen.load(Ordering::Relaxed);
                let rest = &HTTP2_PREFACE[seen..];
                let shown = read.len().min(rest.len());
                let protocol = match read[..shown] == rest[..shown] {
                    true if shown == rest.len() => HTTP2,
                    true => {
                        self.preface_seen.store(seen + shown, Ordering::Relaxed);
                        UNKNOWN
                    }
                    false => HTTP1,
                };
                self.protocol.store(protocol, Ordering::Relaxed);
                // A head begun with bytes like the preface's (`P`) has
                // begun all the same.
                if protocol == UNKNOWN { HTTP1 } else { protocol }
            }
            known => known,
        };
        match protocol {
            HTTP1 => self.begun.store(true, Ordering::SeqCst),
            // What its first parts set, taken back.
            _ => self.clear(),
        }
    }

    /// Bytes `written` to the client (at least one): a response, or part
    /// of one. Interim responses other than `101` (`100 Continue`, hyper's
    /// answer to `Expect` as a handler reads the body; `103 Early Hints`)
    /// answer no upgrade: one pending stays so, for the final answer,
    /// unless that follows them in the same write (hyper writes what its
    /// buffer holds at once: a `100` and a quick handler's answer). An
    /// interim head cut across two writes (a full socket) is judged by its
    /// first part: the rest then reads as a final answer, as every write
    /// did before.
    pub fn written(&self, written: &[u8]) {
        let mut rest = written;
        while is_interim_head(rest) {
            match rest.windows(4).position(|w| w == b"\r\n\r\n") {
                Some(end) if end + 4 < rest.len() => rest = &rest[end + 4..],
                // Interim heads alone (or part of one).
                _ => return self.clear_with(false),
            }
        }
        self.clear();
    }

    /// A response written, or a request handed on: nothing begun since,
    /// and no upgrade's answer pending.
    pub fn clear(&self) {
        self.clear_with(true);
    }

    /// Nothing begun since, and, if `answered`, no upgrade's answer
    /// pending either; `cleared` told if either was.
    fn clear_with(&self, answered: bool) {
        let begun = self.begun.swap(false, Ordering::SeqCst);
        let pending = answered && self.upgrade_pending.swap(false, Ordering::SeqCst);
        if begun || pending {
            self.cleared.notify_waiters();
        }
    }

    /// Completes once no request that asked for an upgrade waits for its
    /// answer (at once if none does): its `101`, or a refusal.
    pub async fn upgrade_answered(&self) {
        self.cleared_of(&self.upgrade_pending).await;
    }

    /// Whether hyper took an HTTP/1 request on this connection for an
    /// upgrade (granted or not): its shutdown may be its upgrade handler's,
    /// which may go on reading, so the close must not read for itself. (A
    /// connection whose upgrade was refused, as `curl --http2`'s `h2c`
    /// usually is, hyper drops at its end rather than shut down: no close
    /// of its lingers either way. Dropped with bytes unread, a request
    /// pipelined after or a body its handler left, the socket is reset,
    /// which can cut that connection's last response short.)
    pub fn upgrade_asked(&self) -> bool {
        self.upgrade_asked.load(Ordering::SeqCst)
    }

    /// Completes once no request is begun and not handed on (at once if
    /// none is).
    pub async fn none(&self) {
        self.cleared_of(&self.begun).await;
    }

    /// Completes once `flag`, one of these, is false (cleared by
    /// [`clear`](Self::clear) or [`written`](Self::written), which tell
    /// `cleared`).
    async fn cleared_of(&self, flag: &AtomicBool) {
        loop {
            let cleared = self.cleared.notified();
            tokio::pin!(cleared);
            // Registered before the check, so a clear in between wakes it.
            cleared.as_mut().enable();
            if !flag.load(Ordering::SeqCst) {
                return;
            }
            cleared.await;
        }
    }
}

/// Whether `bytes` begin an interim response's head other than `101`
/// (`HTTP/1.1 100 Continue`): too few to tell, no.
fn is_interim_head(bytes: &[u8]) -> bool {
    match bytes {
        [
            b'H',
            b'T',
            b'T',
            b'P',
            b'/',
            b'1',
            b'.',
            _,
            b' ',
            b'1',
            rest @ ..,
        ] => rest.len() >= 2 && !rest.starts_with(b"01"),
        _ => false,
    }
}

/// A connection's service, clearing its [`RequestBegun`] as hyper hands
/// it each request (whose head is whole then), and telling it an HTTP/1
/// request hyper means to upgrade.
#[derive(Debug, Clone)]
pub(super) struct HandedOn<S> {
    inner: S,
    begun: Arc<RequestBegun>,
}

impl<S> HandedOn<S> {
    pub(super) fn new(inner: S, begun: Arc<RequestBegun>) -> Self {
        HandedOn { inner, begun }
    }
}

impl<S, B> tower_service::Service<http::Request<B>> for HandedOn<S>
where
    S: tower_service::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        self.begun.clear();
        // hyper's own reading: it gives a request it means to upgrade an
        // `OnUpgrade` (HTTP/2's extended CONNECT too, whose stream is not
        // this connection's stream).
        let upgrade = (request.extensions())
            .get::<hyper::upgrade::OnUpgrade>()
            .is_some();
        if request.version() < http::Version::HTTP_2 && upgrade {
            self.begun.upgrade_asked.store(true, Ordering::SeqCst);
            self.begun.upgrade_pending.store(true, Ordering::SeqCst);
        }
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::RequestBegun;

    #[test]
    fn an_interim_response_answers_no_upgrade_but_a_final_one_does() {
        use std::sync::atomic::Ordering::SeqCst;
        let pending = |written: &[u8]| {
            let begun = RequestBegun::default();
            begun.read(b"GET / HTTP/1.1\r\n");
            begun.upgrade_pending.store(true, SeqCst);
            begun.written(written);
            assert!(
                !begun.begun.load(SeqCst),
                "a write clears the request begun"
            );
            begun.upgrade_pending.load(SeqCst)
        };
        assert!(pending(b"HTTP/1.1 100 Continue\r\n\r\n"));
        assert!(pending(b"HTTP/1.1 103 Early Hints\r\n"));
        assert!(!pending(b"HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(!pending(b"HTTP/1.1 400 Bad Request\r\n"));
        assert!(!pending(b"HTTP/1.1 200 OK\r\n"));
        assert!(
            !pending(b"HTTP/1.1 1"),
            "too short to tell: a final answer's start"
        );
        assert!(!pending(b"body bytes"));
        // A quick handler's answer in the same write as the `100`: the
        // final one, refused or granted.
        assert!(!pending(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 Bad Request\r\n\r\n"
        ));
        assert!(!pending(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n"
        ));
        assert!(pending(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n"
        ));
        assert!(pending(b"HTTP/1.1 100 Continue\r\n"), "part of one");
    }

    #[test]
    fn an_http1_read_begins_a_request_and_a_write_or_call_clears_it() {
        let begun = RequestBegun::default();
        begun.read(b"");
        assert!(!begun.begun.load(std::sync::atomic::Ordering::SeqCst));
        begun.read(b"GET / HT");
        assert!(begun.begun.load(std::sync::atomic::Ordering::SeqCst));
        begun.clear();
        assert!(!begun.begun.load(std::sync::atomic::Ordering::SeqCst));
        begun.read(b"TP/1.1\r\n");
        assert!(begun.begun.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[test]
    fn http2_never_counts() {
        let begun = RequestBegun::default();
        begun.read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        begun.read(b"\x00\x00\x12\x04");
        assert!(!begun.begun.load(std::sync::atomic::Ordering::SeqCst));
        // Its preface over several reads too.
        let begun = RequestBegun::default();
        for part in [&b"PR"[..], b"I * HTT", b"P/2.0\r\n", b"\r\nSM\r\n\r\n"] {
            begun.read(part);
            // Begun until the whole preface has come.
            let whole = part.ends_with(b"SM\r\n\r\n");
            assert_eq!(
                begun.begun.load(std::sync::atomic::Ordering::SeqCst),
                !whole
            );
        }
        begun.read(b"\x00\x00\x12\x04");
        assert!(!begun.begun.load(std::sync::atomic::Ordering::SeqCst));
        // A method that starts like it is HTTP/1.
        let begun = RequestBegun::default();
        begun.read(b"P");
        begun.clear();
        begun.read(b"OST / HTTP/1.1\r\n");
        assert!(begun.begun.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn none_waits_for_the_clear() {
        let begun = std::sync::Arc::new(RequestBegun::default());
        begun.none().await;
        begun.read(b"GET");
        let waiting = tokio::spawn({
            let begun = begun.clone();
            async move { begun.none().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a request is begun");
        begun.clear();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("the clear wakes it")
            .unwrap();
    }
}
