//! The loads of the drain benchmark (`src/bin/drain_bench.rs`): what real
//! clients do to a server being reloaded. Every request ends in exactly one
//! [`Outcome`], as in [`load`](crate::load), whose HTTP/1 reader it uses.
//!
//! - [`Shape::NewConnection`]: `GET /` on a fresh connection each time;
//! - [`Shape::KeepAlive`]: `GET /` over and over on kept-alive connections
//!   (reconnecting after `Connection: close` or an error);
//! - [`Shape::SlowFirstByte`]: a fresh connection whose client waits
//!   0.2 to 3 s before sending its request;
//! - [`Shape::Post`]: `POST /` with a 16 KiB body on kept-alive connections;
//! - [`Shape::Http2`]: `GET /` over HTTP/2 (prior knowledge, hyper's
//!   client), one stream at a time per connection, reconnecting after
//!   GOAWAY. A request the server's GOAWAY refused, or that hyper
//!   cancelled unsent because the connection closed, is a failure of its
//!   own class ([`Outcome::GoAway`], [`Outcome::Unsent`]); it is not
//!   retried.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::load::{Outcome, Response, classify, read_response};

/// What one load's clients do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    NewConnection,
    KeepAlive,
    SlowFirstByte,
    Post,
    Http2,
}

impl Shape {
    /// Its name in tables and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Shape::NewConnection => "new-connection",
            Shape::KeepAlive => "keep-alive",
            Shape::SlowFirstByte => "slow-first-byte",
            Shape::Post => "post",
            Shape::Http2 => "http2",
        }
    }

    /// Every shape, in table order.
    pub const ALL: [Shape; 5] = [
        Shape::NewConnection,
        Shape::KeepAlive,
        Shape::SlowFirstByte,
        Shape::Post,
        Shape::Http2,
    ];
}

/// The body `Shape::Post` sends.
pub const POST_BODY: usize = 16 * 1024;

/// The shortest a slow client waits, connected, before its first byte.
pub const SHORTEST_SILENCE: Duration = Duration::from_millis(200);

/// The longest a slow client waits, connected, before its first byte.
pub const LONGEST_SILENCE: Duration = Duration::from_millis(3000);

/// One finished request.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When it finished, from the start of the run.
    pub at: Duration,
    /// When it was due (open loop) or began, from the start of the run: a
    /// slow client's request from its first byte, less its connect.
    pub due: Duration,
    /// From its first byte sent (after a slow client's wait), or in open
    /// loop from when it was due if the client was late, to the end of
    /// its response.
    pub latency: Duration,
    pub outcome: Outcome,
    /// It was sent on a connection that had already carried a response:
    /// a failure there, before any response byte, is the HTTP/1 race of a
    /// request with the server's close of an idle connection.
    pub reused: bool,
}

/// A load to run.
#[derive(Debug, Clone, Copy)]
pub struct Traffic {
    pub addr: SocketAddr,
    pub shape: Shape,
    /// Concurrent clients (connections).
    pub clients: usize,
    /// A request without a whole response by then is a timeout.
    pub timeout: Duration,
    /// Open loop: the total request rate, per second, the clients keep to
    /// between them, each sending on a schedule of its own whatever the
    /// answers do (not for slow clients). A request is timed from when it
    /// was due, not from when the client, held up behind a stall (its
    /// answers late, or its timer's wake-up), got to send it, so a stall
    /// counts for every request it delays (no coordinated omission); only
    /// the timer's rounding, up to a millisecond, is left out. A kept-alive
    /// connection the server closed while it sat idle is not reused (a
    /// client's pool checks). `None`: closed loop, each client
    /// sending its next request as its last one ends, as fast as the
    /// server answers.
    pub rate: Option<f64>,
}

impl Traffic {
    /// The time between one client's scheduled requests, and when its
    /// first is due after `start` (spread over one interval, client by
    /// client), in open loop.
    fn schedule(&self, client: usize, start: Instant) -> Option<(Duration, Instant)> {
        let rate = self
            .rate
            .filter(|r| *r > 0.0 && self.shape != Shape::SlowFirstByte)?;
        let every = Duration::from_secs_f64(self.clients as f64 / rate);
        let first = start + every.mul_f64(client as f64 / self.clients as f64);
        Some((every, first))
    }
}

