//! A small HTTP load generator that keeps an exact account of every request.
//!
//! Each worker sends `GET /` over and over, either on a fresh TCP
//! connection per request (which the client resets once the response is
//! in, so that no TIME_WAIT accumulates) or on one keep-alive connection
//! (reconnecting after an error or a `Connection: close`). Every request ends in exactly
//! one [`Outcome`]; nothing is sampled or estimated.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx response, served by this pid (from `x-littleboss-pid`).
    Ok { pid: u32 },
    /// The connection was refused: nobody was listening.
    Refused,
    /// The connection was reset (or the write found it broken).
    Reset,
    /// The connection closed before a whole response arrived.
    Eof,
    /// No whole response within the request timeout.
    Timeout,
    /// A response that was not 2xx.
    Status { code: u16 },
    /// Any other error (the kind is printed).
    Other,
    /// HTTP/2: the server's GOAWAY refused the stream, so it was not
    /// processed (RFC 9113 §6.8); clients retry such a request.
    GoAway,
    /// HTTP/2: the client cancelled the request unsent, its connection
    /// having closed (after a GOAWAY) between the check and the send.
    Unsent,
}

impl Outcome {
    /// The failure class as a word, for tables; `None` for success.
    pub fn failure(self) -> Option<&'static str> {
        Some(match self {
            Outcome::Ok { .. } => return None,
            Outcome::Refused => "refused",
            Outcome::Reset => "reset",
            Outcome::Eof => "eof",
            Outcome::Timeout => "timeout",
            Outcome::Status { .. } => "non_2xx",
            Outcome::Other => "other",
            Outcome::GoAway => "goaway",
            Outcome::Unsent => "unsent",
        })
    }
}

/// One finished request.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When it finished, from the start of the run.
    pub at: Duration,
    pub latency: Duration,
    pub outcome: Outcome,
}

/// Connection handling of a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A new TCP connection for every request.
    NewConnection,
    /// Requests one after another on a kept-alive connection.
    KeepAlive,
}

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub addr: SocketAddr,
    pub mode: Mode,
    /// Concurrent workers.
    pub workers: usize,
    /// A request without a whole response by then is a [`Outcome::Timeout`].
    pub timeout: Duration,
}

/// A running load; [`Running::stop`] ends it and returns every sample.
#[derive(Debug)]
pub struct Running {
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<Vec<Sample>>>,
}

impl Load {
    /// Starts the workers on the current runtime.
    pub fn start(self, epoch: Instant) -> Running {
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..self.workers)
            .map(|_| tokio::spawn(worker(self, epoch, stop.clone())))
            .collect();
        Running { stop, workers }
    }
}

impl Running {
    /// Stops the workers after their current request; all samples, in no
    /// particular order.
    pub async fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::SeqCst);
        let mut samples = Vec::new();
        for worker in self.workers {
            samples.extend(worker.await.expect("load worker"));
        }
        samples
    }
}

pub(crate) async fn worker(load: Load, epoch: Instant, stop: Arc<AtomicBool>) -> Vec<Sample> {
    let mut samples = Vec::with_capacity(1 << 16);
    let mut conn: Option<TcpStream> = None;
    while !stop.load(Ordering::Relaxed) {
        let begin = Instant::now();
        let outcome = match tokio::time::timeout(load.timeout, request(load, &mut conn)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Timeout,
        };
        if !matches!(outcome, Outcome::Ok { .. }) || load.mode == Mode::NewConnection {
            conn = None;
        }
        let end = Instant::now();
        samples.push(Sample {
            at: end - epoch,
            latency: end - begin,
            outcome,
        });
    }
    samples
}

/// One request, on `conn` (keep-alive, opened if `None`) or on a fresh
/// connection.
async fn request(load: Load, conn: &mut Option<TcpStream>) -> Outcome {
    if conn.is_none() {
        match TcpStream::connect(load.addr).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                *conn = Some(stream);
            }
            Err(e) => return classify(&e),
        }
    }
    let stream = conn.as_mut().expect("connected above");
    // No `Connection: close` even for a new connection per request: the
    // client closes it after the response (see below).
    if let Err(e) = stream
        .write_all(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
        .await
    {
        return classify(&e);
    }
    let response = read_response(stream).await;
    if load.mode == Mode::NewConnection && response.is_ok() {
        // Close with a reset once the whole response is in: no TIME_WAIT on
        // either side. Hundreds of thousands of them otherwise fill the
        // kernel's table and slow down whatever phase is measured next.
        let _ = stream.set_zero_linger();
    }
    if let Ok(Response { close: true, .. }) = response {
        // The server ends this connection: reconnect for the next request,
        // as any HTTP client does.
        *conn = None;
    }
    match response {
        Ok(Response { code, pid, .. }) if (200..300).contains(&code) => Outcome::Ok { pid },
        Ok(Response { code, .. }) => Outcome::Status { code },
        Err(e) => classify(&e),
    }
}

