//! One table of configurations, good and bad, run through the macro's
//! checks and through the runtime's builder: both must give the same
//! verdict in the same words (and the words the table expects).
//!
//! A unit test, because a proc-macro crate exports only its macros; the
//! builder comes from the `littleboss` dev-dependency.

use std::time::Duration;

use littleboss::{Flavor, Littleboss};
use proc_macro2::TokenStream;

use crate::attr;

/// The attribute's arguments, the same configuration built by hand, and
/// the messages both must give (none for a good one).
type Row = (&'static str, fn() -> Littleboss, &'static [&'static str]);

const ROWS: &[Row] = &[
    (r#"name = "svc""#, || Littleboss::new("svc"), &[]),
    (
        r#"name = "svc", listener(a = "tcp::80", b = "tcp::0080", c = "tcp4::80")"#,
        || {
            Littleboss::new("svc")
                .listener("a", "tcp::80")
                .listener("b", "tcp::0080")
                .listener("c", "tcp4::80")
        },
        &[
            "listeners `a` and `b` both ask for tcp :80; give each its own address",
            "listeners `a` (tcp :80) and `c` (tcp4 :80) ask for one port on addresses that overlap, which the kernel binds once (`tcp :PORT` is every IPv4 and IPv6 address, `tcp4 :PORT` every IPv4 one, `tcp6 :PORT` every IPv6 one); give each its own port, or addresses that do not overlap",
        ],
    ),
    (
        r#"name = "svc", listener(a = "tcp:127.0.0.1:80", b = "tcp4:127.0.0.1:80", c = "tcp6::80")"#,
        || {
            Littleboss::new("svc")
                .listener("a", "tcp:127.0.0.1:80")
                .listener("b", "tcp4:127.0.0.1:80")
                .listener("c", "tcp6::80")
        },
        &[
            "listeners `a` (tcp 127.0.0.1:80) and `b` (tcp4 127.0.0.1:80) ask for one address under two networks' names, which the kernel binds once; give each its own address",
        ],
    ),
    (
        r#"name = "my blog""#,
        || Littleboss::new("my blog"),
        &["service name `my blog` contains ` `; use only letters, digits, `_` and `-`"],
    ),
    (
        r#"name = """#,
        || Littleboss::new(""),
        &["the service name is empty; use letters, digits, `_` and `-`"],
    ),
    (
        r#"name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa""#,
        || {
            Littleboss::new(
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            )
        },
        &[
            "the service name is 102 bytes, more than the 101 a control socket's path can hold (`/NAME.sock` within the 107 bytes of a unix socket address); shorten it",
        ],
    ),
    (
        r#"name = "svc", flag = "-lb""#,
        || Littleboss::new("svc").flag("-lb"),
        &["flag name `-lb` starts with `-`; give it without dashes, like `lb`"],
    ),
    (
        r#"name = "svc", flag = "help""#,
        || Littleboss::new("svc").flag("help"),
        &["flag name `help` is taken by -h/--help"],
    ),
    (
        r#"name = "svc", listener(h = "tcp::80")"#,
        || Littleboss::new("svc").listener("h", "tcp::80"),
        &["listener name `h` is taken by -h/--help"],
    ),
    (
        r#"name = "svc", listener(json = "tcp::80")"#,
        || Littleboss::new("svc").listener("json", "tcp::80"),
        &["listener name `json` is taken by `status --json`"],
    ),
    (
        r#"name = "svc", flag = "json""#,
        || Littleboss::new("svc").flag("json"),
        &["flag name `json` is taken by `status --json`"],
    ),
    (
        r#"name = "svc", listener(admin-http = "tcp::1", v2-api = "tcp::2", web = "tcp::3")"#,
        || {
            Littleboss::new("svc")
                .listener("admin-http", "tcp::1")
                .listener("v2-api", "tcp::2")
                .listener("web", "tcp::3")
        },
        &[],
    ),
    (
        r#"name = "svc", listener(admin-http = "tcp::1", admin-http = "tcp::2")"#,
        || {
            Littleboss::new("svc")
                .listener("admin-http", "tcp::1")
                .listener("admin-http", "tcp::2")
        },
        &["listener `admin-http` is declared twice"],
    ),
    (
        r#"name = "svc", listener(a--b = "tcp::1", c- = "tcp::2")"#,
        || {
            Littleboss::new("svc")
                .listener("a--b", "tcp::1")
                .listener("c-", "tcp::2")
        },
        &[],
    ),
    (
        r#"name = "svc", listener(admin-http = "tcp:nowhere")"#,
        || Littleboss::new("svc").listener("admin-http", "tcp:nowhere"),
        &[
            "listener `admin-http`: address `nowhere` is not HOST:PORT, like `:8080` or `127.0.0.1:8080`",
        ],
    ),
    (
        r#"name = "svc", listener(a = "tcp::1", a = "tcp::2")"#,
        || {
            Littleboss::new("svc")
                .listener("a", "tcp::1")
                .listener("a", "tcp::2")
        },
        &["listener `a` is declared twice"],
    ),
    (
        r#"name = "svc", listener(a = "tcp::1"), listener(b = "udp::2", a = "tcp::2")"#,
        || {
            Littleboss::new("svc")
                .listener("a", "tcp::1")
                .listener("b", "udp::2")
                .listener("a", "tcp::2")
        },
        &["listener `a` is declared twice"],
    ),
    (
        r#"name = "svc", listener(littleboss = "tcp::1")"#,
        || Littleboss::new("svc").listener("littleboss", "tcp::1"),
        &[
            "listener `littleboss` has the name of the mode flag (`-littleboss=start`); \
           rename the listener, or the flag with `flag = \"...\"`",
        ],
    ),
    (
        r#"name = "svc", listener(lb = "tcp::1"), flag = "lb""#,
        || Littleboss::new("svc").listener("lb", "tcp::1").flag("lb"),
        &["listener `lb` has the name of the mode flag (`flag = \"lb\"`); rename one of them"],
    ),
    (
        r#"name = "svc", listener(littleboss = "tcp::1"), flag = "lb""#,
        || {
            Littleboss::new("svc")
                .listener("littleboss", "tcp::1")
                .flag("lb")
        },
        &[],
    ),
    (
        r#"name = "svc", worker_threads = 0"#,
        || Littleboss::new("svc").worker_threads(0),
        &["`worker_threads` must be at least 1"],
    ),
    (
        r#"name = "svc", worker_threads = 100000"#,
        || Littleboss::new("svc").worker_threads(100_000),
        &[
            "`worker_threads = 100000` is more than 32768: a thread each, which the runtime could not start",
        ],
    ),
    (
        r#"name = "svc", flavor = "current_thread", worker_threads = 2"#,
        || {
            Littleboss::new("svc")
                .flavor(Flavor::CurrentThread)
                .worker_threads(2)
        },
        &[
            "`worker_threads` needs the multi-thread runtime, but `flavor = \"current_thread\"`; \
           remove one of them",
        ],
    ),
    (
        r#"name = "svc", flavor = "multi_thread", worker_threads = 2"#,
        || {
            Littleboss::new("svc")
                .flavor(Flavor::MultiThread)
                .worker_threads(2)
        },
        &[],
    ),
    (
        r#"name = "svc", restart_limit = "3 in 1s""#,
        || Littleboss::new("svc").restart_limit(3, Duration::from_secs(1)),
        &["`restart_limit` only applies with `persist = true`; add `persist`"],
    ),
    (
        r#"name = "svc", persist = false, restart_limit = "3 in 1s""#,
        || {
            Littleboss::new("svc")
                .persist(false)
                .restart_limit(3, Duration::from_secs(1))
        },
        &[
            "`restart_limit` only applies with `persist = true`, but `persist = false`; \
           remove one of them",
        ],
    ),
    (
        r#"name = "svc", persist, restart_limit = "3 in 1s""#,
        || {
            Littleboss::new("svc")
                .persist(true)
                .restart_limit(3, Duration::from_secs(1))
        },
        &[],
    ),
    (
        r#"name = "svc", persist, restart_limit = "3 in 0s""#,
        || {
            Littleboss::new("svc")
                .persist(true)
                .restart_limit(3, Duration::ZERO)
        },
        &["the `restart_limit` window must be more than zero"],
    ),
    (
        r#"name = "svc", persist, restart_limit = "0 in 60s""#,
        || {
            Littleboss::new("svc")
                .persist(true)
                .restart_limit(0, Duration::from_secs(60))
        },
        &[
            "a `restart_limit` of 0 restarts would give up at the child's first exit; \
           allow at least 1 (for no restarts, leave `persist` off)",
        ],
    ),
    (
        // Two mistakes in one value: the count's is said first by both.
        r#"name = "svc", persist, restart_limit = "0 in 1.5ms""#,
        || {
            Littleboss::new("svc")
                .persist(true)
                .restart_limit(0, Duration::from_micros(1500))
        },
        &[
            "a `restart_limit` of 0 restarts would give up at the child's first exit; \
           allow at least 1 (for no restarts, leave `persist` off)",
        ],
    ),
    (
        r#"name = "svc", self_upgrade = false"#,
        || Littleboss::new("svc").self_upgrade(false),
        &[],
    ),
    (
        r#"name = "svc", ready_timeout = "0s""#,
        || Littleboss::new("svc").ready_timeout(Duration::ZERO),
        &["`ready_timeout` must be more than zero"],
    ),
    (
        r#"name = "svc", ready_timeout = "10ms", lameduck = "0s""#,
        || {
            Littleboss::new("svc")
                .ready_timeout(Duration::from_millis(10))
                .lameduck(Duration::ZERO)
        },
        &[],
    ),
    (
        r#"name = "svc", grace = "1500ms""#,
        || Littleboss::new("svc").grace(Duration::from_millis(1500)),
        &[
            "`grace` (1500ms) is more than half of `lameduck` (2s, the default): \
           the other half is for the requests in flight to finish; lower `grace` or raise `lameduck`",
        ],
    ),
    (
        r#"name = "svc", grace = "3s", lameduck = "5s""#,
        || {
            Littleboss::new("svc")
                .grace(Duration::from_secs(3))
                .lameduck(Duration::from_secs(5))
        },
        &["`grace` (3s) is more than half of `lameduck` (5s): \
           the other half is for the requests in flight to finish; lower `grace` or raise `lameduck`"],
    ),
    (
        r#"name = "svc", grace = "3s", lameduck = "6s""#,
        || {
            Littleboss::new("svc")
                .grace(Duration::from_secs(3))
                .lameduck(Duration::from_secs(6))
        },
        &[],
    ),
    (
        // A `lameduck` refused is not measured against as the default.
        r#"name = "svc", lameduck = "1.0005s", grace = "1500ms""#,
        || {
            Littleboss::new("svc")
                .lameduck(Duration::from_micros(1_000_500))
                .grace(Duration::from_millis(1500))
        },
        &["`lameduck`: duration `1.0005s` is not a whole number of milliseconds"],
    ),
    (
        // A default grace is shortened to half a short lameduck, unsaid.
        r#"name = "svc", lameduck = "1s""#,
        || Littleboss::new("svc").lameduck(Duration::from_secs(1)),
        &[],
    ),
    (
        r#"name = "my-svc_2", listener(https = "tcp::443", v6 = "tcp6:[::1]:80",
           dns = "udp:localhost:53", sock = "unix:/run/x.sock", off = "tcp:"),
           flag = "lb", persist, restart_limit = "5 in 60s", flavor = "current_thread""#,
        || {
            Littleboss::new("my-svc_2")
                .listener("https", "tcp::443")
                .listener("v6", "tcp6:[::1]:80")
                .listener("dns", "udp:localhost:53")
                .listener("sock", "unix:/run/x.sock")
                .listener("off", "tcp:")
                .flag("lb")
                .persist(true)
                .restart_limit(5, Duration::from_secs(60))
                .flavor(Flavor::CurrentThread)
        },
        &[],
    ),
    (
        // Numbers Rust reads as one token, a sign or a dot in it: named by
        // their text, as the builder's string (review 364).
        r#"name = "svc", listener(1e-3 = "tcp::1")"#,
        || Littleboss::new("svc").listener("1e-3", "tcp::1"),
        &[],
    ),
    (
        r#"name = "svc", listener(1.5 = "tcp::1")"#,
        || Littleboss::new("svc").listener("1.5", "tcp::1"),
        &["listener name `1.5` contains `.`; use only letters, digits, `_` and `-`"],
    ),
];

/// Declarations of the listener `l`, each with the problem both must name.
const SPECS: &[(&str, Option<&str>)] = &[
    ("tcp::443", None),
    ("tcp4:127.0.0.1:0", None),
    ("tcp:my-host.example.com:8080", None),
    ("udp6:", None),
    ("unix:relative.sock", None),
    (
        "sctp::80",
        Some(
            "unknown network `sctp` in `sctp::80`; expected tcp, tcp4, tcp6, udp, udp4, udp6 or unix",
        ),
    ),
    (
        "8080",
        Some(
            "`8080` is not NET:ADDR (NET is tcp, tcp4, tcp6, udp, udp4, udp6 or unix), like \"tcp::8080\"",
        ),
    ),
    (
        ":8080",
        Some(
            "`:8080` has no network before `:`; expected tcp, tcp4, tcp6, udp, udp4, udp6 or unix, like \"tcp::8080\"",
        ),
    ),
    (
        "tcp:8080",
        Some("address `8080` has no host part; write `:8080` for every address"),
    ),
    (
        "tcp:localhost",
        Some("address `localhost` is not HOST:PORT, like `:8080` or `127.0.0.1:8080`"),
    ),
    ("tcp::http", Some("port `http` is not a number")),
    ("tcp::70000", Some("port 70000 is out of range (0-65535)")),
    (
        "tcp:localhost:",
        Some("address `localhost:` has no port after `:` (port 0 picks a free one)"),
    ),
    (
        "tcp:::1:80",
        Some("write the IPv6 host in brackets: `[::1]:80`"),
    ),
    (
        "tcp6:::1",
        Some("address `::1` has no port; write an IPv6 host in brackets: `[::1]:PORT`"),
    ),
    (
        "tcp6:[::1]",
        Some("address `[::1]` has no port; write `[::1]:PORT`"),
    ),
    (
        "tcp:::80",
        Some(
            "address `::80` has no port; for port 80 on every address write `:80`; for the IPv6 host `::80`, `[::80]:PORT`",
        ),
    ),
    (
        "tcp6:[fe80::1%eth0]:80",
        Some(
            "`fe80::1%eth0` has a zone (`%...`), which littleboss does not bind; listen on every address instead (`:PORT`)",
        ),
    ),
    (
        "tcp:[fe80::1]:80",
        Some(
            "`fe80::1` is a link-local address, bound only with a zone (`%...`), which littleboss does not take; listen on every address instead (`:PORT`)",
        ),
    ),
    (
        "udp6:[ff02::fb]:5353",
        Some(
            "`ff02::fb` is a multicast group of link or interface scope, bound only with a zone (`%...`), which littleboss does not take; listen on every address (`:PORT`) and join the group in the program",
        ),
    ),
    (
        "tcp:239.1.2.3:80",
        Some(
            "`239.1.2.3` is a multicast or broadcast address, where tcp takes no connection; listen on one of this host's own addresses, or on every one (`:PORT`)",
        ),
    ),
    ("udp:239.1.2.3:5000", None),
    (
        "tcp:[ff02::fb]:80",
        Some(
            "`ff02::fb` is a multicast or broadcast address, where tcp takes no connection; listen on one of this host's own addresses, or on every one (`:PORT`)",
        ),
    ),
    ("tcp:[::1:80", Some("address `[::1:80` has an unclosed `[`")),
    (
        "tcp:[zz]:80",
        Some("`zz` in `[zz]:80` is not an IPv6 address"),
    ),
    (
        "tcp:my host:80",
        Some("host `my host` is not a hostname or an IP address"),
    ),
    (
        "tcp:10.0.0.256:80",
        Some(
            "host `10.0.0.256` is not an IPv4 address (four numbers from 0 to 255, like `10.0.0.1`; for every address, no host: `:PORT`)",
        ),
    ),
    (
        "tcp:0:8080",
        Some(
            "host `0` is not an IPv4 address (four numbers from 0 to 255, like `10.0.0.1`; for every address, no host: `:PORT`)",
        ),
    ),
    (
        "tcp6:127.1:80",
        Some(
            "host `127.1` is not an IPv4 address (four numbers from 0 to 255, like `10.0.0.1`; for every address, no host: `:PORT`)",
        ),
    ),
    (
        "unix:@api",
        Some(
            "unix address `@api` is in the abstract namespace, which littleboss does not bind; give a path, like `/run/svc.sock`",
        ),
    ),
    (
        "tcp4:[::1]:80",
        Some(
            "`::1` is an IPv6 address, and tcp4 listens on IPv4 only; use tcp6 or an IPv4 address",
        ),
    ),
    (
        "unix:~/svc.sock",
        Some(
            "unix path `~/svc.sock` starts with `~`, which nothing expands here (a shell neither, after `=`); give the full path (in a shell, `$HOME/svc.sock`)",
        ),
    ),
    (
        "unix::9090",
        Some(
            "unix path `:9090` reads as a TCP address, but this listener is a unix one, which takes a socket file's path, like `/run/svc.sock` (for a file so named in the working folder, `./:9090`)",
        ),
    ),
    (
        "unix:/run/app/",
        Some(
            "unix path `/run/app/` names a folder; give the socket file's own path, like `/run/svc.sock`",
        ),
    ),
    (
        "unix:/run/a-folder-far-too-deep-for-a-unix-socket/and-deeper-still/and-deeper/and-yet-deeper/and-more/more/svc.sock",
        Some(
            "unix path `/run/a-folder-far-too-deep-for-a-unix-socket/and-deeper-still/and-deeper/and-yet-deeper/and-more/more/svc.sock` is 110 bytes, more than the 107 a unix socket address holds",
        ),
    ),
];

fn macro_messages(args: &str) -> Vec<String> {
    let tokens: TokenStream = args.parse().expect("the row's arguments are tokens");
    match attr::parse(tokens).0 {
        Ok(_) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| e.to_string()).collect(),
    }
}

fn builder_messages(lb: &Littleboss) -> Vec<String> {
    match lb.check() {
        Ok(()) => Vec::new(),
        Err(error) => error.errors().iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn the_macro_and_the_builder_agree() {
    for (args, build, expected) in ROWS {
        let from_macro = macro_messages(args);
        assert_eq!(from_macro, *expected, "macro: {args}");
        assert_eq!(builder_messages(&build()), from_macro, "builder: {args}");
    }
}

#[test]
fn a_worker_count_past_any_integer_is_too_many_in_the_attributes_words() {
    // The builder takes a `usize`, which cannot be so many.
    let digits = "99999999999999999999999";
    assert_eq!(
        macro_messages(&format!("name = \"svc\", worker_threads = {digits}")),
        [format!(
            "`worker_threads = {digits}` is more than 32768: a thread each, which the runtime could not start"
        )]
    );
}

#[test]
fn the_macro_and_the_builder_agree_on_listener_declarations() {
    for (spec, problem) in SPECS {
        let expected: Vec<String> = problem
            .iter()
            .map(|p| format!("listener `l`: {p}"))
            .collect();
        let from_macro = macro_messages(&format!("name = \"svc\", listener(l = {spec:?})"));
        assert_eq!(from_macro, expected, "macro: {spec}");
        let builder = Littleboss::new("svc").listener("l", spec);
        assert_eq!(builder_messages(&builder), from_macro, "builder: {spec}");
    }
}

#[test]
fn the_macro_and_the_builder_agree_on_how_many_listeners_fit() {
    for (count, expected) in [
        (253, vec![]),
        (
            254,
            vec!["254 listeners are declared, more than the 253 a child can be handed at once"],
        ),
    ] {
        let names: Vec<String> = (0..count).map(|i| format!("l{i}")).collect();
        let declared: Vec<String> = names.iter().map(|n| format!("{n} = \"tcp:\"")).collect();
        let from_macro = macro_messages(&format!(
            "name = \"svc\", listener({})",
            declared.join(", ")
        ));
        assert_eq!(from_macro, expected, "macro: {count} listeners");
        let builder = (names.iter()).fold(Littleboss::new("svc"), |lb, n| lb.listener(n, "tcp:"));
        assert_eq!(builder_messages(&builder), from_macro, "builder: {count}");
    }
}
