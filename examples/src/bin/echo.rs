//! A line echo server on plain tokio: every line a client sends comes back.
//!
//! It shows what a server does on lameduck without a framework's graceful
//! shutdown: stop accepting, let each open connection finish the line it is
//! in the middle of, and return from `main` once they are all closed.
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
//! A connection open across a reload is closed by the old child once its
//! current line is echoed, or after half a second without one (or when its
//! client closes it); reconnecting reaches the new child. `-echo=127.0.0.1:9007` listens elsewhere.

use std::io;
use std::time::Duration;

use littleboss::Context;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

#[littleboss::main(name = "littleboss-echo", listener(echo = "tcp:127.0.0.1:7007"))]
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

    // Lameduck: accept no more (the socket stays open in the supervisor,
    // for the next child) and wait for the open connections to finish.
    drop(listener);
    eprintln!(
        "echo: pid {pid} lameduck, {} connection(s) open",
        connections.len()
    );
    while let Some(done) = connections.join_next().await {
        report(done);
    }
    eprintln!("echo: pid {pid} done");
    Ok(())
}

/// How long an idle connection may still send a line once lameduck began.
/// A client that connected an instant before lameduck has its first line
/// in flight: closing at once would drop it.
const IDLE_GRACE: Duration = Duration::from_millis(500);

/// Echoes lines until the client closes the connection, or lameduck begins
/// and the current line (or, on an idle connection, the next line within
/// [`IDLE_GRACE`]) has been echoed.
async fn echo(stream: TcpStream, ctx: Context) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    let lameduck = ctx.lameduck();
    tokio::pin!(lameduck);
    let grace = tokio::time::sleep(Duration::MAX);
    tokio::pin!(grace);
    let mut winding_down = false;
    loop {
        // `read_until` keeps what it has read in `line` when another branch
        // wins, so a line begun before lameduck is finished after it.
        tokio::select! {
            read = reader.read_until(b'\n', &mut line) => {
                if read? == 0 {
                    // The client closed; echo a last unterminated line.
                    return writer.write_all(&line).await;
                }
                writer.write_all(&line).await?;
                line.clear();
                if winding_down {
                    return Ok(());
                }
            }
            () = &mut lameduck, if !winding_down => {
                winding_down = true;
                grace.as_mut().reset(tokio::time::Instant::now() + IDLE_GRACE);
            }
            () = &mut grace, if line.is_empty() => return Ok(()),
        }
    }
}

fn report(done: Result<io::Result<()>, tokio::task::JoinError>) {
    match done {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("echo: connection: {e}"),
        Err(e) => eprintln!("echo: connection task: {e}"),
    }
}