pub(crate) fn classify(e: &io::Error) -> Outcome {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => Outcome::Refused,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::ConnectionAborted => Outcome::Reset,
        io::ErrorKind::UnexpectedEof => Outcome::Eof,
        _ => {
            eprintln!("load: unclassified error: {e} ({:?})", e.kind());
            Outcome::Other
        }
    }
}

/// What the load generator keeps of a response.
pub(crate) struct Response {
    pub(crate) code: u16,
    /// From `x-littleboss-pid` (required of a 2xx response; 0 in another
    /// without it).
    pub(crate) pid: u32,
    /// `Connection: close`: the server ends the connection after it.
    pub(crate) close: bool,
}

/// Reads one response: the head, then exactly `Content-Length` bytes.
pub(crate) async fn read_response(stream: &mut TcpStream) -> io::Result<Response> {
    let mut buf = Vec::with_capacity(512);
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return Err(io::Error::other("response head too large"));
        }
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(io::Error::other)?;
    let mut lines = head.split("\r\n");
    let code = lines
        .next()
        .and_then(|status| status.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::other("no status line"))?;
    let mut length = None;
    let mut pid = None;
    let mut close = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().map_err(io::Error::other)?);
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        } else if name.eq_ignore_ascii_case("x-littleboss-pid") {
            pid = Some(value.parse::<u32>().map_err(io::Error::other)?);
        }
    }
    // Every server measured sends both with an answer: one without is
    // garbled, a failure, not a success of an unknown child.
    let answered = (200..300).contains(&code);
    let (length, pid) = match (length, pid) {
        (Some(length), Some(pid)) => (length, pid),
        _ if answered => {
            return Err(io::Error::other(
                "a 2xx response without Content-Length or x-littleboss-pid",
            ));
        }
        (length, _) => (length.unwrap_or(0), 0),
    };
    let mut have = buf.len() - head_end;
    while have < length {
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        have += n;
    }
    // Nothing was asked for past it (one request at a time).
    if have > length {
        return Err(io::Error::other("bytes past the response's Content-Length"));
    }
    Ok(Response { code, pid, close })
}

/// The latency [`percentiles`] gives a failed request: above any other.
pub const FAILED: u64 = u64::MAX;

/// A latency from [`percentiles`] in milliseconds, two decimals, or
/// "failed" where it landed on a failed request.
///
/// ```
/// assert_eq!(examples::load::ms(1500), "1.50");
/// assert_eq!(examples::load::ms(examples::load::FAILED), "failed");
/// ```
pub fn ms(us: u64) -> String {
    match us {
        FAILED => "failed".to_owned(),
        us => format!("{:.2}", us as f64 / 1e3),
    }
}

/// Failed requests by class.
pub fn failures(samples: &[Sample]) -> std::collections::BTreeMap<&'static str, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for s in samples {
        if let Some(class) = s.outcome.failure() {
            *counts.entry(class).or_default() += 1;
        }
    }
    counts
}

/// Latency percentiles in microseconds: (p50, p99, p99.9, max). A failed
/// request counts as slower than any answered one, [`FAILED`]: a
/// percentile that lands on one says so rather than describing the
/// survivors only.
pub fn percentiles(samples: &[Sample]) -> (u64, u64, u64, u64) {
    let mut micros: Vec<u64> = samples
        .iter()
        .map(|s| match s.outcome.failure() {
            None => s.latency.as_micros() as u64,
            Some(_) => FAILED,
        })
        .collect();
    if micros.is_empty() {
        return (0, 0, 0, 0);
    }
    micros.sort_unstable();
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize];
    (at(0.50), at(0.99), at(0.999), *micros.last().unwrap())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `read_response` makes of `reply`, sent by a server on
    /// 127.0.0.1 to a request it does not read.
    async fn read(reply: &'static [u8]) -> io::Result<Response> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await?;
            conn.write_all(reply).await?;
            // Open until the client has read: an end of file is not the
            // reply's to give.
            let mut rest = Vec::new();
            conn.read_to_end(&mut rest).await.map(drop)
        });
        let mut client = TcpStream::connect(addr).await?;
        let response = read_response(&mut client).await;
        drop(client);
        server.await.expect("the server task")?;
        response
    }

    #[tokio::test]
    async fn only_a_whole_answer_of_a_known_child_counts() {
        let whole =
            read(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-littleboss-pid: 7\r\n\r\nok").await;
        assert_eq!(whole.map(|r| (r.code, r.pid)).unwrap(), (200, 7));
        // Garbled: no child named, no length, bytes past the length.
        let garbled: [&'static [u8]; 3] = [
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\nx-littleboss-pid: 7\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-littleboss-pid: 7\r\n\r\nokHTTP/1.1",
        ];
        for reply in garbled {
            assert!(
                read(reply).await.is_err(),
                "{}",
                String::from_utf8_lossy(reply)
            );
        }
        // An error status need not name its child.
        let unavailable =
            read(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n").await;
        assert_eq!(unavailable.map(|r| (r.code, r.pid)).unwrap(), (503, 0));
    }
}
