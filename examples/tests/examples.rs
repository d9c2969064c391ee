//! The examples work as their documentation says: supervised, reloaded
//! while serving, and stopped.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use tests::{DEADLINE, OutputInTime, Service, echo, text};

/// `GET path` over HTTP/1.0; returns (status line, x-littleboss-pid, body).
fn get(addr: SocketAddr, path: &str) -> (String, String, String) {
    let mut conn = TcpStream::connect_timeout(&addr, DEADLINE).unwrap();
    conn.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(conn, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.lines().next().unwrap().to_owned();
    let pid = head
        .lines()
        .find_map(|l| l.strip_prefix("x-littleboss-pid: "))
        .unwrap_or_else(|| panic!("no pid header in {head}"))
        .to_owned();
    (status, pid, body.to_owned())
}

/// The address a program printed as `{prefix}ADDR` (up to a `/` or space).
fn printed(svc: &Service, prefix: &str) -> SocketAddr {
    let out = svc.output.wait_for(prefix);
    let rest = &out[out.find(prefix).unwrap() + prefix.len()..];
    let end = rest.find(['/', '\n', ' ']).unwrap();
    rest[..end].parse().unwrap()
}

/// `bin` started with its listener flag `flag`, once its child is ready,
/// and the address it printed after `prefix`.
fn started(bin: &str, flag: &str, prefix: &str) -> (Service, SocketAddr) {
    let mut svc = Service::new(bin);
    svc.start(&[flag]);
    let addr = printed(&svc, prefix);
    svc.ready();
    (svc, addr)
}

#[test]
fn http_serves_reloads_without_dropping_a_request_in_flight_and_stops() {
    let (mut svc, addr) = started(
        env!("CARGO_BIN_EXE_http"),
        "-http=127.0.0.1:0",
        "serving http://",
    );
    let (status, first_pid, body) = get(addr, "/");
    assert_eq!(status, "HTTP/1.0 200 OK");
    assert!(
        body.starts_with(&format!("hello from the http example, pid {first_pid}")),
        "{body}"
    );

    // A request in flight across the reload completes, served by the old child.
    let slow = std::thread::spawn(move || get(addr, "/slow?ms=5000"));
    svc.output
        .wait_for(&format!("http: pid {first_pid} answering /slow"));
    svc.reload_ok();
    // Still in flight as the reload ended (else it proves nothing).
    assert!(!slow.is_finished(), "/slow ended before the reload did");
    // Until the old child has taken in its lameduck it may still accept a
    // connection (and serve it fully); then only the new one answers.
    tests::eventually("the new child to answer", || {
        let (status, pid, _) = get(addr, "/");
        assert_eq!(status, "HTTP/1.0 200 OK");
        (pid != first_pid).then_some(())
    });
    let (status, slow_pid, body) = slow.join().unwrap();
    assert_eq!(status, "HTTP/1.0 200 OK");
    assert_eq!(slow_pid, first_pid);
    assert_eq!(body, format!("slept 5000 ms in pid {first_pid}\n"));
    svc.output
        .wait_for(&format!("http: pid {first_pid} drained, exiting"));

    svc.stop_expecting(0);
}

#[test]
fn plain_closes_where_the_client_asks_for_it_among_other_tokens_or_speaks_http10() {
    // Each request asks for the close in its own way: the server answers
    // and closes, so reading to the end returns (a connection kept open
    // would time out).
    let (svc, addr) = started(
        env!("CARGO_BIN_EXE_plain"),
        "-http=127.0.0.1:0",
        "serving http://",
    );
    for request in [
        "GET / HTTP/1.1\r\nHost: test\r\nConnection: keep-alive, close\r\n\r\n",
        "GET / HTTP/1.0\r\nHost: test\r\nConnection: keep-alive\r\n\r\n",
    ] {
        let mut conn = TcpStream::connect_timeout(&addr, DEADLINE).unwrap();
        conn.set_read_timeout(Some(DEADLINE)).unwrap();
        conn.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        let read = conn.read_to_string(&mut response);
        assert!(
            read.is_ok(),
            "{request:?}: not closed: {read:?} {response:?}"
        );
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }
    assert_eq!(svc.control("stop").status.code(), Some(0));
}

#[test]
fn plain_refuses_what_it_cannot_read_and_answers_head_and_continue_as_http_asks() {
    let (svc, addr) = started(
        env!("CARGO_BIN_EXE_plain"),
        "-http=127.0.0.1:0",
        "serving http://",
    );
    // Sends `request`, reads to the end (each closes), and returns all
    // that came back.
    let exchange = |request: &[u8]| {
        let mut conn = TcpStream::connect_timeout(&addr, DEADLINE).unwrap();
        conn.set_read_timeout(Some(DEADLINE)).unwrap();
        conn.write_all(request).unwrap();
        let mut response = String::new();
        conn.read_to_string(&mut response).unwrap();
        response
    };
    // A chunked body is not read as the next request: one answer, 501.
    let chunked = exchange(
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    assert!(chunked.starts_with("HTTP/1.1 501 "), "{chunked}");
    assert_eq!(chunked.matches("HTTP/1.1").count(), 1, "{chunked}");
    for bad in [
        &b"GET / HTTP/1.1\r\nHost: t\r\nno colon here\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc",
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        // A header name that is no token, however its bytes would read
        // loosely: the body after is not to be read as a request.
        b"POST / HTTP/1.1\r\nContent-Length : 19\r\n\r\nGET /x HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\n \r\nContent-Length: 19\r\n\r\nGET /x HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\n folded: x\r\n\r\n",
        b"GET / HTTP/1.1\r\n: empty name\r\n\r\n",
    ] {
        let answer = exchange(bad);
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
        assert_eq!(answer.matches("HTTP/1.1").count(), 1, "{answer}");
    }
    // A hundred headers are read; one more is too many.
    for (count, status) in [(100, "HTTP/1.1 200 "), (101, "HTTP/1.1 400 ")] {
        let mut request = "GET / HTTP/1.1\r\nConnection: close\r\n".to_owned();
        request += &"X-A: b\r\n".repeat(count - 1);
        request += "\r\n";
        let answer = exchange(request.as_bytes());
        assert!(answer.starts_with(status), "{count} headers: {answer}");
    }
    // Lines ended by a bare LF, as RFC 9112 §2.2 lets a server take them.
    let lf = exchange(b"GET / HTTP/1.1\nHost: t\nConnection: close\n\n");
    assert!(lf.starts_with("HTTP/1.1 200 "), "{lf}");
    // An HTTP/1.0 client's `Expect` is ignored: it would take the `100`
    // for the answer.
    let old = exchange(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc");
    assert!(old.starts_with("HTTP/1.1 200 "), "{old}");
    // HEAD: the head alone, its length the body's that GET would send.
    let head = exchange(b"HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let (head, body) = head.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let length = format!("content-length: {}", get(addr, "/").2.len());
    assert!(
        head.lines().any(|line| line.eq_ignore_ascii_case(&length)),
        "{head}"
    );
    assert_eq!(body, "");
    // `Expect: 100-continue`: the go-ahead first, then the answer.
    let posted = exchange(
        b"POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    );
    assert!(
        posted.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 "),
        "{posted}"
    );
    assert!(posted.contains("got 3 bytes in pid "), "{posted}");
    assert_eq!(svc.control("stop").status.code(), Some(0));
}

#[test]
fn echo_serves_and_reloads() {
    let (svc, addr) = started(
        env!("CARGO_BIN_EXE_echo"),
        "-echo=127.0.0.1:0",
        "listening on ",
    );
    assert_eq!(echo(addr, "one").unwrap(), "one\n");
    svc.reload_ok();
    assert_eq!(echo(addr, "two").unwrap(), "two\n");
    assert_eq!(svc.control("stop").status.code(), Some(0));
}

/// The echo example, started, with a connection on which `begun` (a line
/// without its end) was sent, then reloaded: the service and that
/// connection, still the old child's.
fn echo_reloaded_with_a_line_begun(begun: &[u8]) -> (Service, TcpStream) {
    let (svc, addr) = started(
        env!("CARGO_BIN_EXE_echo"),
        "-echo=127.0.0.1:0",
        "listening on ",
    );
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.write_all(begun).unwrap();
    assert_eq!(
        echo(addr, "one").unwrap(),
        "one\n",
        "the line's connection accepted"
    );
    svc.reload_ok();
    (svc, conn)
}

#[test]
fn echo_lets_go_of_a_half_typed_line_before_the_supervisor_kills() {
    let (svc, mut conn) = echo_reloaded_with_a_line_begun(b"half a li");
    // The old child gives up on the line and exits by itself, with code 0,
    // rather than being killed at its lameduck timeout.
    old_child_exits_by_itself(&svc);
    conn.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest)
        .expect("the connection closed, not left open past the deadline");
    assert_eq!(rest, b"", "the old child echoed the half line back");
    assert_eq!(svc.control("stop").status.code(), Some(0));
}

#[test]
fn echo_finishes_a_line_begun_before_lameduck_and_the_lines_that_came_with_it() {
    let (svc, mut conn) = echo_reloaded_with_a_line_begun(b"half");
    svc.output.wait_for("lameduck, 1 connection(s) open");
    // The rest of the line, another, and the start of a third, in one
    // write: read together.
    conn.write_all(b" a line\nsecond\nthi").unwrap();
    conn.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut reader = std::io::BufReader::new(conn.try_clone().unwrap());
    let mut echoed = String::new();
    for _ in 0..2 {
        std::io::BufRead::read_line(&mut reader, &mut echoed).unwrap();
    }
    assert_eq!(echoed, "half a line\nsecond\n");
    // The third, begun before, is finished too.
    conn.write_all(b"rd\n").unwrap();
    let mut rest = String::new();
    let read = reader.read_to_string(&mut rest);
    assert_eq!(rest, "third\n", "{read:?}");
    old_child_exits_by_itself(&svc);
    assert_eq!(svc.control("stop").status.code(), Some(0));
}

#[test]
fn echo_closes_a_connection_still_sending_at_lameduck_without_losing_an_echo() {
    // A client streaming lines through a reload, reading its echoes more
    // slowly than it sends until the old child's lameduck, then as fast
    // as it can, sending on until the old child closes, with lines
    // unread. Every echo it wrote arrives, whole, then a clean end: not
    // a reset, which would throw away the echoes still on their way.
    let (svc, addr) = started(
        env!("CARGO_BIN_EXE_echo"),
        "-echo=127.0.0.1:0",
        "listening on ",
    );
    let conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(DEADLINE)).unwrap();
    // No write timeout: one that cut a write mid-line would leave the old
    // child waiting for the line's end. A write waits while the echoes
    // are not read; the old child reads the lines until the client
    // closes, or the write fails once it is gone.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut sending = conn.try_clone().unwrap();
    let stop = done.clone();
    // Lines numbered 0 to LINES - 1, sent again and again, faster than
    // the echo reads them (a line a write).
    const LINES: u64 = 100_000;
    let lines: String = (0..LINES).map(|i| format!("{i}\n")).collect();
    let writer = std::thread::spawn(move || {
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if sending.write_all(lines.as_bytes()).is_err() {
                break;
            }
        }
    });
    let mut reader = std::io::BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    let mut read_line = |reader: &mut std::io::BufReader<TcpStream>| {
        line.clear();
        std::io::BufRead::read_line(reader, &mut line).map(|_| line.clone())
    };
    assert_eq!(read_line(&mut reader).unwrap(), "0\n", "echoing");
    let mut next = 1u64;
    svc.reload_ok();
    // Slowly, a line at a time, until the old child's lameduck (what it
    // wrote waits in its socket meanwhile), then as fast as it can until
    // it closes its end, then the rest: what it writes after lameduck
    // waits behind what fills the sockets' buffers (megabytes: its send
    // buffer alone may hold 4 MiB), too much to read slowly within its
    // drain budget.
    let (client, server) = (conn.local_addr().unwrap(), conn.peer_addr().unwrap());
    let mut open = true;
    let mut lameduck = false;
    while open {
        let echoed = read_line(&mut reader).unwrap_or_else(|e| panic!("after {next} lines: {e}"));
        if echoed.is_empty() {
            // Read fast, to the end before its close was looked at.
            assert!(lameduck, "read to the end before the old child's lameduck");
            break;
        }
        assert_eq!(echoed, format!("{}\n", next % LINES), "a line lost or cut");
        next += 1;
        // Looked at less often once fast: each look reads all of
        // `/proc/net/tcp`.
        if next.is_multiple_of(if lameduck { 10_000 } else { 100 }) {
            let theirs = tests::procfs::tcp_state(server, client);
            open = theirs.as_deref() == Some(tests::procfs::TCP_ESTABLISHED);
            if !lameduck {
                let said = svc.output.text();
                lameduck = said.contains(" lameduck, 1 connection(s) open");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }
    // The client sends no more (the rest of its last slice aside), and
    // closes once it has read to the end, within the old child's drain
    // budget (3.75 s), then checks what it read: the old child's
    // connection ends, not cut at its budget.
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut rest = Vec::new();
    let ended = reader.read_to_end(&mut rest);
    drop((conn, reader));
    writer.join().unwrap();
    for echoed in rest.split_inclusive(|b| *b == b'\n') {
        let want = format!("{}\n", next % LINES);
        assert_eq!(echoed, want.as_bytes(), "a line lost or cut after {next}");
        next += 1;
    }
    ended.unwrap_or_else(|e| panic!("after {next} lines echoed: {e}"));
    old_child_exits_by_itself(&svc);
    let said = svc.output.text();
    assert!(!said.contains("connection(s) cut"), "{said}");
    assert_eq!(svc.control("stop").status.code(), Some(0));
}

#[test]
fn echo_lets_go_of_a_client_that_stopped_reading_before_the_supervisor_kills() {
    let (svc, addr) = started(
        env!("CARGO_BIN_EXE_echo"),
        "-echo=127.0.0.1:0",
        "listening on ",
    );
    // Lines it never reads back: once the buffers both ways are full, the
    // echo's write waits for ever.
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_write_timeout(Some(std::time::Duration::from_millis(300)))
        .unwrap();
    let mut line = vec![b'x'; 4095];
    line.push(b'\n');
    while conn.write_all(&line).is_ok() {}
    svc.reload_ok();
    old_child_exits_by_itself(&svc);
    assert_eq!(svc.control("stop").status.code(), Some(0));
}

/// The old child of the reload just done exits by itself, with code 0,
/// rather than being killed at its lameduck timeout.
fn old_child_exits_by_itself(svc: &Service) {
    let exited = svc.output.wait_for("old child pid ");
    let line = exited
        .lines()
        .find(|l| l.contains("old child pid "))
        .unwrap()
        .to_owned();
    assert!(line.ends_with("exited with code 0"), "{line}");
}

#[test]
fn clap_keeps_its_own_help_and_shows_littleboss_flags() {
    let out = tests::command(env!("CARGO_BIN_EXE_clap"))
        .arg("--help")
        .output_in_time();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--greeting <GREETING>"), "{help}");
    assert!(help.contains("littleboss flags:"), "{help}");
    assert!(help.contains("-littleboss=MODE"), "{help}");
    assert!(help.contains("-greet=ADDR"), "{help}");

    let out = tests::command(env!("CARGO_BIN_EXE_clap"))
        .arg("--bogus")
        .output_in_time();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bogus"));
}

#[test]
fn clap_program_gets_its_arguments_under_a_supervisor() {
    let mut svc = Service::new(env!("CARGO_BIN_EXE_clap"));
    svc.start(&["--greeting", "bonjour", "-greet=127.0.0.1:0"]);
    let out = svc.output.wait_for("greeting \"bonjour\" on ");
    let rest = &out[out.find("greeting \"bonjour\" on ").unwrap() + 22..];
    let addr: SocketAddr = rest.split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(tests::read_greeting(addr).unwrap().trim(), "bonjour");
    assert_eq!(svc.control("stop").status.code(), Some(0));
}

#[test]
fn clap_greets_a_client_that_spoke_first_whole() {
    // Bytes the program never reads: dropped with them unread, the
    // socket would reset, and the client read an error after the
    // greeting (or lose its end) rather than the greeting and its end.
    let greeting = "g".repeat(64 << 10);
    let mut svc = Service::new(env!("CARGO_BIN_EXE_clap"));
    svc.start(&["--greeting", &greeting, "-greet=127.0.0.1:0"]);
    let addr = printed(&svc, " on ");
    svc.ready();
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.write_all(b"hello\n").unwrap();
    // Read only once the child has closed its end (shut it, or reset it).
    let client = conn.local_addr().unwrap();
    tests::eventually("the child to close its end", || {
        let theirs = tests::procfs::tcp_state(addr, client);
        let established = theirs.as_deref() == Some(tests::procfs::TCP_ESTABLISHED);
        (!established).then_some(())
    });
    conn.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut got = Vec::new();
    let read = conn.read_to_end(&mut got);
    assert!(read.is_ok(), "{read:?} after {} bytes", got.len());
    assert_eq!(got, format!("{greeting}\n").as_bytes());
    assert_eq!(svc.control("stop").status.code(), Some(0));
}

/// The README's ```rust block that begins with `start`, its service name
/// and address replaced by `name` and `address`.
fn readme_snippet(start: &str, name: &str, address: &str) -> String {
    let readme = include_str!("../../README.md");
    let at = readme
        .find(&format!("```rust\n{start}"))
        .unwrap_or_else(|| panic!("no README snippet begins with {start}"));
    let snippet = &readme[at + "```rust\n".len()..];
    snippet[..snippet.find("```").unwrap()]
        .replace("name = \"myblog\"", &format!("name = \"{name}\""))
        .replace("\"tcp::443\"", &format!("\"{address}\""))
}

/// The lines `example`'s `main` adds to `snippet`, whose every line it
/// must hold in order.
fn added_to<'a>(snippet: &str, example: &'a str, what: &str) -> Vec<&'a str> {
    let main = &example[example.find("#[littleboss::main").unwrap()..];
    let main = &main[..main.find("\n}\n").unwrap() + 3];
    let mut wanted = snippet.lines().peekable();
    let mut added = Vec::new();
    for line in main.lines() {
        if wanted.peek() == Some(&line) {
            wanted.next();
        } else {
            added.push(line);
        }
    }
    assert_eq!(wanted.next(), None, "{what} lacks a line of the snippet");
    added
}

/// `readme.rs` is the README's usage snippet, but for the differences its
/// doc comment lists (name, address, two log lines), so that the
/// benchmark measures the code the README shows: a change to either
/// without the other fails here.
#[test]
fn the_readme_example_is_the_readmes_snippet() {
    let snippet = readme_snippet(
        "#[littleboss::main(name = \"myblog\", listener(https = \"tcp::443\"))]\nasync fn main(ctx: littleboss::Context) -> std::io::Result<()> {",
        "littleboss-readme",
        "tcp:127.0.0.1:8081",
    )
    .replace(
        "littleboss::http::serve(&ctx, listener, app()).await\n",
        "littleboss::http::serve(&ctx, listener, app()).await?;\n",
    );
    let added = added_to(&snippet, include_str!("../src/bin/readme.rs"), "readme.rs");
    assert_eq!(
        added,
        [
            "    let pid = std::process::id();",
            "    examples::log_line(format!(",
            "        \"readme: pid {pid} serving http://{}/\",",
            "        listener.local_addr()?",
            "    ));",
            "    examples::log_line(format!(\"readme: pid {pid} drained, exiting\"));",
            "    Ok(())",
        ],
        "readme.rs adds more than its log lines to the snippet"
    );
}

/// `axum_serve.rs` is the README's bare `axum::serve` snippet, settings
/// included, but for its name, address and two log lines: the benchmark's
/// `axum_serve` rows are that code as a user writes it.
#[test]
fn the_axum_serve_example_is_the_readmes_axum_snippet() {
    let snippet = readme_snippet(
        "#[littleboss::main(name = \"myblog\", listener(https = \"tcp::443\"))]\nasync fn main(ctx: littleboss::Context) {\n    let listener = ctx.tcp(\"https\").expect(\"https listener enabled\");\n    axum::serve(",
        "littleboss-axum-serve",
        "tcp:127.0.0.1:8083",
    );
    let example = include_str!("../src/bin/axum_serve.rs");
    let added = added_to(&snippet, example, "axum_serve.rs");
    assert_eq!(
        added,
        [
            "    examples::log_line(format!(",
            "        \"axum_serve: pid {} serving http://{}/\",",
            "        std::process::id(),",
            "        listener.local_addr().unwrap()",
            "    ));",
            "    examples::log_line(format!(",
            "        \"axum_serve: pid {} drained, exiting\",",
            "        std::process::id()",
            "    ));",
        ],
        "axum_serve.rs adds more than its log lines to the snippet"
    );
}

/// The README's links to its own sections (`[How it works](#how-it-works)`)
/// and to files of the repository lead somewhere: a heading renamed, or a
/// file moved, without its links fails here. Anchors as GitHub makes
/// them: lower case, punctuation but `-` and `_` dropped, spaces as `-`.
#[test]
fn the_readmes_links_lead_somewhere() {
    let readme = include_str!("../../README.md");
    // The lines outside code blocks (and their closing fences).
    let mut fenced = false;
    let prose: Vec<&str> = (readme.lines())
        .filter(|line| {
            fenced ^= line.starts_with("```");
            !fenced
        })
        .collect();
    let anchors: std::collections::BTreeSet<String> = (prose.iter())
        .filter_map(|line| {
            let heading = line.trim_start_matches('#');
            (heading.len() < line.len() && heading.starts_with(' ')).then_some(heading)
        })
        .map(|heading| {
            (heading.trim().to_lowercase().chars())
                .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut links = 0;
    // A link's target up to its title or section.
    for line in &prose {
        for (at, _) in line.match_indices("](") {
            let target = &line[at + 2..];
            let Some(end) = target.find([')', ' ']) else {
                continue;
            };
            let target = &target[..end];
            if let Some(anchor) = target.strip_prefix('#') {
                assert!(anchors.contains(anchor), "no section for #{anchor}");
            } else if !target.contains("://") {
                let file = target.split('#').next().unwrap_or_default();
                assert!(root.join(file).exists(), "no file {file}");
            }
            links += 1;
        }
    }
    assert!(links > 20, "only {links} links read: the reading is wrong");
}
