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
