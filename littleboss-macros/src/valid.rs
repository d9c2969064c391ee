//! Checks on the strings in the attribute: names, listener specs and
//! durations. Pure functions that return the message for the user; `attr`
//! puts it on the right tokens.
//!
//! The rules are the runtime's (`littleboss/src/spec.rs`): what compiles
//! also starts.

use std::net::Ipv6Addr;

/// The networks a listener may use, as the messages list them.
const NETWORKS: &str = "tcp, tcp4, tcp6, udp, udp4, udp6 or unix";

/// A service name names the control socket: `[A-Za-z0-9_-]+`.
pub(crate) fn service_name(name: &str) -> Result<(), String> {
    allowed_chars("service name", name)
}

/// The mode flag and listener names become command-line flags
/// (`-littleboss=start`, `-https=:8443`): `[A-Za-z0-9_-]+`, no leading `-`,
/// and not `h` or `help`, which are taken by `-h`/`--help`.
///
/// `what` is how the message names it: "flag name" or "listener name".
pub(crate) fn flag_name(what: &str, name: &str) -> Result<(), String> {
    allowed_chars(what, name)?;
    if name.starts_with('-') {
        let bare = name.trim_start_matches('-');
        return Err(format!(
            "{what} `{name}` starts with `-`; give it without dashes, like `{bare}`"
        ));
    }
    if name == "h" || name == "help" {
        return Err(format!("{what} `{name}` is taken by -h/--help"));
    }
    Ok(())
}

fn allowed_chars(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!(
            "the {what} is empty; use letters, digits, `_` and `-`"
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if let Some(c) = name.chars().find(|&c| !allowed(c)) {
        return Err(format!(
            "{what} `{}` contains `{}`; use only letters, digits, `_` and `-`",
            name.escape_debug(),
            c.escape_debug(),
        ));
    }
    Ok(())
}

/// A listener declaration `NET:ADDR`. An empty ADDR declares a listener that
/// is off unless the command line gives it an address.
pub(crate) fn listener_spec(spec: &str) -> Result<(), String> {
    let Some((net, addr)) = spec.split_once(':') else {
        return Err(format!(
            "`{}` is not NET:ADDR (NET is {NETWORKS}), like \"tcp::8080\"",
            spec.escape_debug()
        ));
    };
    if net.is_empty() {
        return Err(format!(
            "`{}` has no network before `:`; expected {NETWORKS}, like \"tcp::8080\"",
            spec.escape_debug()
        ));
    }
    let unix = match net {
        "tcp" | "tcp4" | "tcp6" | "udp" | "udp4" | "udp6" => false,
        "unix" => true,
        _ => {
            return Err(format!(
                "unknown network `{}` in `{}`; expected {NETWORKS}",
                net.escape_debug(),
                spec.escape_debug()
            ));
        }
    };
    if addr.is_empty() {
        Ok(())
    } else if unix {
        unix_path(addr)
    } else {
        host_port(addr)
    }
}

fn unix_path(path: &str) -> Result<(), String> {
    if path.contains('\0') {
        return Err(format!(
            "unix path `{}` contains a NUL byte",
            path.escape_debug()
        ));
    }
    Ok(())
}

/// `host:port`, where host is empty (every address), a hostname, an IPv4
/// address or a bracketed IPv6 address.
fn host_port(addr: &str) -> Result<(), String> {
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Err(if is_digits(addr) {
            format!("address `{addr}` has no host part; write `:{addr}` for every address")
        } else {
            format!(
                "address `{}` is not HOST:PORT, like `:8080` or `127.0.0.1:8080`",
                addr.escape_debug()
            )
        });
    };
    if let Some(inner) = host.strip_prefix('[') {
        let Some(inner) = inner.strip_suffix(']') else {
            return Err(format!(
                "address `{}` has an unclosed `[`",
                addr.escape_debug()
            ));
        };
        if inner.parse::<Ipv6Addr>().is_err() {
            return Err(format!(
                "`{}` in `{}` is not an IPv6 address",
                inner.escape_debug(),
                addr.escape_debug()
            ));
        }
    } else if host.contains(':') {
        return Err(if host.parse::<Ipv6Addr>().is_ok() {
            format!("write the IPv6 host in brackets: `[{host}]:{port}`")
        } else if addr.parse::<Ipv6Addr>().is_ok() {
            format!("address `{addr}` has no port; write an IPv6 host in brackets: `[{addr}]:PORT`")
        } else {
            format!(
                "host `{}` contains `:`; write an IPv6 host in brackets, like `[::1]:8080`",
                host.escape_debug()
            )
        });
    } else if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(format!(
            "host `{}` is not a hostname or an IP address",
            host.escape_debug()
        ));
    }
    if port.is_empty() {
        return Err(format!(
            "address `{}` has no port after `:` (port 0 picks a free one)",
            addr.escape_debug()
        ));
    }
    if !is_digits(port) {
        return Err(format!("port `{}` is not a number", port.escape_debug()));
    }
    if port.parse::<u16>().is_err() {
        return Err(format!("port {port} is out of range (0-65535)"));
    }
    Ok(())
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A duration: a number, possibly with a fraction, and a unit `ms`, `s`, `m`
/// or `h` (`"250ms"`, `"2s"`, `"1.5m"`), as whole milliseconds.
pub(crate) fn duration_millis(s: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "bad duration `{}`: expected a number and a unit (ms, s, m or h), like \"2s\" or \"500ms\"",
            s.escape_debug()
        )
    };
    let unit_at = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(bad)?;
    let (number, unit) = s.split_at(unit_at);
    let unit_millis: u128 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(bad()),
    };
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) if is_digits(fraction) => (whole, fraction),
        Some(_) => return Err(bad()),
        None => (number, ""),
    };
    if !is_digits(whole) {
        return Err(bad());
    }
    let too_long = || format!("duration `{s}` is too long");
    let not_whole = || format!("duration `{s}` is not a whole number of milliseconds");
    // Exact integer arithmetic: `whole.fraction * unit_millis` must come out
    // as whole milliseconds. Past 7 significant decimals it cannot (10^8
    // does not divide `fraction * 3_600_000` when `fraction` does not end
    // in 0), which also keeps the numbers below far from overflowing.
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > 7 {
        return Err(not_whole());
    }
    if whole.len() > 20 {
        return Err(too_long());
    }
    let scale = 10u128.pow(fraction.len() as u32);
    let whole: u128 = whole.parse().map_err(|_| too_long())?;
    let fraction: u128 = fraction.parse().unwrap_or(0);
    let scaled = (whole * scale + fraction) * unit_millis;
    if !scaled.is_multiple_of(scale) {
        return Err(not_whole());
    }
    u64::try_from(scaled / scale).map_err(|_| too_long())
}

