//! A misspelt mode flag: `-littlebos=stop`, `-LITTLEBOSS=status`,
//! `---littleboss=reload`; and a listener flag in another case. Unknown
//! flags pass through to the program, so without this check a typo runs
//! the program unsupervised (a second server, binding the first one's
//! ports) instead of controlling it, or moves a listener back to its
//! default on a reload.

/// Whether `arg` (with `next`, the argument after it) is a misspelling of
/// the mode flag `flag` given a mode: a name differing only in case, in
/// extra or typeset leading dashes (`—`), or by one or two edits (one for
/// names shorter than eight, none under four; two letters swapped are one), with a value that is one of
/// `modes`; or the flag itself (in any case, four letters or more, as
/// `littleboss` is) joined to a mode by `:`, `-` or `_` in place of `=`
/// (`-littleboss:stop`): a shorter or misspelt one would take a
/// program's own `--lb-status` or `--code-reload`. The value check keeps
/// a program's own flags that merely look alike out of it.
///
/// ```ignore
/// assert!(misspelt("-littlebos=stop", None, "littleboss", &["stop"]));
/// assert!(misspelt("-littleboss-stop", None, "littleboss", &["stop"]));
/// assert!(!misspelt("-littlebox=7", None, "littleboss", &["stop"]));
/// ```
pub(crate) fn misspelt(arg: &str, next: Option<&str>, flag: &str, modes: &[&str]) -> bool {
    let Some((body, odd_dashes)) = after_dashes(arg) else {
        return false;
    };
    // Blanks around it too: a CRLF script's last word (`stop\r`).
    let is_mode = |v: &str| modes.contains(&v.trim().to_ascii_lowercase().as_str());
    let (name, value) = match body.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (body, next),
    };
    // A slip of the `=`: never a spelling of the flag's own.
    let joined = (!body.contains('='))
        .then(|| body.rsplit_once([':', '-', '_']))
        .flatten()
        .filter(|(_, value)| is_mode(value));
    if let Some((name, _)) = joined
        && flag.len() >= 4
        && name.eq_ignore_ascii_case(flag)
    {
        return true;
    }
    if !value.is_some_and(is_mode) {
        return false;
    }
    if name == flag {
        // The flag itself: a typo only in its dashes.
        return odd_dashes;
    }
    // In another case, however short the name.
    if name.eq_ignore_ascii_case(flag) {
        return true;
    }
    let allowed = if flag.len() >= 8 { 2 } else { 1 };
    let (name, flag) = (name.to_ascii_lowercase(), flag.to_ascii_lowercase());
    flag.len() >= 4 && crate::rules::typo::within_edits(&name, &flag, allowed)
}

/// Whether `arg` is the listener flag `-name=ADDR` mistyped: the name in
/// another case, with `_` for `-` or `-` for `_` (`-admin_http` for
/// `admin-http`), or behind typeset or extra dashes, with a value after `=`
/// that `fits` (an address for that listener). Two words are not looked
/// at: the next argument may be a program switch's positional. A
/// program's own flag that merely looks alike, with another value, is not
/// either.
///
/// ```ignore
/// assert!(misspelt_listener("-HTTPS=:8443", "https", |a| a.contains(':')));
/// ```
pub(crate) fn misspelt_listener(arg: &str, name: &str, fits: impl Fn(&str) -> bool) -> bool {
    let Some((body, odd_dashes)) = after_dashes(arg) else {
        return false;
    };
    let Some((written, value)) = body.split_once('=') else {
        return false;
    };
    let underscored = |s: &str| s.replace('-', "_");
    let looks_so = (written != name || odd_dashes)
        && underscored(written).eq_ignore_ascii_case(&underscored(name));
    // An empty value fits: `-HTTPS=` meant to turn `https` off; blanks
    // around it (a CRLF script's last word) do not make it another.
    looks_so && (fits(value) || fits(value.trim()))
}

/// Whether `arg` is the switch `--name` (a flag without a value) mistyped:
/// given a value, in another case, behind odd dashes, or misspelt as the
/// attribute's keys are judged ([`is_typo`](crate::rules::is_typo): one
/// edit, two adjacent letters swapped among them, for a name of four
/// letters; two for longer ones; none below four).
///
/// ```ignore
/// assert!(misspelt_switch("--jsno", "json"));
/// assert!(!misspelt_switch("--verbose", "json"));
/// ```
pub(crate) fn misspelt_switch(arg: &str, name: &str) -> bool {
    let Some((body, odd_dashes)) = after_dashes(arg) else {
        return false;
    };
    if let Some((written, _)) = body.split_once('=') {
        return written.eq_ignore_ascii_case(name);
    }
    if body == name {
        return odd_dashes;
    }
    let written = body.to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    written == name || (name.len() >= 4 && crate::rules::is_typo(&written, &name))
}

