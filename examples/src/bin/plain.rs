//! An HTTP/1.1 server by hand on a plain tokio accept loop, drained the way
//! the README's "Writing a server by hand" says: the listener stops
//! yielding connections by itself when draining begins; from then on every
//! response says `Connection: close`; at lameduck (a grace later) a
//! connection that has not begun a request is closed, one in the middle of
//! a request finishes it first; `main` returns when they are all done or
//! the lameduck timeout is about to end. Lameduck comes early when every
//! connection has closed (littleboss sees that), so an old child with
//! nothing open goes at once. A last response's close lingers (the
//! writing half shut, what the client still sends read until it closes),
//! and a request begun must arrive within 5 s. Five things it leaves out,
//! for a simpler example. A kept-alive connection idle between requests
//! waits for its next one without limit (a server facing the internet
//! closes it after a minute or so: a client gone without a word holds a
//! descriptor until the next reload otherwise). Nor is the writing of a
//! response bounded: a client that sends requests without reading the
//! answers holds its connection until the drain budget cuts it. And
//! three that section
//! describes: it does not defer accepts until a client speaks (its
//! grace, 3.5 s, outlasts the benchmark's slowest first byte instead); it
//! closes kept-alive
//! connections on their next response at once rather than spread over
//! the grace; and at lameduck it closes a connection with nothing read
//! at once, without looking again for a request just arriving.
//!
//! `POST` answers with the length of the body, any other method with a
//! greeting, and each names the process in `x-littleboss-pid`. Only what the
//! benchmark sends is understood (`Content-Length` bodies): a chunked
//! body is answered 501, a head it cannot read 400, and the connection
//! closed.
//!
//! ```text
//! cargo build -p examples --bin plain
//! target/debug/plain -littleboss=start &
//! curl -i http://127.0.0.1:8082/
//! target/debug/plain -littleboss=reload
//! ```

use std::io;
use std::time::Duration;

use littleboss::Context;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::task::JoinSet;

