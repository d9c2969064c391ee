//! Properties of the rules (`rules/`), over inputs no one wrote by hand:
//! any text is judged without a panic, in one line; the normal forms are
//! fixed points; overlap is symmetric; durations and limits read back.
//! (Outside `rules/`, which `littleboss-macros` compiles too, without
//! proptest.)

use proptest::prelude::*;

use crate::rules::{
    binds_alike, clean_path, duration_millis, listener_spec, normalise_host_port, restart_limit,
    socket_conflicts, socket_of,
};

/// Text near the rules' own: networks, hosts, ports, paths and units in
/// pieces, and anything else.
fn spec_text() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "tcp",
        "tcp4",
        "tcp6",
        "udp",
        "udp4",
        "udp6",
        "unix",
        "TCP",
        ":",
        "::",
        "[",
        "]",
        "[::1]",
        "[::]",
        "0.0.0.0",
        "127.0.0.1",
        "localhost",
        "LocalHost",
        "example.com",
        "80",
        "080",
        "0",
        "65535",
        "65536",
        "/",
        "./",
        "..",
        "a.sock",
        "@x",
        " ",
        "-",
        "%eth0",
        // What a message must escape to stay on one line, and inert.
        "\n",
        "\r",
        "\u{1b}[2J",
        "\u{9b}",
        "\t",
    ]);
    let pieces = prop::collection::vec(piece, 0..6).prop_map(|p| p.concat());
    // Most with a network first, as a declaration has, to reach the
    // address's rules.
    let network = prop::sample::select(vec!["tcp:", "tcp4:", "tcp6:", "udp:", "udp6:", "unix:"]);
    let declared = (network, pieces.clone()).prop_map(|(network, rest)| format!("{network}{rest}"));
    prop_oneof![4 => declared, 2 => pieces, 1 => "(?s).{0,30}"]
}

/// Text near a duration's or a restart limit's: numbers, units and the
/// words between, in pieces, with what must be escaped.
fn duration_text() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "0",
        "1",
        "5",
        "60",
        "007",
        "18446744073709551616",
        ".",
        "1.5",
        "ms",
        "s",
        "m",
        "h",
        "S",
        " in ",
        "in",
        " ",
        "-",
        "+",
        "\u{0663}",
        "\n",
        "\u{1b}[2J",
        "\u{9b}",
        "\t",
    ]);
    let pieces = prop::collection::vec(piece, 0..7).prop_map(|p| p.concat());
    prop_oneof![4 => pieces, 1 => "(?s).{0,20}"]
}

/// Whether a message is one line, with no control character a terminal
/// acts on (C0, DEL or C1).
fn one_inert_line(said: &str) -> bool {
    !said.is_empty() && !said.chars().any(char::is_control)
}

