//! Durations as the attribute writes them (`"2s"`, `"1.5m"`) and the
//! restart limit `"N in DURATION"`. The builder takes `Duration`s, so only
//! the macro parses text; the limits on the values are in `settings`.

use super::RuleError;
use super::address::is_digits;
use super::settings::{nonzero_restart_window, some_restarts};

/// A duration given to the builder must be whole milliseconds that fit in
/// a `u64`, as the attribute's must: a `Duration::MAX` ("never") would
/// overflow the supervisor's deadlines, and a child tells its supervisor
/// its settings in milliseconds (500 µs would be 0).
pub(crate) fn duration_fits(key: &str, duration: std::time::Duration) -> Result<(), RuleError> {
    if duration.as_millis() > u128::from(u64::MAX) {
        return Err(RuleError::DurationTooLong {
            key: key.to_owned(),
            text: format!("{duration:?}"),
        });
    }
    if !duration.subsec_nanos().is_multiple_of(1_000_000) {
        return Err(RuleError::DurationNotWholeMillis {
            key: key.to_owned(),
            text: format!("{duration:?}"),
        });
    }
    Ok(())
}

/// A duration: a number, possibly with a fraction, and a unit `ms`, `s`, `m`
/// or `h` (`"250ms"`, `"2s"`, `"1.5m"`), as whole milliseconds; `key` is
/// the setting, which an error names.
pub(crate) fn duration_millis(key: &str, s: &str) -> Result<u64, RuleError> {
    let text = || s.to_owned();
    let bad = || RuleError::BadDuration { text: text() };
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
    let too_long = || RuleError::DurationTooLong {
        key: key.to_owned(),
        text: text(),
    };
    let not_whole = || RuleError::DurationNotWholeMillis {
        key: key.to_owned(),
        text: text(),
    };
    // Exact integer arithmetic: `whole.fraction * unit_millis` must come out
    // as whole milliseconds. Past 7 significant decimals it cannot (10^8
    // does not divide `fraction * 3_600_000` when `fraction` does not end
    // in 0); that, and `past_u64` first, keep the numbers below far from
    // overflowing.
    // Too long before not whole, as the builder's `duration_fits` judges
    // a `Duration`: the same mistake, the same words.
    // Leading zeros say nothing of the length (`0000…1s`).
    let whole = match whole.trim_start_matches('0') {
        "" => "0",
        digits => digits,
    };
    if whole.len() > 20 {
        return Err(too_long());
    }
    let whole: u128 = whole.parse().map_err(|_| too_long())?;
    let fraction = fraction.trim_end_matches('0');
    if past_u64(whole, fraction, unit_millis) {
        return Err(too_long());
    }
    if fraction.len() > 7 {
        return Err(not_whole());
    }
    let scale = 10u128.pow(fraction.len() as u32);
    let fraction: u128 = fraction.parse().unwrap_or(0);
    let scaled = (whole * scale + fraction) * unit_millis;
    let millis = u64::try_from(scaled / scale).map_err(|_| too_long())?;
    if !scaled.is_multiple_of(scale) {
        return Err(not_whole());
    }
    Ok(millis)
}

/// The duration a bad one was most likely meant to be, written as the
/// attribute takes it: `".5s"` → `"0.5s"`, `"2 sec"` → `"2s"`, `"1Min"` →
/// `"1m"`. `None` when no such reading parses, or the text gives no unit
/// to go by (`"2"` could be any), or the number would change (`"1 5s"`),
/// or the unit may be another (`"5M"`, months to some), or the reading is
/// zero, which some settings refuse.
pub(crate) fn duration_near_miss(text: &str) -> Option<String> {
    let trimmed = text.trim();
    let unit_at = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = trimmed.split_at(unit_at);
    let unit = match unit.trim_start() {
        "M" => return None,
        unit => unit.to_ascii_lowercase(),
    };
    let unit = match unit.as_str() {
        "ms" | "msec" | "msecs" | "millis" | "millisecond" | "milliseconds" => "ms",
        "s" | "sec" | "secs" | "second" | "seconds" => "s",
        "m" | "min" | "mins" | "minute" | "minutes" => "m",
        "h" | "hr" | "hrs" | "hour" | "hours" => "h",
        _ => return None,
    };
    let number = number.strip_suffix('.').unwrap_or(number);
    let number = match number.strip_prefix('.') {
        Some(fraction) => format!("0.{fraction}"),
        None => number.to_owned(),
    };
    let candidate = format!("{number}{unit}");
    let nonzero = duration_millis("", &candidate).is_ok_and(|millis| millis > 0);
    (candidate != text && nonzero).then_some(candidate)
}