#[littleboss::main(
    name = "littleboss-plain",
    listener(http = "tcp:127.0.0.1:8082"),
    lameduck = "10s",
    grace = "3500ms"
)]
async fn main(ctx: Context) -> io::Result<()> {
    let listener = ctx.tcp("http").expect("the http listener is off (-http=)");
    let pid = std::process::id();
    examples::log_line(format!(
        "plain: pid {pid} serving http://{}/",
        listener.local_addr()?
    ));

    let mut connections = JoinSet::new();
    let lameduck = ctx.lameduck();
    tokio::pin!(lameduck);
    loop {
        tokio::select! {
            // Yields nothing once draining has begun (at a stop, only what
            // was queued): no need to stop it.
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(connection(stream, ctx.clone()));
                }
                Err(e) => {
                    // Out of fds, say: wait rather than spin.
                    examples::log_line(format!("plain: accept: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(done) = connections.join_next() => report(done),
            // A grace after draining began, or once no connection is open.
            () = &mut lameduck => break,
        }
    }
    drop(listener);

    // Each connection closes itself at its next idle moment; wait for
    // them, but return before the supervisor's kill.
    let budget = ctx.drain_budget();
    let all_done = async {
        while let Some(done) = connections.join_next().await {
            report(done);
        }
    };
    if tokio::time::timeout(budget, all_done).await.is_err() {
        examples::log_line(format!(
            "plain: pid {pid}: {} connection(s) cut",
            connections.len()
        ));
    }
    examples::log_line(format!("plain: pid {pid} drained, exiting"));
    Ok(())
}

/// Says how a connection's task ended, when not well: a client's bad
/// request (a line too long, a bad `Content-Length`), or a panic. Not a
/// client that went away (a reset, a close mid-request), which clients
/// do all the time (a benchmark's, after every response).
fn report(done: Result<io::Result<()>, tokio::task::JoinError>) {
    use io::ErrorKind::{BrokenPipe, ConnectionReset, UnexpectedEof};
    match done {
        Ok(Ok(())) => {}
        Ok(Err(e)) if matches!(e.kind(), ConnectionReset | BrokenPipe | UnexpectedEof) => {}
        Ok(Err(e)) => examples::log_line(format!("plain: connection: {e}")),
        Err(e) => examples::log_line(format!("plain: connection task: {e}")),
    }
}

/// Serves requests on one connection until the client closes it, a
/// response says `Connection: close`, or lameduck finds it idle.
async fn connection(stream: TcpStream, ctx: Context) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    loop {
        // Idle until the next request's first byte. At lameduck a
        // connection still idle is closed: those accepted just before
        // draining have had the grace to speak, and keep-alive clients
        // have been told `Connection: close` since draining began.
        let lameduck = ctx.lameduck();
        let more = tokio::select! {
            biased;
            buffered = read.fill_buf() => !buffered?.is_empty(),
            () = lameduck => false,
        };
        if !more {
            return Ok(());
        }
        // A request begun is finished, within a bound from its first
        // byte: a client stalled mid-request must not hold this process to
        // the lameduck timeout.
        let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
        let head = tokio::time::timeout_at(deadline, read_head(&mut read)).await;
        let request = match head {
            Ok(Ok(Some(request))) => request,
            Ok(Ok(None)) => return Ok(()),
            Ok(Err(e)) if e.kind() == io::ErrorKind::InvalidData => {
                // Not understood: said so, rather than misread.
                let refusal = e.get_ref().and_then(|e| e.downcast_ref::<Refusal>());
                let status = refusal.map_or("400 Bad Request", |r| r.status);
                let answer =
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                write.write_all(answer.as_bytes()).await?;
                linger(&ctx, read, write).await;
                return Err(e);
            }
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(io::ErrorKind::TimedOut.into()),
        };
        if request.expects_continue && request.body_len > 0 {
            write.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        let body = tokio::time::timeout_at(deadline, read_body(&mut read, request.body_len));
        body.await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        let body = match request.method.as_str() {
            "POST" => format!(
                "got {} bytes in pid {}\n",
                request.body_len,
                std::process::id()
            ),
            _ => format!("hello from littleboss-plain, pid {}\n", std::process::id()),
        };
        // Decided when the response is written: draining may have begun
        // while the request was read.
        let close = request.close || ctx.is_draining();
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nx-littleboss-pid: {}\r\n{}\r\n",
            body.len(),
            std::process::id(),
            if close { "connection: close\r\n" } else { "" },
        );
        // A response to `HEAD` is its head alone.
        let body = if request.method == "HEAD" { "" } else { &body };
        write.write_all(format!("{head}{body}").as_bytes()).await?;
        if close {
            linger(&ctx, read, write).await;
            return Ok(());
        }
    }
}

/// How long a request (head and body) may take to arrive once its first
/// byte has.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request is refused unread, and the status that says so.
#[derive(Debug)]
struct Refusal {
    status: &'static str,
    why: &'static str,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.why)
    }
}

impl std::error::Error for Refusal {}

/// A request refused with 400 for `why`.
fn bad(why: &'static str) -> io::Error {
    refused("400 Bad Request", why)
}

/// A request refused with `status` for `why`.
fn refused(status: &'static str, why: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, Refusal { status, why })
}

/// Closes the connection as HTTP/1 asks after a last response: the
/// writing half first, then what the client still sends is read and
/// dropped until it closes, for a fraction of the drain budget (a
/// quarter, at most 1 s: 1 s here). Closed at once
/// with bytes unread (a pipelined request), the socket would be reset,
/// and the reset may take the response just written with it.
async fn linger(ctx: &Context, mut read: BufReader<OwnedReadHalf>, mut write: OwnedWriteHalf) {
    let _ = write.shutdown().await;
    let mut sink = tokio::io::sink();
    let most = Duration::from_secs(1).min(ctx.drain_budget() / 4);
    let _ = tokio::time::timeout(most, tokio::io::copy(&mut read, &mut sink)).await;
}

