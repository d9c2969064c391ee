//! What a program's `main` may return.

use std::fmt::Display;

/// A return type for the program's `main`: `()` (exit 0) or
/// `Result<(), E>` where an `Err` is printed to stderr and the process
/// exits 1. The error is printed in its alternate form (`{:#}`), which
/// for `anyhow` and `eyre` errors says their causes too (`reading config:
/// No such file or directory`).
///
/// ```no_run
/// #[littleboss::main(name = "svc")]
/// async fn main(ctx: littleboss::Context) -> Result<(), std::io::Error> {
///     ctx.lameduck().await;
///     Ok(())
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`main` must return `()` or `Result<(), E>` where `E: Display`, not `{Self}`",
    label = "this return type is not supported by littleboss",
    note = "for an exit code other than 0 or 1 (an `ExitCode`), call `std::process::exit`; an async `main` returns once it has drained after `ctx.lameduck()`, so it cannot return `!`"
)]
pub trait MainResult {
    /// The process exit code for this value, after printing any error.
    ///
    /// ```
    /// use littleboss::MainResult;
    /// assert_eq!(().into_exit_code(), 0);
    /// assert_eq!(Ok::<(), String>(()).into_exit_code(), 0);
    /// assert_eq!(Err::<(), _>("no database").into_exit_code(), 1);
    /// ```
    fn into_exit_code(self) -> i32;

    /// [`into_exit_code`](MainResult::into_exit_code) with its error
    /// (without `Error: `), not said yet: a child not ready yet tells its
    /// supervisor first, for the failed start to say why, then says it.
    /// Not for the program's use.
    #[doc(hidden)]
    fn into_exit_code_and_error(self) -> (i32, Option<String>)
    where
        Self: Sized,
    {
        (self.into_exit_code(), None)
    }
}

impl MainResult for () {
    fn into_exit_code(self) -> i32 {
        0
    }
}

impl<E: Display> MainResult for Result<(), E> {
    fn into_exit_code(self) -> i32 {
        let (code, error) = self.into_exit_code_and_error();
        if let Some(error) = error {
            say(&error);
        }
        code
    }

    fn into_exit_code_and_error(self) -> (i32, Option<String>) {
        match self {
            Ok(()) => (0, None),
            Err(e) => (1, Some(format!("{e:#}"))),
        }
    }
}

/// Says the error `main` returned (as [`into_exit_code_and_error`]
/// gives it) on stderr, as Rust's own `main` does.
///
/// [`into_exit_code_and_error`]: MainResult::into_exit_code_and_error
pub(crate) fn say(error: &str) {
    // One write, so the line never interleaves with the supervisor's.
    crate::log::write_line(format_args!("{}", said(&error)));
}

/// How an error `main` returned is said: in its alternate form, which
/// error types with causes (anyhow's, eyre's) use to say them.
fn said(e: &impl Display) -> String {
    format!("Error: {e:#}")
}

#[cfg(test)]
mod tests {
    use super::MainResult;

    #[test]
    fn an_error_is_said_with_its_causes() {
        /// As anyhow's: the context alone, or with its cause when `{:#}`.
        struct WithCause;
        impl std::fmt::Display for WithCause {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("reading config")?;
                if f.alternate() {
                    f.write_str(": No such file or directory")?;
                }
                Ok(())
            }
        }
        assert_eq!(
            super::said(&WithCause),
            "Error: reading config: No such file or directory"
        );
        assert_eq!(super::said(&"boom"), "Error: boom");
    }

    #[test]
    fn unit_and_ok_exit_zero_and_err_exits_one() {
        assert_eq!(().into_exit_code(), 0);
        assert_eq!(Ok::<(), String>(()).into_exit_code(), 0);
        assert_eq!(Err::<(), _>("boom").into_exit_code(), 1);
    }

    #[test]
    fn the_error_comes_back_unsaid_with_its_code() {
        assert_eq!(().into_exit_code_and_error(), (0, None));
        assert_eq!(Ok::<(), String>(()).into_exit_code_and_error(), (0, None));
        assert_eq!(
            Err::<(), _>("boom").into_exit_code_and_error(),
            (1, Some("boom".to_owned()))
        );
    }
}
