//! An HTTP/1.1 server by hand on a plain tokio accept loop, drained the way
//! the README's "Writing a server by hand" says: the listener stops
//! yielding connections by itself when draining begins; from then on every
//! response says `Connection: close`; at lameduck (a grace later) a
//! connection that has not begun a request is closed, one in the middle of
//! a request finishes it first; `main` returns when they are all done or
//! the lameduck timeout is about to end. Lameduck comes early when every
//! connection has closed (littleboss sees that), so an old child with
//! nothing open goes at once. Two of that section's steps it leaves out,
//! for a simpler example: it does not defer accepts until a client speaks
//! (its grace, 3.5 s, outlasts the benchmark's slowest first byte
//! instead), and it closes kept-alive connections on their next response
//! at once rather than spread over the grace.
//!
//! `GET` answers with a greeting, `POST` with the length of the body, and
//! every response names the process in `x-littleboss-pid`. Only what the
//! benchmark sends is understood (`Content-Length` bodies, no chunked
//! encoding).
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
        let Some(request) = read_request(&mut read).await? else {
            return Ok(());
        };
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
        write.write_all(format!("{head}{body}").as_bytes()).await?;
        if close {
            return Ok(());
        }
    }
}

struct Request {
    method: String,
    body_len: usize,
    close: bool,
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
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "request line too long",
        ));
    }
    Ok(n)
}

/// Reads a request head and its `Content-Length` body; `None` at a clean
/// end of the connection.
async fn read_request(read: &mut (impl AsyncBufReadExt + Unpin)) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if read_line(read, &mut line).await? == 0 {
        return Ok(None);
    }
    let method = line.split(' ').next().unwrap_or_default().to_owned();
    let mut body_len = 0;
    // An HTTP/1.0 client's connection closes after the answer, as 1.0's
    // does unless keep-alive is asked for, which this server does not
    // take up (it would have to answer in 1.0's terms).
    let mut close = line.trim_end().ends_with("HTTP/1.0");
    for headers in 0.. {
        if headers > MAX_HEADERS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "too many headers",
            ));
        }
        line.clear();
        if read_line(read, &mut line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            body_len = value.parse().map_err(io::Error::other)?;
        } else if name.eq_ignore_ascii_case("connection") {
            // A list of tokens (`keep-alive, close`).
            close |= (value.split(',')).any(|token| token.trim().eq_ignore_ascii_case("close"));
        }
    }
    let mut body = read.take(body_len as u64);
    let got = tokio::io::copy(&mut body, &mut tokio::io::sink()).await?;
    if got as usize != body_len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some(Request {
        method,
        body_len,
        close,
    }))
}