/// What follows the leading dashes of `arg`, and whether those are odd
/// (more than two, or typeset: a dash pasted from formatted text,
/// `—littleboss=stop`, is a dash too); `None` without any.
fn after_dashes(arg: &str) -> Option<(&str, bool)> {
    let is_dash = |c: char| c == '-' || ('\u{2010}'..='\u{2015}').contains(&c) || c == '\u{2212}';
    let body = arg.trim_start_matches(is_dash);
    let dashes = &arg[..arg.len() - body.len()];
    // One or two ASCII dashes are a flag's own.
    let odd = dashes.len() > 2 || dashes.chars().any(|c| c != '-');
    (!dashes.is_empty()).then_some((body, odd))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODES: &[&str] = &["bypass", "start", "reload", "stop", "status"];

    fn miss(arg: &str, next: Option<&str>) -> bool {
        misspelt(arg, next, "littleboss", MODES)
    }

    #[test]
    fn typos_of_the_mode_flag_with_a_mode_are_caught() {
        for arg in [
            "-littlebos=stop",
            "--littlebos=stop",
            "-LITTLEBOSS=status",
            "-Littleboss=reload",
            "---littleboss=status",
            "-littelboss=start",
            "-litleboss=stop",
            "-littlebosss=stop",
            "-littlebos=STOP",
            "\u{2014}littleboss=reload",
            "\u{2013}littleboss=stop",
            "\u{2212}littleboss=status",
            // A slip of the `=`.
            "-littleboss:start",
            "-littleboss-stop",
            "--littleboss_status",
            "-LITTLEBOSS-Reload",
            // A CRLF script's last word.
            "-LITTLEBOSS=stop\r",
            "-littlebos=stop\r",
            "-littleboss:stop\r",
        ] {
            assert!(miss(arg, None), "{arg}");
        }
        assert!(
            miss("-Littleboss", Some("stop ")),
            "a blank after the next word"
        );
        assert!(
            miss("-littlebos", Some("stop")),
            "value as the next argument"
        );
    }

    #[test]
    fn the_flag_itself_and_a_programs_own_flags_are_not() {
        for (arg, next) in [
            ("-littleboss=stop", None),
            ("--littleboss=stop", None),
            ("-littlebos=7", None),
            ("-littlebos", Some("file.txt")),
            ("-littlebos", None),
            ("-lit=stop", None),
            ("-verbose=stop", None),
            ("littlebos=stop", None),
            ("-ittlebo=stop", None),
            ("-littleboss-verbose", None),
            ("-log:stop", None),
            ("-littleboss-stop=1", None),
            // Misspelt as well: too far from the flag to be sure.
            ("-littlebos:stop", None),
        ] {
            assert!(!miss(arg, next), "{arg} {next:?}");
        }
        // A program's own options that begin as a short flag's name does.
        assert!(!misspelt("--lb-status", None, "lb", MODES));
        assert!(!misspelt("--code-reload", None, "mode", MODES));
        assert!(misspelt("--mode-reload", None, "mode", MODES));
        // Case alone is a typo of a short name too.
        assert!(misspelt("-LB=stop", None, "lb", MODES));
        assert!(!misspelt("-lb=stop", None, "lb", MODES));
        // A short flag name allows one letter of difference, not two.
        assert!(misspelt("-mde=stop", None, "mode", MODES));
        // Two letters swapped are one slip.
        assert!(misspelt("-mdoe=stop", None, "mode", MODES));
        assert!(!misspelt("-md=stop", None, "mode", MODES));
        assert!(!misspelt("-x=stop", None, "lb", MODES));
    }

    #[test]
    fn a_listener_flag_in_another_case_or_with_typeset_dashes_is_caught() {
        let address = |v: &str| v.contains(':');
        for arg in [
            "-HTTPS=127.0.0.1:8443",
            "--Https=:8443",
            "\u{2014}https=:8443",
            "---https=:8443",
        ] {
            assert!(misspelt_listener(arg, "https", address), "{arg}");
        }
        // A dashed name's `-` written `_`, or the other way round.
        assert!(misspelt_listener(
            "-admin_http=:9000",
            "admin-http",
            address
        ));
        assert!(misspelt_listener(
            "-Admin-Http=:9000",
            "admin_http",
            address
        ));
        assert!(!misspelt_listener(
            "-admin_http=:9000",
            "admin_http",
            address
        ));
        for arg in [
            "-https=:8443",
            "--https=:8443",
            "-HTTPS=yes",
            "-HTTPS",
            "-htps=:8443",
        ] {
            assert!(!misspelt_listener(arg, "https", address), "{arg}");
        }
        // A CRLF script's last word: the address with a blank after it.
        let exact = |v: &str| v == ":8443";
        assert!(misspelt_listener("-HTTPS=:8443\r", "https", exact));
        // Empty: the listener turned off, as `-https=` does.
        let off_or_address = |v: &str| v.is_empty() || v.contains(':');
        assert!(misspelt_listener("-HTTPS=", "https", off_or_address));
    }

    #[test]
    fn typos_of_a_switch_are_caught_and_other_flags_are_not() {
        for arg in [
            "--jsno",
            "--JSON",
            "-Json",
            "---json",
            "\u{2014}json",
            "--json=true",
            "--jso",
            "--jsonn",
            "-sjon",
        ] {
            assert!(misspelt_switch(arg, "json"), "{arg}");
        }
        for arg in [
            "--json",
            "-json",
            "json",
            "--jobs",
            "-v",
            "--on",
            "--js",
            "--config=x.json",
            "-",
            "--",
        ] {
            assert!(!misspelt_switch(arg, "json"), "{arg}");
        }
    }
}
