//! The `#[littleboss::main]` attribute. Use it through the `littleboss`
//! crate, which re-exports it; this crate has nothing else.

#![warn(missing_docs)]

mod attr;
mod errors;
mod expand;
// A symlink to `littleboss/src/rules`: the runtime's rules, compiled here
// too, so compile errors and builder errors agree. (`cargo package` copies
// the files in; a `#[path]` outside the package would not be packaged.)
// Each crate uses its own part: what this one leaves unused is not dead.
#[allow(dead_code, unused_imports)]
mod rules;
mod signature;
mod tokio_main;

#[cfg(test)]
mod agreement;
#[cfg(test)]
mod snapshot;

use proc_macro::TokenStream;

/// Turns `main` into a self-supervising program.
///
/// The attribute takes the service name and, optionally, the listeners and
/// the supervisor's settings:
///
/// ```no_run
/// #[littleboss::main(name = "myblog", listener(https = "tcp::443", admin = "tcp:"), lameduck = "5s")]
/// async fn main(ctx: littleboss::Context) {
///     let https = ctx.tcp("https").expect("https listener enabled");
///     // a real program accepts on `https` until `ctx.lameduck()`
///     // completes (see `littleboss::TcpListener`)
///     # let _ = https;
///     ctx.lameduck().await;
/// }
/// ```
///
/// | key | value | default |
/// |---|---|---|
/// | `name = "svc"` | service name, `[A-Za-z0-9_-]+`, at most 101 bytes (required) | |
/// | `listener(NAME = "NET:ADDR", ...)` | listeners, each with its flag `-NAME=ADDR`; NAME is letters, digits, `_` and `-` (`admin-http`), not beginning with `-`, not `h`, `help` or `json` (taken by `-h` and `status --json`) nor the mode flag's; NET is `tcp`, `tcp4`, `tcp6`, `udp`, `udp4`, `udp6` or `unix`; an empty ADDR is off by default; several groups add up | none |
/// | `lameduck = "2s"` | how long a child may drain: a number (`"1.5s"` too) and `ms`, `s`, `m` or `h`, in whole milliseconds (as every duration here: `"1.5ms"` is refused) | `"2s"` |
/// | `grace = "500ms"` | from draining (listeners stop yielding connections) to `ctx.lameduck()` completing, for connections accepted just before to send their first request; at most half of `lameduck` (more is an error); the default is shortened to half a `lameduck` under 2 s | `"1s"` |
/// | `persist = true` | restart the child when it exits on its own (a boolean key alone, `persist`, means `true`) | `false` |
/// | `restart_limit = "5 in 60s"` | with `persist = true`: give up after more than N restarts (1 to 4294967295) within the window (a duration, as for `lameduck`, more than zero) | `"5 in 60s"` |
/// | `fallback = false` | don't roll back to the previous binary when a reloaded child dies within its 5 s probation (this key, `self_upgrade` and `help`, alone, mean `true`, as `persist` does) | `true` |
/// | `self_upgrade = false` | on a reload to a different binary, keep running the supervisor's own code instead of re-executing itself from the new binary | `true` |
/// | `flag = "lb"` | name of the mode flag (`-lb=start`): letters, digits, `_` and `-`, not beginning with `-`, not `h`, `help` or `json` | `"littleboss"` |
/// | `supervisor_init = path::to::init` | `fn()` run once in the supervisor | none |
/// | `ready = "manual"` | ready on `ctx.ready()` rather than once `main` is under way (an async `main` when it first waits) | `"auto"` |
/// | `ready_timeout = "30s"` | more than zero: how long a new child has to become ready, from its hello (which must come within 10 s of the spawn, or within the running supervisor's `ready_timeout` if shorter) | `"30s"` |
/// | `help = false` | leave `-h`/`--help` to the program (but with `stop` and `status`, which littleboss always answers; `start` and `reload` refuse `--help`, which a child would answer and exit on) | `true` |
/// | `flavor = "current_thread"` | tokio runtime flavor | `"multi_thread"` |
/// | `worker_threads = 4` | threads of the multi-thread runtime (1 to 32768; an error with `flavor = "current_thread"`) | tokio's |
/// | `crate = "lb"` | path to the `littleboss` crate, if renamed or re-exported | `::littleboss` |
///
/// `main` may be `async fn` or `fn`, takes the `littleboss::Context` or
/// nothing, and returns `()` or `Result<(), E>` with `E: Display` (a plain
/// `fn main` may also be `-> !`, exiting by itself). A plain
/// `fn main` runs inside the tokio runtime (entered, not driven): with the
/// default multi-thread flavor its listeners work, and
/// `tokio::runtime::Handle::current().block_on` runs async code; with
/// `flavor = "current_thread"` nothing drives that runtime, so build one
/// of your own in `main` and take the listeners inside its `block_on`
/// (`Littleboss::run_sync` says the same). The
/// expansion is a plain `fn main` calling the public builder
/// `littleboss::Littleboss`, with the function above as an inner item:
///
/// ```no_run
/// fn main() {
///     async fn main(ctx: littleboss::Context) {
///         /* as written */
///         # let _ = ctx;
///     }
///     ::littleboss::Littleboss::new("myblog")
///         .listener("https", "tcp::443")
///         .listener("admin", "tcp:")
///         .lameduck(::std::time::Duration::from_millis(5000))
///         .run(|__littleboss_ctx: ::littleboss::Context| main(__littleboss_ctx))
/// }
/// ```
///
/// Attributes on `main` stay on the generated function if they are `cfg`,
/// doc comments or lint levels; any other (`#[tracing::instrument]`, say)
/// goes on the inner one, the function it was written for. A synchronous
/// `main` taking the `Context` gets `#[allow(clippy::needless_pass_by_value)]`
/// (the call hands the `Context` over by value, where that lint would have
/// `main` take it by reference), which a crate-wide `#![forbid]` of that lint or of
/// `clippy::pedantic` turns into an error under clippy: with one, make
/// `main` async (not linted so, and given no allow). A `main` that
/// `expect`s or `forbid`s that lint (or `clippy::pedantic`) itself gets no
/// allow, which would clash with its own.
///
/// Every mistake in the attribute or the signature is a compile error on
/// the offending tokens (a missing `name`, or more than 253 listeners, on
/// the whole attribute); the
/// attribute's keys are checked by the same rules as the builder's
/// `Littleboss::check`, in its words.
///
/// Do not add `#[tokio::main]`: littleboss runs the tokio runtime itself
/// (set it up with `flavor` and `worker_threads`), and says so at compile
/// time if it finds one above or below its attribute.
#[proc_macro_attribute]
#[allow(clippy::needless_doctest_main)] // the second example *is* a `fn main`
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::main(attr.into(), item.into()).into()
}