/// Whether `whole.fraction` (`fraction` decimal digits) units of
/// `unit_millis` come to more milliseconds than a `u64` holds: compared
/// digit by digit with `(u64::MAX + 1) / unit_millis`, exactly, however
/// many decimals there are.
fn past_u64(whole: u128, fraction: &str, unit_millis: u128) -> bool {
    let limit = u128::from(u64::MAX) + 1;
    let limit_whole = limit / unit_millis;
    if whole != limit_whole {
        return whole > limit_whole;
    }
    let mut rest = limit % unit_millis;
    for digit in fraction.bytes().map(|b| u128::from(b - b'0')) {
        rest *= 10;
        let limit_digit = rest / unit_millis;
        rest %= unit_millis;
        if digit != limit_digit {
            return digit > limit_digit;
        }
    }
    // Every digit the limit's: at it (past the largest) if its expansion
    // ends there.
    rest == 0
}

/// A restart limit `N in DURATION` (`"5 in 60s"`): at most N restarts, a
/// `u32` of at least 1, within a window that is a
/// [duration](duration_millis) longer than zero. Returns N and the window
/// in milliseconds.
pub(crate) fn restart_limit(s: &str) -> Result<(u32, u64), RuleError> {
    let mut parts = s.split(' ');
    let (Some(max), Some("in"), Some(window), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(RuleError::BadRestartLimit { text: s.to_owned() });
    };
    // `u32::from_str` takes a leading `+`; a count is digits only.
    let max = match max.parse::<u32>() {
        Ok(n) if is_digits(max) => n,
        _ => {
            return Err(RuleError::BadRestartCount {
                text: max.to_owned(),
            });
        }
    };
    some_restarts(max)?;
    let window = duration_millis("restart_limit", window)?;
    nonzero_restart_window(window == 0)?;
    Ok((max, window))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<T: std::fmt::Debug>(result: Result<T, RuleError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn restart_limits() {
        assert_eq!(restart_limit("5 in 60s"), Ok((5, 60_000)));
        assert_eq!(restart_limit("1 in 1ms"), Ok((1, 1)));
        assert_eq!(restart_limit("0 in 60s"), Err(RuleError::NoRestarts));
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
            assert_eq!(message(restart_limit(s)), form(s), "{s:?}");
        }

        let count = |n: &str| {
            format!("bad restart count `{n}`: expected a whole number from 1 to 4294967295")
        };
        for (n, s) in [
            ("five", "five in 60s"),
            ("-1", "-1 in 60s"),
            ("+5", "+5 in 60s"),
            ("1.5", "1.5 in 60s"),
            ("4294967296", "4294967296 in 60s"),
            ("99999999999999999999999", "99999999999999999999999 in 60s"),
        ] {
            assert_eq!(message(restart_limit(s)), count(n), "{s}");
        }

        // The window is a duration, with the same messages as `lameduck`.
        for (s, window) in [("5 in 60", "60"), ("5 in 1min", "1min"), ("5 in s", "s")] {
            assert_eq!(
                restart_limit(s),
                Err(RuleError::BadDuration {
                    text: window.to_owned()
                })
            );
        }
        assert_eq!(
            message(restart_limit("5 in 1.5ms")),
            "`restart_limit`: duration `1.5ms` is not a whole number of milliseconds"
        );

        for s in ["5 in 0s", "5 in 0ms", "5 in 0.0h"] {
            assert_eq!(
                message(restart_limit(s)),
                "the `restart_limit` window must be more than zero",
                "{s}"
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration_millis("lameduck", "250ms"), Ok(250));
        assert_eq!(duration_millis("lameduck", "2s"), Ok(2_000));
        assert_eq!(duration_millis("lameduck", "0s"), Ok(0));
        assert_eq!(duration_millis("lameduck", "1m"), Ok(60_000));
        assert_eq!(duration_millis("lameduck", "1h"), Ok(3_600_000));
        assert_eq!(duration_millis("lameduck", "1.5s"), Ok(1_500));
        assert_eq!(duration_millis("lameduck", "0.25m"), Ok(15_000));
        assert_eq!(
            duration_millis("lameduck", "1.500000000000000000000000s"),
            Ok(1_500)
        );
        assert_eq!(duration_millis("lameduck", "007s"), Ok(7_000));
        assert_eq!(duration_millis("lameduck", "0.0000025h"), Ok(9));
        assert_eq!(
            duration_millis("lameduck", "18446744073709551615ms"),
            Ok(u64::MAX)
        );
        assert_eq!(
            duration_millis("lameduck", "000000000000000000000001s"),
            Ok(1_000)
        );
    }

    #[test]
    fn near_misses_of_durations() {
        for (text, meant) in [
            (".5s", "0.5s"),
            ("1.s", "1s"),
            ("2 sec", "2s"),
            ("2secs", "2s"),
            ("2S", "2s"),
            ("1Min", "1m"),
            ("1.5 minutes", "1.5m"),
            ("3hrs", "3h"),
            ("250 millis", "250ms"),
            (" 2s", "2s"),
        ] {
            assert_eq!(duration_near_miss(text).as_deref(), Some(meant), "{text}");
        }
        // No unit to go by, no number, or a reading that does not parse
        // either: no guess.
        for text in [
            "2",
            "s",
            "",
            "-1s",
            "1..5s",
            "1e3ms",
            "2 fortnights",
            "2s",
            "1.0005s",
            // The number would change; the unit may be months; zero, which
            // `ready_timeout` and a restart window refuse (review 965).
            "1 5s",
            "5M",
            "0 sec",
            "0.0 s",
        ] {
            assert_eq!(duration_near_miss(text), None, "{text}");
        }
    }

    #[test]
    fn bad_durations() {
        let bad = |s: &str| {
            format!(
                "bad duration `{s}`: expected a number and a unit (ms, s, m or h), like \"2s\" or \"500ms\""
            )
        };
        for s in ["2", "s", "", "-1s", "1..5s", "1.2.3s", "1e3ms"] {
            assert_eq!(message(duration_millis("lameduck", s)), bad(s), "{s}");
        }
        for (s, meant) in [
            ("2 sec", "2s"),
            ("2S", "2s"),
            (".5s", "0.5s"),
            ("1.s", "1s"),
        ] {
            assert_eq!(
                message(duration_millis("lameduck", s)),
                format!("{}; did you mean \"{meant}\"?", bad(s)),
                "{s}"
            );
        }
        assert_eq!(
            message(duration_millis("lameduck", "1.0005s")),
            "`lameduck`: duration `1.0005s` is not a whole number of milliseconds"
        );
        assert_eq!(
            message(duration_millis("lameduck", "1.5ms")),
            "`lameduck`: duration `1.5ms` is not a whole number of milliseconds"
        );
        assert_eq!(
            message(duration_millis("lameduck", "99999999999999999999h")),
            "`lameduck`: duration `99999999999999999999h` is too long"
        );
        assert!(
            message(duration_millis("lameduck", "123456789012345678901s")).contains("too long")
        );
        assert!(message(duration_millis("lameduck", "1.00000001h")).contains("whole number"));
        assert!(
            message(duration_millis("lameduck", "18446744073709551616ms")).contains("too long")
        );
        // Too long before not whole, as the builder judges a `Duration`
        // (review 364): both at once is said as too long.
        for s in [
            "99999999999999999999.5ms",
            "18446744073709551616.5ms",
            "18446744073709551615.0000005s",
            "5124095576030.99999999h",
        ] {
            assert!(
                message(duration_millis("lameduck", s)).ends_with("is too long"),
                "{s}"
            );
        }
        // At the very top: whole, or not whole, as it is.
        assert_eq!(
            duration_millis("lameduck", "18446744073709551615ms"),
            Ok(u64::MAX)
        );
        assert!(
            message(duration_millis("lameduck", "18446744073709551614.5ms"))
                .contains("whole number")
        );
    }
}
