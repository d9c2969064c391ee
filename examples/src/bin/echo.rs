//! A line echo server on plain tokio: every line a client sends comes back.
//!
//! It shows what a server does on lameduck without a framework's graceful
//! shutdown: let each open connection finish the line it is in the middle
//! of (and those that came with it), close it so that every echo written
//! reaches a client that reads to the end and closes, and return from
//! `main` once they are all closed. (Accepting stops by itself: the
//! listener `ctx.tcp` gives yields nothing once draining has begun, a
//! grace before lameduck.)
//!
//! ```text
//! cargo build -p examples --bin echo
//! target/debug/echo -littleboss=start &           # supervisor + first child
//! nc 127.0.0.1 7007                               # type lines; they come back
//! target/debug/echo -littleboss=reload            # new connections go to child 2
//! target/debug/echo -littleboss=status
//! target/debug/echo -littleboss=stop
//! ```
//!
//! A connection open across a reload is closed by the old child at
//! lameduck if idle (lameduck comes a grace after draining began: a client
//! that connected just before has had the grace to send its first line),
//! or once its current line is echoed: its writing half shut, then the
//! client's close waited for. One with a line that does not end, whose
//! client stops reading, or that does not close once told the end, is cut
//! shortly before the supervisor would kill the old child. Reconnecting
//! reaches the new child.
//! `-echo=127.0.0.1:9007` listens elsewhere.

use std::io;
use std::time::Duration;

use littleboss::Context;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::task::JoinSet;

// A lameduck of 5 s: a client streaming lines has the drain budget (3.75 s)
// to read what was echoed and close, not the default 0.8 s.
#[littleboss::main(
    name = "littleboss-echo",
    listener(echo = "tcp:127.0.0.1:7007"),
    lameduck = "5s"
)]
async fn main(ctx: Context) -> io::Result<()> {
    let listener = ctx.tcp("echo").expect("the echo listener is off (-echo=)");
    let pid = std::process::id();
    println!("echo: pid {pid} listening on {}", listener.local_addr()?);

    let mut connections = JoinSet::new();
    let lameduck = ctx.lameduck();
    tokio::pin!(lameduck);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(echo(stream, ctx.clone()));
                }
                Err(e) => {
                    // Out of fds, say: wait rather than spin.
                    eprintln!("echo: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(done) = connections.join_next() => report(done),
            () = &mut lameduck => break,
        }
    }

    // Lameduck: the listener yields nothing any more (at a reload, the
    // socket stays open in the supervisor, for the next child); wait for
    // the open connections to finish.
    drop(listener);
    eprintln!(
        "echo: pid {pid} lameduck, {} connection(s) open",
        connections.len()
    );
    // Return before the supervisor's kill, cutting what is still open (a
    // half-typed line, a client that stopped reading or does not close):
    // dropping the set aborts its tasks.
    let budget = ctx.drain_budget();
    let all_done = async {
        while let Some(done) = connections.join_next().await {
            report(done);
        }
    };
    if tokio::time::timeout(budget, all_done).await.is_err() {
        eprintln!("echo: pid {pid}: {} connection(s) cut", connections.len());
    }
    eprintln!("echo: pid {pid} done");
    Ok(())
}

/// The longest line echoed; a longer one closes the connection rather
/// than grow the buffer without bound.
const MAX_LINE: usize = 64 * 1024;

/// Echoes lines until the client closes the connection, or lameduck finds
/// it between lines.
async fn echo(stream: TcpStream, ctx: Context) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    // Each line may take `MAX_LINE` bytes and its newline, no more.
    let limit = MAX_LINE as u64 + 1;
    let mut reader = BufReader::new(reader).take(limit);
    let mut line = Vec::new();
    let lameduck = ctx.lameduck();
    tokio::pin!(lameduck);
    let mut lameduck_came = false;
    loop {
        // `read_until` keeps what it has read in `line` when another branch
        // wins, so a line begun before lameduck is finished after it.
        tokio::select! {
            // A line that has come is echoed before lameduck is looked at.
            biased;
            read = reader.read_until(b'\n', &mut line) => {
                if read? == 0 {
                    // The client closed; echo a last unterminated line.
                    return writer.write_all(&line).await;
                }
                if line.len() > MAX_LINE && !line.ends_with(b"\n") {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
                }
                if !line.ends_with(b"\n") {
                    continue; // more of the line to come
                }
                writer.write_all(&line).await?;
                line.clear();
                reader.set_limit(limit);
                // What the client sent with it, read already, is echoed
                // too (a line begun among it finished): closing would
                // drop it unsaid.
                let more_read = !reader.get_ref().buffer().is_empty();
                if ctx.is_lameduck() && !more_read {
                    linger(reader.into_inner(), writer).await;
                    return Ok(());
                }
            }
            // Between lines only: one begun is finished first. (Whether
            // one has begun is known only now: `read_until` fills `line`
            // without returning until the newline.)
            () = &mut lameduck, if !lameduck_came => {
                if line.is_empty() {
                    linger(reader.into_inner(), writer).await;
                    return Ok(());
                }
                lameduck_came = true;
            }
        }
    }
}

/// Closes a connection as TCP would have it with the client perhaps
/// still sending: the writing half shut (the echoes written, then the
/// end, go out as the client reads them), then what the client sends read
/// and dropped until it closes too, which a client reading to the end
/// does (`main`'s drain budget cuts one that does not). Dropped with bytes
/// unread, the socket would send a reset instead, and the kernel throw
/// away the echoes not yet sent. A client gone meanwhile (a reset) is no
/// error of this connection's to report.
async fn linger(mut reader: BufReader<OwnedReadHalf>, mut writer: OwnedWriteHalf) {
    let _ = writer.shutdown().await;
    let _ = tokio::io::copy(&mut reader, &mut tokio::io::sink()).await;
}

fn report(done: Result<io::Result<()>, tokio::task::JoinError>) {
    match done {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("echo: connection: {e}"),
        Err(e) => eprintln!("echo: connection task: {e}"),
    }
}
