//! The drain benchmark: the servers users write, reloaded again and again
//! under the loads real clients make, with every failed request counted.
//!
//! ```text
//! cargo build --release -p examples --bins
//! target/release/drain_bench --reloads 1000
//! ```
//!
//! Servers (all supervised, each a binary of this crate):
//! - `readme`: the README's usage snippet as written
//!   (`littleboss::http::serve(&ctx, listener, app())`);
//! - `axum_serve`: bare `axum::serve` with
//!   `with_graceful_shutdown(ctx.lameduck())`, the README's `axum::serve`
//!   snippet as written, kept to show what the helper fixes (HTTP/1's race
//!   between a kept-alive connection's close and the client's next
//!   request, and silent clients closed at the end of the grace);
//! - `plain`: a hand-written HTTP/1 server on a plain tokio accept loop
//!   (the README's "Writing a server by hand");
//! - `http`: the `http` example, also on the `littleboss::http::serve`
//!   helper.
//!
//! Loads ([`examples::traffic::Shape`]): a new connection per request;
//! keep-alive (1000 connections by default); HTTP/2 (not for `plain`,
//! which speaks only HTTP/1); slow clients that send their first byte 0.2
//! to 3 s after connecting; `POST` with a 16 KiB body on kept-alive
//! connections. For each (server, load): a steady phase without reloads,
//! then `--reloads` reloads, `--interval-ms` apart, while the load runs,
//! and, with `--paced-reloads`, once their old children have exited, that
//! many more at a calmer pace (`--paced-interval-ms`), their latency
//! reported apart; then, once the last old child has exited, a steady
//! phase again, the steady state taken from both.
//! A reload returns once the new child is ready. Old children end as soon
//! as their last connection has closed (littleboss ends the grace then):
//! within milliseconds under new-connection load; under slow-first-byte
//! load, up to the slowest client's 3 s for `plain` (within its 3.5 s
//! grace) and up to the 1 s grace for `axum_serve` (which then closes the
//! silent ones unanswered), both accepting a connection at once; within
//! milliseconds for the helper's `readme` and `http`, which leave silent
//! connections with the kernel until they speak; and at
//! lameduck for HTTP/2 connections, which have no `Connection: close`,
//! and for `axum_serve`'s kept-alive ones, which nothing tells to go.
//! Reloads so come back to back while old children still drain where
//! the drains outlast the pause (the drain column counts the reloads made
//! while an old child still ran: under new-connection load, few).
//!
//! The clients run in closed loop (each sends its next request as its
//! last one ends: the server at full load, latency mostly its queue), or
//! with `--rate` in open loop (each on a schedule of its own, the rate
//! shared among them, each request timed from when it was due, whether
//! its client was held up by late answers or by a stall of its timer's
//! wake-up, so a stall counts for every request it delays).
//!
//! Prints a markdown table (and the command that produced it) and exits
//! non-zero if any request or reload failed, an old child was killed at
//! its lameduck or ended otherwise than with code 0 (a crash), or one was
//! left unreaped at a row's end; `axum_serve`'s lost requests excepted
//! in rows with reloads where it answered something (printed, and said
//! on stderr): it is there to show them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use examples::reloading::{Plan, Row, Server, run};
use examples::traffic::Shape;

