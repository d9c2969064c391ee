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
    label = "this return type is not supported by littleboss"
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
}

impl MainResult for () {
    fn into_exit_code(self) -> i32 {
        0
    }
}

impl<E: Display> MainResult for Result<(), E> {
    fn into_exit_code(self) -> i32 {
        match self {
            Ok(()) => 0,
            Err(e) => {
                let error = format!("{e:#}");
                // One write, so the line never interleaves with the supervisor's.
                crate::log::write_line(format_args!("{}", said(&error)));
                *LAST_SAID.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
                1
            }
        }
    }
}

/// The error the last [`MainResult::into_exit_code`] said (without
/// `Error: `), whoever called it: the program's own code may too.
static LAST_SAID: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// The error `main` itself returned: a child not ready yet tells its
/// supervisor, for the failed start to say why.
static RETURNED: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// `main`'s `result` as its exit code, its error (if any) kept for
/// [`take_returned`]: not one the program's own code said before.
pub(crate) fn main_exit_code(result: impl MainResult) -> i32 {
    let last_said = || LAST_SAID.lock().unwrap_or_else(|e| e.into_inner()).take();
    last_said();
    let code = result.into_exit_code();
    *RETURNED.lock().unwrap_or_else(|e| e.into_inner()) = last_said();
    code
}

/// Takes the error `main` returned, if it returned one.
pub(crate) fn take_returned() -> Option<String> {
    RETURNED.lock().unwrap_or_else(|e| e.into_inner()).take()
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
}
