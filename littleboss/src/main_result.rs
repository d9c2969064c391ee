//! What a program's `main` may return.

use std::fmt::Display;

/// A return type for the program's `main`: `()` (exit 0) or
/// `Result<(), E>` where an `Err` is printed to stderr and the process
/// exits 1.
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
                // One write, so the line never interleaves with the supervisor's.
                crate::log::write_line(format_args!("Error: {e}"));
                1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MainResult;

    #[test]
    fn unit_and_ok_exit_zero_and_err_exits_one() {
        assert_eq!(().into_exit_code(), 0);
        assert_eq!(Ok::<(), String>(()).into_exit_code(), 0);
        assert_eq!(Err::<(), _>("boom").into_exit_code(), 1);
    }
}