#[derive(Parser, Debug)]
#[command(name = "drain_bench", about = "littleboss drain benchmark")]
struct Args {
    /// Reloads per (server, load).
    #[arg(long, default_value_t = 100)]
    reloads: usize,
    /// Pause after each reload returns, in milliseconds; several,
    /// comma-separated, run each (server, load) once per pause, to show
    /// how latency during reloads depends on how often they come.
    #[arg(long, default_value = "50", value_delimiter = ',')]
    interval_ms: Vec<u64>,
    /// Reloads after those, once their old children have exited, with
    /// `--paced-interval-ms` between them; latency during them is
    /// reported apart.
    #[arg(long, default_value_t = 0)]
    paced_reloads: usize,
    /// Pause after each paced reload returns, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    paced_interval_ms: u64,
    /// A control run: every phase and pause as asked, but no reload made,
    /// to show what the latency windows measure without reloads.
    #[arg(long)]
    without_reloads: bool,
    /// Seconds of load before the reloads, and again after their last old
    /// child exited, for the steady-state latency.
    #[arg(long, default_value_t = 3)]
    steady_secs: u64,
    /// Servers, comma-separated: readme, axum_serve, plain, http.
    #[arg(
        long,
        default_values_t = SERVERS.map(String::from),
        value_delimiter = ',',
        value_parser = clap::builder::PossibleValuesParser::new(SERVERS)
    )]
    servers: Vec<String>,
    /// Loads, comma-separated: new-connection, keep-alive, http2,
    /// slow-first-byte, post.
    #[arg(
        long,
        default_value = "new-connection,keep-alive,http2,slow-first-byte,post",
        value_delimiter = ',',
        value_parser = clap::builder::PossibleValuesParser::new(Shape::ALL.map(Shape::name))
    )]
    loads: Vec<String>,
    /// Clients opening a new connection per request.
    #[arg(long, default_value_t = 16)]
    new_connection_clients: usize,
    /// Kept-alive connections.
    #[arg(long, default_value_t = 1000)]
    keep_alive_clients: usize,
    /// HTTP/2 connections (one stream at a time each).
    #[arg(long, default_value_t = 64)]
    http2_clients: usize,
    /// Slow clients.
    #[arg(long, default_value_t = 200)]
    slow_clients: usize,
    /// POST clients (kept-alive connections).
    #[arg(long, default_value_t = 64)]
    post_clients: usize,
    /// Open loop: this many requests per second in all, each client on a
    /// schedule of its own, a request its client was late to send timed
    /// from when it was due (slow clients keep their own pace). Without
    /// it, closed loop: each client sends its next request as its last
    /// one ends.
    #[arg(long, value_parser = positive_rate)]
    rate: Option<f64>,
    /// Where the server binaries are (default: next to this one).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
}

/// A request rate: a finite number of requests per second above 0 (and
/// at most a million: a client's interval is then still microseconds).
fn positive_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if rate.is_finite() && (1e-3..=1e6).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!(
            "{text} is not a rate from 0.001 to 1000000 requests a second"
        ))
    }
}

/// The example servers it can run, each a binary of this crate.
const SERVERS: [&str; 4] = ["readme", "axum_serve", "plain", "http"];

/// The server kept to show what the helper fixes: bare `axum::serve`.
const BASELINE: &str = "axum_serve";

