//! Names: the service name, the mode flag's and the listeners'.

use super::{NameKind, RuleError};

/// A service name names the control socket: `[A-Za-z0-9_-]+`, short
/// enough for a socket path ([`MAX_SERVICE_NAME`]).
pub(crate) fn service_name(name: &str) -> Result<(), RuleError> {
    allowed_chars(NameKind::Service, name)?;
    if name.len() > MAX_SERVICE_NAME {
        return Err(RuleError::ServiceNameTooLong { len: name.len() });
    }
    Ok(())
}

/// The longest service name a control socket's path can hold: the
/// shortest such path is `/NAME.sock`.
pub(crate) const MAX_SERVICE_NAME: usize = super::MAX_UNIX_PATH - "/.sock".len();

/// The mode flag's name becomes `-NAME=MODE`: see [`flag_like`].
pub(crate) fn flag_name(name: &str) -> Result<(), RuleError> {
    flag_like(NameKind::Flag, name)
}

/// A listener's name, which must differ from the listeners `declared`
/// before it.
pub(crate) fn listener_name<'a>(
    name: &str,
    mut declared: impl Iterator<Item = &'a str>,
) -> Result<(), RuleError> {
    flag_like(NameKind::Listener, name)?;
    if declared.any(|d| d == name) {
        return Err(RuleError::DuplicateListener {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// What a listener's name has been made of in every version: its
/// characters alone. The supervisor holds a reload's declared names to
/// this much, which a release built under older rules still meets.
pub(crate) fn listener_name_chars(name: &str) -> Result<(), RuleError> {
    allowed_chars(NameKind::Listener, name)
}

/// Names that become command-line flags (`-littleboss=start`,
/// `-https=:8443`): `[A-Za-z0-9_-]+`, no leading `-`, and not `h` or
/// `help`, which `-h`/`--help` take, nor `json`, which `status --json`
/// takes.
fn flag_like(kind: NameKind, name: &str) -> Result<(), RuleError> {
    allowed_chars(kind, name)?;
    let name = name.to_owned();
    if name.starts_with('-') {
        return Err(RuleError::NameDash { kind, name });
    }
    if name == "h" || name == "help" {
        return Err(RuleError::NameHelp { kind, name });
    }
    // `-littleboss=status --json` would be read as this flag, wanting a
    // value, and JSON could not be asked for.
    if name == "json" {
        return Err(RuleError::NameJson { kind });
    }
    Ok(())
}

fn allowed_chars(kind: NameKind, name: &str) -> Result<(), RuleError> {
    if name.is_empty() {
        return Err(RuleError::EmptyName { kind });
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    match name.chars().find(|&c| !allowed(c)) {
        Some(bad) => Err(RuleError::NameChar {
            kind,
            name: name.to_owned(),
            bad,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<(), RuleError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn service_names() {
        assert_eq!(service_name("my-blog_2"), Ok(()));
        assert_eq!(service_name(&"a".repeat(101)), Ok(()));
        assert_eq!(
            message(service_name(&"a".repeat(102))),
            "the service name is 102 bytes, more than the 101 a control socket's path can hold (`/NAME.sock` within the 107 bytes of a unix socket address); shorten it"
        );
        assert_eq!(
            message(service_name("my blog")),
            "service name `my blog` contains ` `; use only letters, digits, `_` and `-`"
        );
        assert_eq!(
            message(service_name("")),
            "the service name is empty; use letters, digits, `_` and `-`"
        );
        assert!(message(service_name("a/b")).contains("`/`"));
        assert!(message(service_name("a\nb")).contains("`\\n`"));
        assert!(message(service_name("café")).contains("`é`"));
    }

    #[test]
    fn flag_names() {
        assert_eq!(flag_name("lb"), Ok(()));
        assert_eq!(flag_name("my-flag_2"), Ok(()));
        assert_eq!(
            message(flag_name("-lb")),
            "flag name `-lb` starts with `-`; give it without dashes, like `lb`"
        );
        assert_eq!(
            message(flag_name("--")),
            "flag name `--` starts with `-`; give it without dashes"
        );
        assert_eq!(
            message(flag_name("h")),
            "flag name `h` is taken by -h/--help"
        );
        assert_eq!(
            message(flag_name("")),
            "the flag name is empty; use letters, digits, `_` and `-`"
        );
        assert!(message(flag_name("a=b")).contains("`=`"));
    }

    #[test]
    fn listener_names() {
        assert_eq!(listener_name("https", ["http"].into_iter()), Ok(()));
        assert_eq!(
            message(listener_name("help", [].into_iter())),
            "listener name `help` is taken by -h/--help"
        );
        assert_eq!(
            message(listener_name("http", ["a", "http"].into_iter())),
            "listener `http` is declared twice"
        );
        // A bad name is reported as such, even when it is also a duplicate.
        assert_eq!(
            listener_name("h", ["h"].into_iter()),
            Err(RuleError::NameHelp {
                kind: NameKind::Listener,
                name: "h".to_owned()
            })
        );
    }
}