/// How late tokio's timer may wake a client by its own rounding: it
/// counts whole milliseconds, rounded up.
const TIMER_SLACK: Duration = Duration::from_millis(1);

/// One client's schedule in open loop: waits until its next request is
/// due, and says from when to time it (closed loop: now, at once).
struct Pacer {
    schedule: Option<(Duration, Instant)>,
}

impl Pacer {
    /// Waits for the next request's time; from when to time it, and
    /// whether the client waited (its connection sat idle meanwhile). It
    /// is timed from when it was due: each request a stall held up counts
    /// the wait, whether the answers held the client up or the stall
    /// delayed its timer's wake-up (a stall of the whole machine, as when
    /// a new child starts beside the load, does both). Only the timer's
    /// own rounding, up to [`TIMER_SLACK`] late, is the client's and not
    /// counted.
    async fn due(&mut self) -> (Instant, bool) {
        let Some((every, next)) = &mut self.schedule else {
            return (Instant::now(), false);
        };
        let due = *next;
        *next += *every;
        if Instant::now() >= due {
            return (due, false);
        }
        tokio::time::sleep_until(due.into()).await;
        (Instant::now().min(due + TIMER_SLACK), true)
    }

    /// When the request [`Pacer::due`] last returned was scheduled
    /// (closed loop: now).
    fn scheduled(&self) -> Instant {
        match &self.schedule {
            Some((every, next)) => *next - *every,
            None => Instant::now(),
        }
    }
}

/// Whether a kept-alive connection that sat idle was closed by the server
/// meanwhile, as a client's connection pool checks before reusing one:
/// an HTTP/1 server may close an idle connection at any time, and a
/// request written onto one closed long before is the client's mistake.
fn closed_while_idle(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.try_read(&mut byte) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        // End of file, an error, or bytes nobody asked for.
        _ => true,
    }
}

/// When the load was told to stop. A request due before then is still
/// sent: an open-loop client held up behind a slow answer owes requests
/// that were due while it waited, each timed from its due time, and
/// dropping them would leave the slowest out of the last window. Up to a
/// request timeout after the stop: those still owed then (a server that
/// hangs) count as timed out, unsent, so that the stop ends.
#[derive(Debug, Default)]
struct StopAt(std::sync::OnceLock<Instant>);

impl StopAt {
    /// Whether a request scheduled at `due` comes after the stop (in
    /// closed loop every request is due as it is sent).
    fn past(&self, due: Instant) -> bool {
        self.0.get().is_some_and(|at| due >= *at)
    }

    /// Whether `timeout` has passed since the stop: what is still owed
    /// is given up.
    fn given_up(&self, timeout: Duration) -> bool {
        self.0
            .get()
            .is_some_and(|at| Instant::now() >= *at + timeout)
    }
}

/// When the request due at `begin` times out: from when it was due (in
/// open loop, maybe before now), as it is timed. `None` if it is not to
/// be sent: the stop gave up on it, or it is past its timeout already (a
/// connection begun and dropped, or a request written and reset, would
/// only add to the stall).
fn deadline_of(begin: Instant, timeout: Duration, stop: &StopAt) -> Option<tokio::time::Instant> {
    let deadline = tokio::time::Instant::from_std(begin) + timeout;
    (!stop.given_up(timeout) && tokio::time::Instant::now() < deadline).then_some(deadline)
}

/// A request owed when the stop gave up on it ([`StopAt::given_up`]), or
/// past its timeout before it could be sent (its client held up behind a
/// stall), timed from when it was due: a timeout, unsent.
fn given_up(begin: Instant, epoch: Instant) -> Sample {
    let end = Instant::now();
    Sample {
        at: end - epoch,
        due: begin - epoch,
        latency: end - begin,
        outcome: Outcome::Timeout,
        reused: false,
    }
}

/// A running load; [`Running::stop`] ends it and returns every sample.
#[derive(Debug)]
pub struct Running {
    stop: Arc<StopAt>,
    clients: Vec<tokio::task::JoinHandle<Vec<Sample>>>,
}

