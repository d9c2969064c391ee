//! The program's `main` as the modes that run it see it: below the
//! builder that wraps it and the modes (bypass, child) that call it.

use tokio::runtime::Runtime;

use crate::context::Context;

/// The program's `main`, wrapped: runs on the given runtime, calls
/// `started` once it is under way, and returns the exit code.
pub(crate) type Entry<'a> = Box<dyn FnOnce(Context, &Runtime, Started) -> i32 + 'a>;

/// Called once when `main` is under way: with automatic readiness, that is
/// when the child reports ready.
pub(crate) type Started = Box<dyn FnOnce() + Send>;

/// The exit code of a `main` that panicked, as Rust's own `main` makes it.
const PANICKED: i32 = 101;

/// Calls `entry` and returns its exit code, [`PANICKED`] if `main` panics
/// (the panic hook has reported it by then). The panic is caught, not
/// unwound through the caller: dropping the runtime on the way out would
/// wait, without end, for any blocking job `main` left running.
pub(crate) fn call(entry: Entry<'_>, ctx: Context, rt: &Runtime, started: Started) -> i32 {
    let main = std::panic::AssertUnwindSafe(|| entry(ctx, rt, started));
    match std::panic::catch_unwind(main) {
        Ok(code) => code,
        // Not dropped: a payload whose drop panics would unwind after all.
        Err(payload) => {
            std::mem::forget(payload);
            PANICKED
        }
    }
}
