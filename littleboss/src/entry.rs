//! The program's `main` as the modes that run it see it: below the
//! builder that wraps it and the modes (bypass, child) that call it.

use tokio::runtime::Runtime;

use crate::context::Context;

/// The program's `main`, wrapped: runs on the given runtime, calls
/// `started` once it is under way, and says how it ended.
pub(crate) type Entry<'a> = Box<dyn FnOnce(Context, &Runtime, Started) -> Ended + 'a>;

/// How the program's `main` ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Ended {
    /// The process's exit code.
    pub code: i32,
    /// How `main` failed, if it did (an error it returned, a panic), as
    /// said: a child not ready yet tells its supervisor, for the failed
    /// start to say why.
    pub failure: Option<String>,
    /// The error `main` returned, to be said on stderr ([`Ended::say`])
    /// once the supervisor has heard how it ended: a stderr nobody reads
    /// must not keep that from it.
    pub unsaid: Option<String>,
}

impl Ended {
    /// `main`'s `result`, its error (if any) still to be said.
    pub(crate) fn from_result(result: impl crate::MainResult) -> Ended {
        let (code, error) = result.into_exit_code_and_error();
        let failure = (error.as_ref())
            .map(|error| format!("main returned an error (exit code {code}): {error}"));
        Ended {
            code,
            failure,
            unsaid: error,
        }
    }

    /// Says `main`'s error on stderr, if it returned one.
    pub(crate) fn say(&self) {
        if let Some(error) = &self.unsaid {
            crate::main_result::say(error);
        }
    }
}

/// Called once when `main` is under way: with automatic readiness, that is
/// when the child reports ready.
pub(crate) type Started = Box<dyn FnOnce() + Send>;

/// The exit code of a `main` that panicked, as Rust's own `main` makes it.
const PANICKED: i32 = 101;

/// Calls `entry` and returns how it ended, [`PANICKED`] if `main` panics
/// (the panic hook has reported it by then). The panic is caught, not
/// unwound through the caller: dropping the runtime on the way out would
/// wait, without end, for any blocking job `main` left running.
pub(crate) fn call(entry: Entry<'_>, ctx: Context, rt: &Runtime, started: Started) -> Ended {
    let main = std::panic::AssertUnwindSafe(|| entry(ctx, rt, started));
    match std::panic::catch_unwind(main) {
        Ok(ended) => ended,
        // Not dropped: a payload whose drop panics would unwind after all.
        Err(payload) => {
            let panic = panic_message(&*payload);
            std::mem::forget(payload);
            Ended {
                code: PANICKED,
                failure: Some(format!("main panicked (exit code {PANICKED}): {panic}")),
                // Said by the panic hook.
                unsaid: None,
            }
        }
    }
}

/// What a panic's `payload` says: `panic!`'s message (a `&str` or a
/// `String`), or a note that it is something else
/// (`std::panic::panic_any`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(message), _) => (*message).to_owned(),
        (_, Some(message)) => message.clone(),
        _ => "(a value that is not a message)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::panic_message;

    #[test]
    fn a_panics_message_is_read_whatever_kind_of_string() {
        let said = |payload: Box<dyn std::any::Any + Send>| panic_message(&*payload);
        assert_eq!(said(Box::new("no config")), "no config");
        assert_eq!(
            said(Box::new(format!("no config at {}", 7))),
            "no config at 7"
        );
        assert_eq!(said(Box::new(7_u8)), "(a value that is not a message)");
    }
}
