//! The mistakes in a configuration, as one error a program can handle.

use std::fmt;

use crate::rules::RuleError;

/// Every mistake [`Littleboss::check`](crate::Littleboss::check) found, in
/// the order the builder calls made them, then the conflicts between
/// settings. `Display` gives one message a line.
///
/// ```
/// let lb = littleboss::Littleboss::new("my blog").listener("help", "tcp::80");
/// match lb.check() {
///     Ok(()) => unreachable!("two mistakes"),
///     Err(error) => {
///         assert_eq!(error.errors().len(), 2);
///         for mistake in error.errors() {
///             eprintln!("{mistake}");
///         }
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    errors: Vec<RuleError>,
}

impl ConfigError {
    /// `Err` with `mistakes`, if any.
    pub(crate) fn from_mistakes(mistakes: Vec<RuleError>) -> Result<(), ConfigError> {
        if mistakes.is_empty() {
            return Ok(());
        }
        Err(ConfigError { errors: mistakes })
    }

    /// The mistakes, never empty.
    ///
    /// ```
    /// let error = littleboss::Littleboss::new("svc").flag("h").check().unwrap_err();
    /// assert!(matches!(
    ///     error.errors(),
    ///     [littleboss::RuleError::NameHelp { kind: littleboss::NameKind::Flag, .. }]
    /// ));
    /// ```
    pub fn errors(&self) -> &[RuleError] {
        &self.errors
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}