impl Traffic {
    /// Starts the clients on the current runtime.
    pub fn start(self, epoch: Instant) -> Running {
        let stop = Arc::new(StopAt::default());
        let start = Instant::now();
        let clients = (0..self.clients)
            .map(|i| {
                let stop = stop.clone();
                let pacer = Pacer {
                    schedule: self.schedule(i, start),
                };
                tokio::spawn(async move {
                    match self.shape {
                        Shape::Http2 => h2_client(self, pacer, epoch, stop).await,
                        _ => h1_client(self, pacer, i as u64, epoch, stop).await,
                    }
                })
            })
            .collect();
        Running { stop, clients }
    }
}

impl Running {
    /// Stops the clients and returns every sample. Open loop: each first
    /// sends the requests that fell due before the stop; those still owed
    /// a request timeout after it count as timed out, unsent. Closed loop:
    /// after its current request.
    pub async fn stop(self) -> Vec<Sample> {
        let _ = self.stop.0.set(Instant::now());
        let mut samples = Vec::new();
        for client in self.clients {
            samples.extend(client.await.expect("load client"));
        }
        samples
    }
}

async fn h1_client(
    load: Traffic,
    mut pacer: Pacer,
    seed: u64,
    epoch: Instant,
    stop: Arc<StopAt>,
) -> Vec<Sample> {
    let mut samples = Vec::with_capacity(1 << 12);
    let mut conn: Option<TcpStream> = None;
    let mut random = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let body = vec![b'x'; POST_BODY];
    loop {
        let (mut begin, waited) = pacer.due().await;
        if stop.past(pacer.scheduled()) {
            break;
        }
        let Some(deadline) = deadline_of(begin, load.timeout, &stop) else {
            samples.push(given_up(begin, epoch));
            continue;
        };
        if waited && conn.as_ref().is_some_and(closed_while_idle) {
            conn = None;
        }
        let reused = conn.is_some();
        let attempt = async {
            // How long connecting took: a slow client's request is timed
            // from after its silence, plus this.
            let mut connecting = Duration::ZERO;
            if conn.is_none() {
                let began = Instant::now();
                let stream = TcpStream::connect(load.addr)
                    .await
                    .map_err(|e| classify(&e))?;
                connecting = began.elapsed();
                let _ = stream.set_nodelay(true);
                conn = Some(stream);
            }
            if load.shape == Shape::SlowFirstByte {
                // xorshift: SHORTEST_SILENCE to LONGEST_SILENCE, different
                // for every client.
                random ^= random << 13;
                random ^= random >> 7;
                random ^= random << 17;
                let shortest = SHORTEST_SILENCE.as_millis() as u64;
                let longest = LONGEST_SILENCE.as_millis() as u64;
                let wait = shortest + random % (longest - shortest + 1);
                tokio::time::sleep(Duration::from_millis(wait)).await;
                begin = Instant::now() - connecting;
            }
            let stream = conn.as_mut().expect("connected above");
            let written = if load.shape == Shape::Post {
                let head = format!(
                    "POST / HTTP/1.1\r\nHost: bench\r\nContent-Length: {POST_BODY}\r\n\r\n"
                );
                match stream.write_all(head.as_bytes()).await {
                    Ok(()) => stream.write_all(&body).await,
                    Err(e) => Err(e),
                }
            } else {
                stream
                    .write_all(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
                    .await
            };
            written.map_err(|e| classify(&e))?;
            read_response(stream).await.map_err(|e| classify(&e))
        };
        let mut keep = matches!(load.shape, Shape::KeepAlive | Shape::Post);
        let outcome = match tokio::time::timeout_at(deadline, attempt).await {
            Ok(Ok(Response { code, pid, close })) if (200..300).contains(&code) => {
                keep &= !close;
                Outcome::Ok { pid }
            }
            Ok(Ok(Response { code, .. })) => Outcome::Status { code },
            Ok(Err(outcome)) => outcome,
            Err(_) => Outcome::Timeout,
        };
        if (!keep || !matches!(outcome, Outcome::Ok { .. }))
            && let Some(stream) = conn.take()
        {
            // Closed with a reset: no TIME_WAIT pile-up over a long run.
            let _ = stream.set_zero_linger();
        }
        let end = Instant::now();
        samples.push(Sample {
            at: end - epoch,
            due: begin - epoch,
            latency: end - begin,
            outcome,
            reused,
        });
    }
    samples
}

type H2Sender = hyper::client::conn::http2::SendRequest<http_body_util::Empty<bytes::Bytes>>;

async fn h2_connect(addr: SocketAddr) -> Result<H2Sender, Outcome> {
    let stream = TcpStream::connect(addr).await.map_err(|e| classify(&e))?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .map_err(|_| Outcome::Eof)?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn h2_client(
    load: Traffic,
    mut pacer: Pacer,
    epoch: Instant,
    stop: Arc<StopAt>,
) -> Vec<Sample> {
    use http_body_util::BodyExt;
    let mut samples = Vec::with_capacity(1 << 12);
    let mut sender: Option<H2Sender> = None;
    loop {
        let (begin, _) = pacer.due().await;
        if stop.past(pacer.scheduled()) {
            break;
        }
        let Some(deadline) = deadline_of(begin, load.timeout, &stop) else {
            samples.push(given_up(begin, epoch));
            continue;
        };
        // A connection the server said GOAWAY on is not ready any more:
        // open another, as every HTTP/2 client does (not a failure: no
        // request was sent). The wait is timed and bounded all the same.
        let mut ready = true;
        if let Some(s) = &mut sender {
            match tokio::time::timeout_at(deadline, s.ready()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => sender = None,
                Err(_) => ready = false,
            }
        }
        let reused = sender.is_some();
        let attempt = async {
            if !ready {
                return Err(Outcome::Timeout);
            }
            if sender.is_none() {
                sender = Some(h2_connect(load.addr).await?);
            }
            let s = sender.as_mut().expect("connected above");
            let request = http::Request::get(format!("http://{}/", load.addr))
                .body(http_body_util::Empty::new())
                .expect("a request");
            let response = s.send_request(request).await.map_err(|e| {
                eprintln!("h2: {e:?}");
                h2_failure(&e)
            })?;
            let code = response.status().as_u16();
            let pid: Option<u32> = response
                .headers()
                .get("x-littleboss-pid")
                .and_then(|v| v.to_str().ok()?.parse().ok());
            response
                .into_body()
                .collect()
                .await
                .map_err(|_| Outcome::Eof)?;
            Ok::<_, Outcome>((code, pid))
        };
        let outcome = match tokio::time::timeout_at(deadline, attempt).await {
            // An answer that names no child is garbled: a failure.
            Ok(Ok((code, Some(pid)))) if (200..300).contains(&code) => Outcome::Ok { pid },
            Ok(Ok((code, None))) if (200..300).contains(&code) => Outcome::Other,
            Ok(Ok((code, _))) => Outcome::Status { code },
            Ok(Err(outcome)) => outcome,
            Err(_) => Outcome::Timeout,
        };
        if !matches!(outcome, Outcome::Ok { .. }) {
            sender = None;
        }
        let end = Instant::now();
        samples.push(Sample {
            at: end - epoch,
            due: begin - epoch,
            latency: end - begin,
            outcome,
            reused,
        });
    }
    samples
}

/// What an HTTP/2 request's error says about the request.
fn h2_failure(e: &hyper::Error) -> Outcome {
    use std::error::Error as _;
    if e.is_canceled() {
        return Outcome::Unsent;
    }
    let go_away = e
        .source()
        .and_then(|s| s.downcast_ref::<h2::Error>())
        .is_some_and(h2::Error::is_go_away);
    if go_away {
        Outcome::GoAway
    } else {
        Outcome::Reset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traffic(shape: Shape, rate: Option<f64>) -> Traffic {
        Traffic {
            addr: "127.0.0.1:1".parse().unwrap(),
            shape,
            clients: 4,
            timeout: Duration::from_secs(1),
            rate,
        }
    }

    #[test]
    fn open_loop_clients_share_the_rate_and_spread_their_starts() {
        let start = Instant::now();
        let load = traffic(Shape::KeepAlive, Some(400.0));
        // 4 clients at 400/s in all: each every 10 ms, starting 2.5 ms apart.
        let (every, first) = load.schedule(1, start).unwrap();
        assert_eq!(every, Duration::from_millis(10));
        assert_eq!(first - start, Duration::from_micros(2500));
        assert!(traffic(Shape::KeepAlive, None).schedule(1, start).is_none());
        assert!(
            traffic(Shape::SlowFirstByte, Some(400.0))
                .schedule(1, start)
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_late_request_is_timed_from_when_it_was_due() {
        // 4 clients at 40/s in all: each every 100 ms. Its schedule began
        // 350 ms ago (a stall held it up): the four requests due
        // meanwhile go at once, each timed from its own due time.
        let start = Instant::now() - Duration::from_millis(350);
        let mut pacer = Pacer {
            schedule: traffic(Shape::KeepAlive, Some(40.0)).schedule(0, start),
        };
        for k in 0..4 {
            let due = start + Duration::from_millis(100 * k);
            assert_eq!(pacer.due().await, (due, false));
        }
        // Back on schedule: the next, due 50 ms from now, waits for its
        // time, and is timed from when the timer woke it, up to the
        // timer's rounding after its due time.
        let due = start + Duration::from_millis(400);
        let (begin, waited) = pacer.due().await;
        assert!(waited);
        assert!(begin >= due, "{:?}", begin - start);
        assert!(begin <= due + TIMER_SLACK, "{:?}", begin - start);
        assert!(Instant::now() >= begin);
    }

    #[tokio::test]
    async fn a_stop_leaves_a_late_client_the_requests_due_before_it() {
        // Each every 100 ms, its schedule begun 350 ms ago: the four due
        // meanwhile are still sent after a stop now, the next one not.
        let start = Instant::now() - Duration::from_millis(350);
        let mut pacer = Pacer {
            schedule: traffic(Shape::KeepAlive, Some(40.0)).schedule(0, start),
        };
        let stop = StopAt::default();
        assert!(!stop.past(Instant::now()), "not stopped yet");
        stop.0.set(Instant::now()).unwrap();
        let mut sent = 0;
        loop {
            pacer.due().await;
            if stop.past(pacer.scheduled()) {
                break;
            }
            sent += 1;
        }
        assert_eq!(sent, 4);
        // Closed loop: each request is due as it goes, after the stop.
        let mut closed = Pacer { schedule: None };
        closed.due().await;
        assert!(stop.past(closed.scheduled()));
        // What is still owed a request timeout after the stop is given up.
        let timeout = Duration::from_millis(20);
        assert!(!stop.given_up(Duration::from_secs(60)));
        tokio::time::sleep(timeout).await;
        assert!(stop.given_up(timeout));
    }

    #[tokio::test]
    async fn a_wake_up_the_timer_made_late_is_timed_from_when_it_was_due() {
        // 4 clients at 40/s in all: the first's second request is due
        // 100 ms after its first. A stall (this thread blocked, as a busy machine holds the
        // runtime up) wakes it 200 ms late: timed from its due time and
        // the timer's rounding, not from the wake-up.
        let start = Instant::now();
        let mut pacer = Pacer {
            schedule: traffic(Shape::KeepAlive, Some(40.0)).schedule(0, start),
        };
        assert_eq!(pacer.due().await, (start, false));
        let due = start + Duration::from_millis(100);
        let waiting = pacer.due();
        tokio::pin!(waiting);
        // Polled once, so that it sleeps, then held up past its time.
        assert!(futures_poll_once(waiting.as_mut()).await.is_none());
        std::thread::sleep(Duration::from_millis(300));
        let (begin, waited) = waiting.await;
        assert!(waited);
        assert_eq!(begin, due + TIMER_SLACK);
    }

    /// Polls `future` once: its output if it was ready.
    async fn futures_poll_once<F: std::future::Future + Unpin>(future: F) -> Option<F::Output> {
        let mut future = future;
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut future).poll(cx) {
                std::task::Poll::Ready(out) => Some(out),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}