/// Addresses the rules accept, as `(network, address)`, written in their
/// several ways.
fn accepted() -> impl Strategy<Value = (String, String)> {
    let network = prop::sample::select(vec!["tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "unix"]);
    let host = prop::sample::select(vec![
        "",
        "127.0.0.1",
        "0.0.0.0",
        "[::1]",
        "[::]",
        "[0:0::1]",
        "localhost",
        "LocalHost",
        "example.com",
    ]);
    let port = prop::sample::select(vec!["80", "080", "0", "8443", "65535"]);
    let path = prop::sample::select(vec![
        "/run/a.sock",
        "/run//a.sock",
        "/run/./a.sock",
        "./a.sock",
        "a.sock",
        "../x.sock",
    ]);
    (network, host, port, path).prop_filter_map("accepted", |(network, host, port, path)| {
        let address = match network {
            "unix" => path.to_owned(),
            _ => format!("{host}:{port}"),
        };
        listener_spec("l", &format!("{network}:{address}")).ok()?;
        Some((network.to_owned(), address))
    })
}

proptest! {
    #![proptest_config(crate::repeatable::config(3_000, 0x0000_17e5))]

    #[test]
    fn any_declaration_is_judged_in_one_line(spec in spec_text()) {
        if let Err(e) = listener_spec("l", &spec) {
            let said = e.to_string();
            prop_assert!(one_inert_line(&said), "{said:?}");
        }
    }

    #[test]
    fn every_address_accepted_names_a_socket_in_its_normal_form((network, address) in accepted()) {
        // Port 0 is any free port, another for each listener: no socket
        // to name, or to share.
        let socket = socket_of(&network, &address);
        let any_port = network != "unix" && address.rsplit_once(':').is_some_and(|(_, p)| p == "0");
        prop_assert_eq!(socket.is_some(), !any_port, "{} {}", network, address);
        if network != "unix" {
            let once = normalise_host_port(&address);
            prop_assert_eq!(normalise_host_port(&once), once.clone());
            prop_assert_eq!(socket_of(&network, &once), socket);
        } else {
            let once = clean_path(&address);
            prop_assert_eq!(clean_path(&once), once);
        }
    }

    #[test]
    fn overlap_is_the_same_either_way_round(a in accepted(), b in accepted()) {
        let declared = |first: &(String, String), second: &(String, String)| {
            socket_conflicts([
                ("a", first.0.as_str(), first.1.as_str()),
                ("b", second.0.as_str(), second.1.as_str()),
            ])
            .is_empty()
        };
        prop_assert_eq!(declared(&a, &b), declared(&b, &a), "{:?} {:?}", a, b);
        // One socket under two networks' names is one the two share.
        let alike = |x: &(String, String), y: &(String, String)| {
            binds_alike((x.0.as_str(), x.1.as_str()), (y.0.as_str(), y.1.as_str()))
        };
        prop_assert_eq!(alike(&a, &b), alike(&b, &a));
        prop_assert!(!alike(&a, &b) || !declared(&a, &b), "{:?} {:?}", a, b);
        // Each overlaps itself (two listeners cannot share one socket),
        // but on port 0, another port for each.
        let any_port = a.0 != "unix" && a.1.rsplit_once(':').is_some_and(|(_, p)| p == "0");
        prop_assert_eq!(declared(&a, &a), any_port, "{:?} twice", a);
    }

    #[test]
    fn a_duration_in_any_unit_reads_as_its_milliseconds(n in 0u64..1_000_000, unit in 0usize..4) {
        let (suffix, millis) = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)][unit];
        prop_assert_eq!(duration_millis("k", &format!("{n}{suffix}")), Ok(n * millis));
    }

    #[test]
    fn a_decimal_duration_is_its_exact_milliseconds_or_says_why_not(
        whole in "[0-9]{1,22}",
        fraction in prop::option::of("[0-9]{1,9}"),
        unit in 0usize..4,
    ) {
        use crate::rules::RuleError;
        let (suffix, unit_millis) = [("ms", 1u128), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)][unit];
        let text = match &fraction {
            Some(fraction) => format!("{whole}.{fraction}{suffix}"),
            None => format!("{whole}{suffix}"),
        };
        // Exactly, in integers: `whole.fraction` is `digits / scale`.
        let fraction = fraction.unwrap_or_default();
        let scale = 10u128.pow(fraction.len() as u32);
        let digits: u128 = format!("{whole}{fraction}").parse().unwrap();
        let scaled = digits * unit_millis;
        let (millis, exact) = (scaled / scale, scaled.is_multiple_of(scale));
        let max = u128::from(u64::MAX);
        match duration_millis("k", &text) {
            Ok(got) => prop_assert!(exact && u128::from(got) == millis && millis <= max, "{text}: {got}"),
            Err(RuleError::DurationTooLong { .. }) => prop_assert!(millis > max, "{text}"),
            Err(RuleError::DurationNotWholeMillis { .. }) => prop_assert!(!exact && millis <= max, "{text}"),
            Err(e) => prop_assert!(false, "{text}: {e}"),
        }
    }

    #[test]
    fn any_duration_text_is_judged_in_one_line(text in duration_text()) {
        if let Err(e) = duration_millis("k", &text) {
            prop_assert!(one_inert_line(&e.to_string()), "{e}");
        }
        if let Err(e) = restart_limit(&text) {
            prop_assert!(one_inert_line(&e.to_string()), "{e}");
        }
    }

    #[test]
    fn a_restart_limit_reads_back(max in 1u32.., secs in 1u64..100_000) {
        prop_assert_eq!(restart_limit(&format!("{max} in {secs}s")), Ok((max, secs * 1000)));
    }
}

#[test]
fn a_duration_a_hair_past_the_largest_is_too_long_not_unwhole() {
    use crate::rules::RuleError;
    // 18446744073709551616.02 ms: its first seven decimals alone come to
    // u64::MAX exactly.
    let e = duration_millis("k", "5124095576030.43100445h").unwrap_err();
    assert!(matches!(e, RuleError::DurationTooLong { .. }), "{e}");
    // u64::MAX itself; one past it, whole and in decimals; between them.
    assert_eq!(duration_millis("k", "18446744073709551615ms"), Ok(u64::MAX));
    for past in ["18446744073709551616ms", "18446744073709551.616s"] {
        let e = duration_millis("k", past).unwrap_err();
        assert!(
            matches!(e, RuleError::DurationTooLong { .. }),
            "{past}: {e}"
        );
    }
    for between in [
        "18446744073709551.6151s",
        "18446744073709551615.5ms",
        "5124095576030.4310044444444h",
    ] {
        let e = duration_millis("k", between).unwrap_err();
        assert!(
            matches!(e, RuleError::DurationNotWholeMillis { .. }),
            "{between}: {e}"
        );
    }
}
