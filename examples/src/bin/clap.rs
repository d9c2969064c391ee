//! A program with its own argument parser (clap) under littleboss.
//!
//! With `help = false` littleboss leaves `-h`/`--help` to the program (but
//! with `-littleboss=stop` and `status`, which it always answers); clap
//! answers it and appends littleboss's flags (from [`Context::flags_help`])
//! after its own. littleboss takes its flags (`-littleboss=...`, `-greet=...`)
//! off the command line first, so [`Context::args_os`] holds only the
//! program's arguments, ready for clap.
//!
//! It serves something trivial: each connection to the `greet` listener
//! gets the `--greeting` and is closed.
//!
//! ```text
//! cargo build -p examples --bin clap
//! target/debug/clap --help                        # clap's options, then littleboss's flags
//! target/debug/clap --greeting hi -littleboss=start &
//! nc 127.0.0.1 7008                               # prints "hi"
//! target/debug/clap -littleboss=reload            # a new child, same command line
//! target/debug/clap -littleboss=status
//! target/debug/clap -littleboss=stop
//! ```
//!
//! Every child runs with the command line given to `start` (minus the mode
//! flag). A plain `reload` keeps the serving child's arguments; one with
//! arguments of its own (`-littleboss=reload --greeting bye`) runs the new
//! child with exactly those.
//!
//! [`Context::flags_help`]: littleboss::Context::flags_help
//! [`Context::args_os`]: littleboss::Context::args_os

use std::io;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser};
use tokio::io::AsyncWriteExt;

/// Greets every TCP connection, reloadable without a refused connection.
#[derive(Parser)]
#[command(name = "clap", version)]
struct Cli {
    /// What to write to each connection.
    #[arg(long, default_value = "hello")]
    greeting: String,
}

#[littleboss::main(
    name = "littleboss-clap",
    listener(greet = "tcp:127.0.0.1:7008"),
    help = false
)]
async fn main(ctx: littleboss::Context) -> io::Result<()> {
    let command = Cli::command().after_help(format!("littleboss flags:\n{}", ctx.flags_help()));
    let cli = Cli::from_arg_matches(&command.get_matches_from(ctx.args_os()))
        .unwrap_or_else(|e| e.exit());

    let listener = ctx
        .tcp("greet")
        .expect("the greet listener is off (-greet=)");
    let pid = std::process::id();
    println!(
        "clap: pid {pid} greeting {:?} on {}",
        cli.greeting,
        listener.local_addr()?
    );

    let greeting = format!("{}\n", cli.greeting);
    // Within the drain budget, so that a linger under way at lameduck
    // ends on its own rather than cut by the budget below.
    let linger = Duration::from_secs(1).min(ctx.drain_budget() / 4);
    let lameduck = ctx.lameduck();
    tokio::pin!(lameduck);
    let mut writing = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                // Written in a task of its own: a long `--greeting` to a
                // client that never reads would otherwise hold up the loop,
                // its accepts and its lameduck.
                Ok((mut stream, _peer)) => {
                    let greeting = greeting.clone();
                    writing.spawn(async move {
                        if let Err(e) = stream.write_all(greeting.as_bytes()).await {
                            eprintln!("clap: write: {e}");
                        }
                        close_after_the_greeting(stream, linger).await;
                    });
                }
                Err(e) => {
                    eprintln!("clap: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            // Those written let go of as they end.
            Some(_) = writing.join_next() => {}
            () = &mut lameduck => break,
        }
    }
    // The greetings still going out finish, within what the lameduck
    // timeout leaves.
    let all_done = async { while writing.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(ctx.drain_budget(), all_done).await;
    eprintln!("clap: pid {pid} lameduck, exiting");
    Ok(())
}

/// Closes a connection as TCP would have it: the writing half shut (the
/// greeting, then the end, go out as the client reads them), then what
/// the client sent read and dropped until it closes too, for `linger` at
/// most. Dropped with bytes unread (a client that spoke first, a probe's
/// request), the socket would send a reset instead, which may cut the
/// greeting short.
async fn close_after_the_greeting(mut stream: tokio::net::TcpStream, linger: Duration) {
    let _ = stream.shutdown().await;
    let mut sink = tokio::io::sink();
    let _ = tokio::time::timeout(linger, tokio::io::copy(&mut stream, &mut sink)).await;
}