fn main() -> ExitCode {
    let args = Args::parse();
    let bin_dir = args.bin_dir.clone().unwrap_or_else(|| {
        let exe = std::env::current_exe().expect("this binary's path");
        exe.parent().expect("a folder").to_owned()
    });
    let shapes: Vec<Shape> = args
        .loads
        .iter()
        .map(|name| {
            (Shape::ALL.into_iter().find(|s| s.name() == name)).expect("a name clap checked")
        })
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let epoch = Instant::now();
    // Before the run: a commit made while it runs is not what it measured.
    let revision = examples::source_revision();
    let mut rows: Vec<(String, Shape, Plan, Row)> = Vec::new();
    for server_name in &args.servers {
        let bin = bin_dir.join(server_name);
        for &shape in &shapes {
            if shape == Shape::Http2 && server_name == "plain" {
                continue;
            }
            let clients = match shape {
                Shape::NewConnection => args.new_connection_clients,
                Shape::KeepAlive => args.keep_alive_clients,
                Shape::Http2 => args.http2_clients,
                Shape::SlowFirstByte => args.slow_clients,
                Shape::Post => args.post_clients,
            };
            for &interval_ms in &args.interval_ms {
                let plan = Plan {
                    shape,
                    clients,
                    steady: Duration::from_secs(args.steady_secs),
                    reloads: args.reloads,
                    interval: Duration::from_millis(interval_ms),
                    paced_reloads: args.paced_reloads,
                    paced_interval: Duration::from_millis(args.paced_interval_ms),
                    without_reloads: args.without_reloads,
                    timeout: Duration::from_secs(10),
                    rate: args.rate,
                };
                eprintln!(
                    "drain_bench: {server_name} under {} load, reloads {interval_ms} ms apart...",
                    shape.name()
                );
                let server = Arc::new(Server::start(
                    &bin,
                    examples::reloading::listener_of(server_name),
                    epoch,
                ));
                let row = rt.block_on(run(server.clone(), plan, epoch));
                Arc::into_inner(server).expect("one owner").stop();
                eprintln!("drain_bench: {server_name} {}: {row:?}", shape.name());
                rows.push((server_name.clone(), shape, plan, row));
            }
        }
    }
    print!("{}", markdown(&args, &rows, &revision));
    // Bare `axum::serve` is the baseline the helper fixes: the requests
    // it loses to reloads are what the table shows, not a failure of the
    // run (its failed reloads and lost children still are, and so are
    // its losses in a row without reloads, or a row it answered nothing
    // in: a broken baseline).
    let excused = |server: &str, plan: &Plan, r: &Row| {
        let reloaded = !plan.without_reloads && plan.reloads + plan.paced_reloads > 0;
        server == BASELINE && reloaded && r.failed_total() < r.requests
    };
    let baseline_failed: usize = rows
        .iter()
        .filter(|(server, _, plan, r)| excused(server, plan, r))
        .map(|(_, _, _, r)| r.failed_total())
        .sum();
    let failed: usize = rows
        .iter()
        .map(|(server, _, plan, r)| {
            let requests = if excused(server, plan, r) {
                0
            } else {
                r.failed_total()
            };
            requests + r.reloads_failed
        })
        .sum();
    // An old child killed at its lameduck or ended abnormally, or one not
    // reaped by the row's end, or whose drain was not seen from start to
    // end, or any other child lost, is a failed row even when every
    // request was answered.
    let unsettled: Vec<String> = rows
        .iter()
        .filter(|(_, _, plan, r)| {
            let reloaded = if plan.without_reloads {
                0
            } else {
                plan.reloads + plan.paced_reloads
            };
            r.killed > 0 || r.abnormal > 0 || r.lost > 0 || !r.settled || r.drains_timed < reloaded
        })
        .map(|(server, shape, _, _)| format!("{server} {}", shape.name()))
        .collect();
    if baseline_failed > 0 {
        eprintln!(
            "drain_bench: {BASELINE} lost {baseline_failed} requests, as bare `axum::serve` does (not counted as the run's failures)"
        );
    }
    if failed > 0 || !unsettled.is_empty() {
        eprintln!(
            "drain_bench: {failed} failures (requests or reloads); rows with a child killed, ended abnormally, lost, left or not timed: {}",
            if unsettled.is_empty() {
                "none".to_owned()
            } else {
                unsettled.join(", ")
            }
        );
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn markdown(args: &Args, rows: &[(String, Shape, Plan, Row)], revision: &str) -> String {
    let mut out = String::new();
    let command: Vec<String> = std::env::args()
        .enumerate()
        .map(|(i, a)| {
            // Where cargo puts it, whatever path ran it, and which build.
            if i == 0 {
                let profile = if cfg!(debug_assertions) {
                    "debug"
                } else {
                    "release"
                };
                format!("target/{profile}/drain_bench")
            } else {
                a
            }
        })
        .collect();
    // One pause: said in the heading. Several: a column of its own.
    let swept = args.interval_ms.len() > 1;
    let apart: Vec<String> = args.interval_ms.iter().map(u64::to_string).collect();
    let paced = args.paced_reloads > 0;
    // Said only where a row has slow clients, whose wait it is.
    let slow = rows
        .iter()
        .any(|(_, shape, _, _)| *shape == Shape::SlowFirstByte);
    let silence = examples::traffic::LONGEST_SILENCE.as_secs();
    let (later, longest) = match slow {
        true => (
            format!(" (slow clients: {silence} s later)"),
            format!(" (slow clients: {silence} s later, their longest silence)"),
        ),
        false => (String::new(), String::new()),
    };
    let then = if paced {
        format!(
            ", then {} reloads {} ms apart once their old children have exited{later}",
            args.paced_reloads, args.paced_interval_ms
        )
    } else {
        String::new()
    };
    let control = if args.without_reloads {
        " (a control run: the pauses only, no reload made)"
    } else {
        ""
    };
    let pace = match args.rate {
        Some(rate) => format!(
            "; open loop, {rate} requests/s in all, each request timed from when it was due, less the timer's rounding of up to 1 ms (slow clients at their own pace)"
        ),
        None => "; closed loop, each client sending as its last answer ends".to_owned(),
    };
    out += &format!(
        "`{}` on {}: {} reloads per row, {} ms apart{then}, after {} s of steady load, and as long again once the last old child exited{longest}; the steady figures over the last four fifths of each, the reloads' window (or the paced reloads') running on to the second{control}{pace}\n\n",
        command.join(" "),
        revision,
        args.reloads,
        apart.join(" or "),
        args.steady_secs
    );
    let (pause_head, pause_rule) = if swept {
        (" pause ms |", "---:|")
    } else {
        ("", "")
    };
    const TOUCHED: &str = " of which in flight while a reload command or a drain ran: requests; p50 / p99 / p99.9 / max ms | p99 ratio |";
    let (paced_head, paced_rule) = if paced {
        (
            format!(
                " during the {} ms apart p50 / p99 / p99.9 / max ms | p99 ratio | of those, in flight while a reload command or a drain ran: requests; p50 / p99 / p99.9 / max ms | p99 ratio |",
                args.paced_interval_ms
            ),
            "---|---:|---|---:|",
        )
    } else {
        (String::new(), "")
    };
    out += &format!(
        "| server | load |{pause_head} clients | requests (failed too) | req/s (failed too) | failed | of which on a reused connection | failed reloads | steady p50 / p99 / p99.9 / max ms | during reloads p50 / p99 / p99.9 / max ms | p99 ratio |{TOUCHED}{paced_head} old child drain median / max ms (children timed; reloads made while one ran) | killed / other abnormal exits | other children lost | settled |\n"
    );
    out += &format!(
        "|---|---|{pause_rule}---:|---:|---:|---|---:|---:|---|---|---:|---|---:|{paced_rule}---|---:|---:|---|\n"
    );
    // A percentile that lands on a failed request (infinitely slow), or
    // of a window no request was due in (not a number).
    let at = |v: f64, digits: usize| {
        if v.is_nan() {
            "-".to_owned()
        } else if v.is_finite() {
            format!("{v:.digits$}")
        } else {
            "failed".to_owned()
        }
    };
    let ms = |v: [f64; 4]| {
        format!(
            "{} / {} / {} / {}",
            at(v[0], 2),
            at(v[1], 2),
            at(v[2], 2),
            at(v[3], 2)
        )
    };
    for (server, shape, plan, row) in rows {
        let failed = if row.failed.is_empty() {
            "0".to_owned()
        } else {
            let classes = examples::failed_classes(&row.failed);
            format!("**{}** ({classes})", row.failed_total())
        };
        // A p99 during reloads that lands on a failed request: failed, not
        // a blank, which is for a steady p99 that is none to compare with.
        let ratio_of = |during: [f64; 4]| {
            let steady = row.steady_ms[1];
            match during[1] {
                _ if !(steady > 0.0 && steady.is_finite()) => "-".to_owned(),
                p99 if p99.is_finite() => format!("{:.2}", p99 / steady),
                p99 if p99.is_nan() => "-".to_owned(),
                _ => "failed".to_owned(),
            }
        };
        let touched = |(requests, during): (usize, [f64; 4])| {
            format!(" {requests}; {} | {} |", ms(during), ratio_of(during))
        };
        let ratio = ratio_of(row.reload_ms);
        let reload_touched = touched(row.reload_touched);
        let paced_cells = if paced {
            format!(
                " {} | {} |{}",
                ms(row.paced_ms),
                ratio_of(row.paced_ms),
                touched(row.paced_touched)
            )
        } else {
            String::new()
        };
        let times = if row.drains_timed == 0 {
            "-".to_owned()
        } else {
            format!("{:.0} / {:.0}", row.drain_ms[0], row.drain_ms[1])
        };
        let drain = format!(
            "{times} ({}; {})",
            row.drains_timed, row.reloads_during_a_drain
        );
        let pause = if swept {
            format!(" {} |", plan.interval.as_millis())
        } else {
            String::new()
        };
        out += &format!(
            "| {server} | {} |{pause} {} | {} | {:.0} | {failed} | {} | {} | {} | {} | {ratio} |{reload_touched}{paced_cells} {drain} | {} / {} | {} | {} |\n",
            shape.name(),
            plan.clients,
            row.requests,
            row.requests as f64 / row.seconds.max(1e-9),
            row.failed_reused,
            row.reloads_failed,
            ms(row.steady_ms),
            ms(row.reload_ms),
            row.killed,
            row.abnormal,
            row.lost,
            if row.settled { "yes" } else { "**no**" },
        );
    }
    out
}