/// A restart limit `N in DURATION` (`"5 in 60s"`): at most N restarts, a
/// `u32`, within a window that is a [duration](duration_millis) longer than
/// zero. Returns N and the window in milliseconds.
pub(crate) fn restart_limit(s: &str) -> Result<(u32, u64), String> {
    let mut parts = s.split(' ');
    let (Some(max), Some("in"), Some(window), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!(
            "bad restart_limit `{}`: expected \"N in DURATION\", like \"5 in 60s\"",
            s.escape_debug()
        ));
    };
    // `u32::from_str` takes a leading `+`; a count is digits only.
    let max = match max.parse::<u32>() {
        Ok(n) if is_digits(max) => n,
        _ => {
            return Err(format!(
                "bad restart count `{}`: expected a whole number from 0 to {}",
                max.escape_debug(),
                u32::MAX
            ));
        }
    };
    let window = duration_millis(window)?;
    if window == 0 {
        return Err("the `restart_limit` window must be more than zero".to_owned());
    }
    Ok((max, window))
}

/// Whether `word` looks like a misspelling of `key`: at most one edit for
/// short keys, two for longer ones, an edit being an inserted, deleted or
/// replaced character or two adjacent ones swapped.
pub(crate) fn is_typo(word: &str, key: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (word.chars().collect(), key.chars().collect());
    let limit = if b.len() <= 4 { 1 } else { 2 };
    if a.len().abs_diff(b.len()) > limit {
        return false;
    }
    // d[i][j]: the edits from the first i characters of `word` to the first
    // j of `key` (optimal string alignment distance).
    let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()] <= limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names() {
        assert_eq!(service_name("my-blog_2"), Ok(()));
        assert_eq!(
            service_name("my blog").unwrap_err(),
            "service name `my blog` contains ` `; use only letters, digits, `_` and `-`"
        );
        assert_eq!(
            service_name("").unwrap_err(),
            "the service name is empty; use letters, digits, `_` and `-`"
        );
        assert!(service_name("a/b").unwrap_err().contains("`/`"));
        assert!(service_name("a\nb").unwrap_err().contains("`\\n`"));
        assert!(service_name("café").unwrap_err().contains("`é`"));
    }

    #[test]
    fn flag_names() {
        assert_eq!(flag_name("flag name", "lb"), Ok(()));
        assert_eq!(flag_name("flag name", "my-flag_2"), Ok(()));
        assert_eq!(
            flag_name("flag name", "-lb").unwrap_err(),
            "flag name `-lb` starts with `-`; give it without dashes, like `lb`"
        );
        assert_eq!(
            flag_name("listener name", "help").unwrap_err(),
            "listener name `help` is taken by -h/--help"
        );
        assert!(flag_name("flag name", "h").is_err());
        assert!(flag_name("flag name", "").is_err());
        assert!(flag_name("flag name", "a=b").unwrap_err().contains("`=`"));
    }

    #[test]
    fn good_listener_specs() {
        for spec in [
            "tcp::443",
            "tcp:",
            "tcp4:127.0.0.1:0",
            "tcp6:[::1]:80",
            "tcp6:[::]:80",
            "udp:localhost:53",
            "udp4:0.0.0.0:65535",
            "udp6:",
            "tcp:my-host.example.com:8080",
            "unix:/run/app.sock",
            "unix:relative.sock",
            "unix:",
        ] {
            assert_eq!(listener_spec(spec), Ok(()), "{spec}");
        }
    }

    #[test]
    fn bad_listener_specs() {
        let cases = [
            (
                "sctp::80",
                "unknown network `sctp` in `sctp::80`; expected tcp, tcp4, tcp6, udp, udp4, udp6 or unix",
            ),
            (
                "8080",
                "`8080` is not NET:ADDR (NET is tcp, tcp4, tcp6, udp, udp4, udp6 or unix), like \"tcp::8080\"",
            ),
            (
                ":8080",
                "`:8080` has no network before `:`; expected tcp, tcp4, tcp6, udp, udp4, udp6 or unix, like \"tcp::8080\"",
            ),
            (
                "tcp:8080",
                "address `8080` has no host part; write `:8080` for every address",
            ),
            (
                "tcp:localhost",
                "address `localhost` is not HOST:PORT, like `:8080` or `127.0.0.1:8080`",
            ),
            ("tcp::http", "port `http` is not a number"),
            ("tcp::70000", "port 70000 is out of range (0-65535)"),
            ("tcp::-1", "port `-1` is not a number"),
            (
                "tcp:localhost:",
                "address `localhost:` has no port after `:` (port 0 picks a free one)",
            ),
            ("tcp:::1:80", "write the IPv6 host in brackets: `[::1]:80`"),
            (
                "tcp6:::1",
                "address `::1` has no port; write an IPv6 host in brackets: `[::1]:PORT`",
            ),
            ("tcp:[::1:80", "address `[::1:80` has an unclosed `[`"),
            ("tcp:[zz]:80", "`zz` in `[zz]:80` is not an IPv6 address"),
            (
                "tcp:my host:80",
                "host `my host` is not a hostname or an IP address",
            ),
            ("unix:a\0b", "unix path `a\\0b` contains a NUL byte"),
        ];
        for (spec, message) in cases {
            assert_eq!(listener_spec(spec).unwrap_err(), message, "{spec}");
        }
    }

    #[test]
    fn restart_limits() {
        assert_eq!(restart_limit("5 in 60s"), Ok((5, 60_000)));
        assert_eq!(restart_limit("0 in 1ms"), Ok((0, 1)));
        assert_eq!(restart_limit("10 in 1.5m"), Ok((10, 90_000)));
        assert_eq!(restart_limit("007 in 1h"), Ok((7, 3_600_000)));
        assert_eq!(restart_limit("4294967295 in 5m"), Ok((u32::MAX, 300_000)));
    }

    #[test]
    fn bad_restart_limits() {
        let form = |s: &str| {
            format!(
                "bad restart_limit `{}`: expected \"N in DURATION\", like \"5 in 60s\"",
                s.escape_debug()
            )
        };
        for s in [
            "",
            "5",
            "5 60s",
            "5in60s",
            "5 in",
            "in 60s",
            " 5 in 60s",
            "5 in 60s ",
            "5  in 60s",
            "5 in  60s",
            "5 in 60 s",
            "5 per 60s",
            "5 IN 60s",
            "5\tin 60s",
            "5 in 60s in 1m",
        ] {
            assert_eq!(restart_limit(s), Err(form(s)), "{s:?}");
        }

        let count = |n: &str| {
            format!("bad restart count `{n}`: expected a whole number from 0 to 4294967295")
        };
        for (n, s) in [
            ("five", "five in 60s"),
            ("-1", "-1 in 60s"),
            ("+5", "+5 in 60s"),
            ("1.5", "1.5 in 60s"),
            ("4294967296", "4294967296 in 60s"),
            ("99999999999999999999999", "99999999999999999999999 in 60s"),
        ] {
            assert_eq!(restart_limit(s), Err(count(n)), "{s}");
        }

        // The window is a duration, with the same messages as `lameduck`.
        for (s, window) in [("5 in 60", "60"), ("5 in 1min", "1min"), ("5 in s", "s")] {
            assert_eq!(restart_limit(s), Err(duration_millis(window).unwrap_err()));
            assert!(
                restart_limit(s).unwrap_err().starts_with(&format!(
                    "bad duration `{window}`: expected a number and a unit"
                )),
                "{s}"
            );
        }
        assert_eq!(
            restart_limit("5 in 1.5ms").unwrap_err(),
            "duration `1.5ms` is not a whole number of milliseconds"
        );

        for s in ["5 in 0s", "5 in 0ms", "5 in 0.0h"] {
            assert_eq!(
                restart_limit(s).unwrap_err(),
                "the `restart_limit` window must be more than zero",
                "{s}"
            );
        }
    }

    #[test]
    fn typos() {
        assert!(is_typo("nmae", "name"));
        assert!(!is_typo("nmea", "name"));
        assert!(is_typo("nam", "name"));
        assert!(is_typo("names", "name"));
        assert!(is_typo("listeners", "listener"));
        assert!(is_typo("lame_duck", "lameduck"));
        assert!(is_typo("worker_thread", "worker_threads"));
        assert!(is_typo("readytimeout", "ready_timeout"));
        assert!(!is_typo("foo", "flag"));
        assert!(!is_typo("help", "name"));
        assert!(!is_typo("flavour_x", "flavor"));
    }

    #[test]
    fn durations() {
        assert_eq!(duration_millis("250ms"), Ok(250));
        assert_eq!(duration_millis("2s"), Ok(2_000));
        assert_eq!(duration_millis("0s"), Ok(0));
        assert_eq!(duration_millis("1m"), Ok(60_000));
        assert_eq!(duration_millis("1h"), Ok(3_600_000));
        assert_eq!(duration_millis("1.5s"), Ok(1_500));
        assert_eq!(duration_millis("0.25m"), Ok(15_000));
        assert_eq!(duration_millis("1.500000000000000000000000s"), Ok(1_500));
        assert_eq!(duration_millis("007s"), Ok(7_000));
    }

    #[test]
    fn bad_durations() {
        let bad = |s: &str| {
            format!(
                "bad duration `{s}`: expected a number and a unit (ms, s, m or h), like \"2s\" or \"500ms\""
            )
        };
        for s in [
            "2 sec", "2", "s", "", "2S", "-1s", "1.s", ".5s", "1..5s", "1.2.3s", "2sec", "1e3ms",
        ] {
            assert_eq!(duration_millis(s), Err(bad(s)), "{s}");
        }
        assert_eq!(
            duration_millis("1.0005s").unwrap_err(),
            "duration `1.0005s` is not a whole number of milliseconds"
        );
        assert_eq!(
            duration_millis("1.5ms").unwrap_err(),
            "duration `1.5ms` is not a whole number of milliseconds"
        );
        assert_eq!(
            duration_millis("99999999999999999999h").unwrap_err(),
            "duration `99999999999999999999h` is too long"
        );
        assert!(
            duration_millis("123456789012345678901s")
                .unwrap_err()
                .contains("too long")
        );
        assert!(
            duration_millis("1.00000001h")
                .unwrap_err()
                .contains("whole number")
        );
        assert_eq!(duration_millis("0.0000025h"), Ok(9));
        assert_eq!(duration_millis("18446744073709551615ms"), Ok(u64::MAX));
        assert!(
            duration_millis("18446744073709551616ms")
                .unwrap_err()
                .contains("too long")
        );
    }
}