struct Request {
    method: String,
    body_len: usize,
    close: bool,
    /// `Expect: 100-continue`: the client waits for a go-ahead before
    /// it sends the body.
    expects_continue: bool,
}

/// The longest request line or header, and the most headers, read: a
/// client must not make the server buffer without bound.
const MAX_LINE: u64 = 8 * 1024;
const MAX_HEADERS: usize = 100;

/// One line of the head, at most [`MAX_LINE`] bytes.
async fn read_line(
    read: &mut (impl AsyncBufReadExt + Unpin),
    line: &mut String,
) -> io::Result<usize> {
    let n = (&mut *read).take(MAX_LINE).read_line(line).await?;
    if n > 0 && !line.ends_with('\n') && n as u64 == MAX_LINE {
        return Err(bad("a request line or header too long"));
    }
    Ok(n)
}

/// Reads a request head; `None` at a clean end of the connection. What
/// this server does not understand is an `InvalidData` error, not read
/// some other way: a chunked body (whose chunks would be read as the next
/// request), a header line without a colon or whose name is no token (a
/// space before the colon, a line of blanks, a folded line: read loosely,
/// `Content-Length : 5` would leave the body to be read as the next
/// request, which a proxy in front reads as this one's body, RFC 9112
/// §5.1), a `Content-Length` that is not digits alone or is given twice,
/// differently.
async fn read_head(read: &mut (impl AsyncBufReadExt + Unpin)) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if read_line(read, &mut line).await? == 0 {
        return Ok(None);
    }
    let method = line.split(' ').next().unwrap_or_default().to_owned();
    let mut body_len = None;
    let mut expects_continue = false;
    // An HTTP/1.0 client's connection closes after the answer, as 1.0's
    // does unless keep-alive is asked for, which this server does not
    // take up (it would have to answer in 1.0's terms).
    let http10 = line.trim_end().ends_with("HTTP/1.0");
    let mut close = http10;
    for headers in 1.. {
        line.clear();
        if read_line(read, &mut line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        // The head ends at an empty line, not one of blanks.
        let header = line.strip_suffix('\n').unwrap_or(&line);
        let header = header.strip_suffix('\r').unwrap_or(header);
        if header.is_empty() {
            break;
        }
        if headers > MAX_HEADERS {
            return Err(bad("too many headers"));
        }
        let Some((name, value)) = header.split_once(':') else {
            return Err(bad("a header line without a colon"));
        };
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(bad("a header name that is no token"));
        }
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
            let len: usize = (value.parse().ok())
                .filter(|_| digits)
                .ok_or_else(|| bad("a Content-Length that is not a number"))?;
            if body_len.is_some_and(|before| before != len) {
                return Err(bad("two different Content-Length headers"));
            }
            body_len = Some(len);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(refused(
                "501 Not Implemented",
                "a Transfer-Encoding (chunked bodies are not read here)",
            ));
        } else if name.eq_ignore_ascii_case("connection") {
            // A list of tokens (`keep-alive, close`).
            close |= (value.split(',')).any(|token| token.trim().eq_ignore_ascii_case("close"));
        } else if name.eq_ignore_ascii_case("expect") {
            // An HTTP/1.0 client's is to be ignored: it would take the
            // `100` for the answer.
            expects_continue = !http10 && value.eq_ignore_ascii_case("100-continue");
        }
    }
    Ok(Some(Request {
        method,
        body_len: body_len.unwrap_or(0),
        close,
        expects_continue,
    }))
}

/// Whether `b` may be in a header's name (RFC 9110 §5.6.2's `tchar`).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Reads (and drops) a body of `len` bytes.
async fn read_body(read: &mut (impl AsyncBufReadExt + Unpin), len: usize) -> io::Result<()> {
    let got = tokio::io::copy(&mut read.take(len as u64), &mut tokio::io::sink()).await?;
    if got as usize != len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}
