//! The supervisor's state as `status` reports it, and its human rendering.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::log::unprintable;
use crate::time_fmt::format_utc;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Status {
    pub name: String,
    pub supervisor_pid: u32,
    /// Unix seconds.
    pub supervisor_started: u64,
    /// The child taking traffic, if any.
    pub child: Option<ChildStatus>,
    /// A child started and not ready yet.
    pub starting: Option<StartingStatus>,
    /// A child not spawned yet (it has no pid): its new listeners still
    /// being bound, or its exec not returned yet. Absent from older
    /// supervisors, which showed it as `starting` with pid 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<StartingStatus>,
    pub reloads: u64,
    pub failures: u64,
    /// The most recent failure, in words.
    pub last_failure: Option<String>,
    /// How the last child to end while serving ended, in words, a clean
    /// exit too (a `persist` restart's cause). Absent from older
    /// supervisors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<String>,
    pub listeners: Vec<ListenerStatus>,
    /// The binary the supervisor itself runs (absent from supervisors
    /// before in-place upgrades).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor_binary: Option<String>,
    /// How many times it re-executed itself in place.
    #[serde(default)]
    pub upgrades: u64,
    /// Whether it is stopping: it exits once every child has.
    #[serde(default)]
    pub stopping: bool,
    /// Children told to wind down and not exited yet, oldest first.
    #[serde(default)]
    pub draining: Vec<DrainingStatus>,
    /// With `persist`, while a restart waits out its backoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartStatus>,
}

/// A `persist` restart waiting out its backoff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RestartStatus {
    /// Milliseconds until it starts.
    pub in_ms: u64,
    /// Restarts within the restart-limit window, this one included.
    pub recent: u32,
    /// More than `limit` restarts within `window_ms` and it gives up.
    pub limit: u32,
    pub window_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChildStatus {
    /// `None` (no `pid` in JSON) while it is not spawned yet, its new
    /// listeners still being bound; an older supervisor said 0.
    #[serde(
        default,
        deserialize_with = "pid_or_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub pid: Option<u32>,
    /// Unix seconds.
    pub started: u64,
    pub path: String,
    /// `path` names another file now, or none: the child runs the earlier
    /// one, held open (a rollback after a deploy replaced it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replaced: bool,
    pub args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StartingStatus {
    #[serde(flatten)]
    pub child: ChildStatus,
    /// `first start`, `reload`, `restart` or `rollback`.
    pub why: String,
}

/// A child told to wind down (an old one after a reload, or any during a
/// stop) that has not exited yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DrainingStatus {
    #[serde(flatten)]
    pub child: ChildStatus,
    /// Milliseconds until it is killed; `None` once it has been (it has
    /// not been reaped yet).
    pub kill_in_ms: Option<u64>,
    /// Killed, and not dead of it 5 s later (stuck in the kernel): given
    /// up on, waited for by nothing. Absent (false) from an older
    /// supervisor's status.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub given_up: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ListenerStatus {
    pub name: String,
    pub network: String,
    /// The bound address (`:0` resolved); `None` when off. Where nothing
    /// listens (`listening` false), the address it is to be bound at.
    pub address: Option<String>,
    /// Whether the supervisor holds its socket, listening: not when it is
    /// off, nor while it is bound again (a going back to a launch whose socket a reload had
    /// shut), after its bind failed, or, for a TCP or unix socket of its
    /// own, from the start of a stop, which shuts it (the serving child
    /// does, once it has taken its queue; a UDP one, or one the service
    /// manager passed, stays listening). An older supervisor did not say:
    /// true.
    #[serde(default = "listening_unless_said")]
    pub listening: bool,
    /// A unix socket the supervisor bound whose file its path no longer
    /// names (removed, by hand or a cleaner, or another file put there):
    /// nobody can connect to it. Let go of (`listening` false) when the
    /// file was seen gone from its folder, for the next reload or restart
    /// to bind it again; else held and listening.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub file_removed: bool,
    /// Not handed over in an in-place upgrade, and not to be bound again
    /// as it was (the service manager's, or on a port the kernel chose):
    /// a child that has it serves on with it, no later child is given it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lost_in_upgrade: bool,
    /// The socket's key, for the supervisor to tell `file_removed` by
    /// (not sent: the address says it to a reader).
    #[serde(skip)]
    pub key: Option<crate::socket_key::ListenerKey>,
}

/// What [`ListenerStatus::listening`] is when a supervisor did not say.
fn listening_unless_said() -> bool {
    true
}

impl Status {
    /// The text `-littleboss=status` prints, after the Go package's.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Names are checked where declared, but this text may come from
        // another build's supervisor: escaped all the same.
        let _ = writeln!(out, "littleboss: {}\n", visible(&self.name));
        let stopping = if self.stopping { ", stopping" } else { "" };
        let _ = writeln!(
            out,
            "supervisor pid {}, started {}{stopping}",
            self.supervisor_pid,
            format_utc(self.supervisor_started)
        );
        if let Some(binary) = &self.supervisor_binary {
            let upgrades = match self.upgrades {
                0 => "not upgraded in place".to_owned(),
                1 => "upgraded in place once".to_owned(),
                n => format!("upgraded in place {n} times"),
            };
            let binary = shell_word(binary);
            let _ = writeln!(out, "supervisor binary {binary}, {upgrades}");
        }
        match &self.child {
            Some(c) => {
                let _ = writeln!(
                    out,
                    "child      {}, started {}, reloads {}, failures {}",
                    pid_words(c.pid),
                    format_utc(c.started),
                    self.reloads,
                    self.failures
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "child      none, reloads {}, failures {}",
                    self.reloads, self.failures
                );
            }
        }
        if let Some(r) = &self.restart {
            let _ = writeln!(
                out,
                "restarting in {}, restart {} of at most {} within {}",
                format_ms(r.in_ms),
                r.recent,
                r.limit,
                format_ms(r.window_ms)
            );
        }
        if let Some(StartingStatus { child, why }) =
            self.starting.as_ref().or(self.binding.as_ref())
        {
            let _ = writeln!(
                out,
                "starting   {} ({}), started {}, from {}{}",
                pid_words(child.pid),
                visible(why),
                format_utc(child.started),
                shell_word(&child.path),
                held_file(child)
            );
        }
        for draining in &self.draining {
            let DrainingStatus {
                child, kill_in_ms, ..
            } = draining;
            let deadline = match kill_in_ms {
                Some(ms) => format!("killed in {}", format_ms(*ms)),
                None if draining.given_up => {
                    "killed and not dead of it: given up on (stuck in the kernel?)".to_owned()
                }
                None => "killed, not yet reaped".to_owned(),
            };
            let _ = writeln!(
                out,
                "draining   {}, started {}, {deadline}",
                pid_words(child.pid),
                format_utc(child.started)
            );
        }
        if let Some(f) = &self.last_failure {
            let _ = writeln!(out, "last failure: {}", visible(f));
        }
        // Unless the failure says it already (an exit with an error, a
        // rollback's): the exit's words whole, not the start of another's
        // ("code 1" in "code 13", a pid reused).
        let failure = self.last_failure.as_deref().unwrap_or_default();
        let says = |exit: &str| {
            (failure.match_indices(exit)).any(|(at, _)| {
                let after = failure[at + exit.len()..].chars().next();
                !after.is_some_and(|c| c.is_ascii_alphanumeric())
            })
        };
        if let Some(exit) = self.last_exit.as_ref().filter(|e| !says(e)) {
            let _ = writeln!(out, "last exit:    {}", visible(exit));
        }
        if let Some(c) = &self.child {
            let mut line = shell_word(&c.path);
            for arg in &c.args {
                line.push(' ');
                line.push_str(&shell_word(arg));
            }
            let _ = writeln!(out, "\ncommand line:\n\t{line}");
            if c.replaced {
                let _ = writeln!(
                    out,
                    "\t({} was replaced since: this child runs the earlier file, held open)",
                    shell_word(&c.path)
                );
            }
        }
        if !self.listeners.is_empty() {
            let _ = writeln!(out, "\nlisteners:");
            for l in &self.listeners {
                // On one line: a unix socket's path may hold a newline.
                let addr = l.address.as_deref().map_or("off".into(), on_one_line);
                let (name, network) = (visible(&l.name), visible(&l.network));
                let not = match (l.listening || l.address.is_none(), l.file_removed) {
                    _ if l.lost_in_upgrade => {
                        " (not handed over in an upgrade: no later child is given it; stop and start the service to have it again)"
                    }
                    (true, false) => "",
                    // Let go of: the next launch binds it again (none
                    // comes once stopping).
                    (false, true) if self.stopping => " (its file was removed: nobody can connect)",
                    (false, true) => {
                        " (its file was removed: nobody can connect; a reload binds it again)"
                    }
                    (false, false) => " (not listening)",
                    // Held still: where it cannot be told that the file
                    // went from its folder (see the supervisor's log).
                    (true, true) => {
                        " (its file was removed, or is out of sight: nobody can connect by its path)"
                    }
                };
                let _ = writeln!(out, "\t{name}:\t{network} {addr}{not}");
            }
        }
        out
    }
}

/// Said after a child's path when it runs the earlier file held open.
pub(crate) const HELD_FILE: &str = " (replaced since: the earlier file runs, held open)";

/// What follows a child's path when it runs the earlier file held open.
fn held_file(child: &ChildStatus) -> &'static str {
    if child.replaced { HELD_FILE } else { "" }
}

/// `word` as a shell reads it back: as it is when nothing in it is
/// special, else in single quotes; one with a character that is
/// [`unprintable`] in bash's `$'...'`, escaped, so that none reaches the
/// terminal as such.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_owned();
    }
    if word.chars().any(unprintable) {
        let escaped: String = word
            .chars()
            .map(|c| match c {
                '\\' => r"\\".to_owned(),
                '\'' => r"\'".to_owned(),
                '\n' => r"\n".to_owned(),
                '\t' => r"\t".to_owned(),
                '\r' => r"\r".to_owned(),
                c if unprintable(c) => escaped(c),
                c => c.to_string(),
            })
            .collect();
        return format!("$'{escaped}'");
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Free text (a failure, which may quote a path) with its [`unprintable`]
/// characters escaped, so that none reaches the terminal as such; its
/// lines and tabs (a program's error with its causes) kept, each line
/// after the first indented, so that none reads as a line of its own (a
/// path holding `\nlittleboss: reloaded ...`).
pub(crate) fn visible(text: &str) -> String {
    let special = |c: char| unprintable(c) && c != '\n' && c != '\t';
    if !text.chars().any(|c| special(c) || c == '\n') {
        return text.to_owned();
    }
    let escape = |c: char| match c {
        c if special(c) => escaped(c),
        '\n' => "\n  ".to_owned(),
        c => c.to_string(),
    };
    text.chars().map(escape).collect()
}

/// `text` with every character a terminal would not show as itself
/// escaped, line ends and tabs too (`\x0a`): for a value that must stay
/// on its line, as a listener's address.
fn on_one_line(text: &str) -> String {
    let escape = |c: char| match unprintable(c) {
        true => escaped(c),
        false => c.to_string(),
    };
    text.chars().map(escape).collect()
}

/// An [`unprintable`] character as bash's `$'...'` writes it: `\x1b` for
/// an ASCII one; `\u0085` up to U+FFFF (`\x` is a byte to bash, not a
/// character); `\U000e0041` past it.
fn escaped(c: char) -> String {
    match c as u32 {
        ..0x80 => format!(r"\x{:02x}", c as u32),
        0x80..0x1_0000 => format!(r"\u{:04x}", c as u32),
        // Past four hex digits, which is all `\u` takes.
        _ => format!(r"\U{:08x}", c as u32),
    }
}

/// A wait in words: `250 ms`, `4.2 s`; rounded up, so that what is left
/// of a wait never reads as less than it is (1999 ms is `2.0 s`).
fn format_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        let tenths = ms.div_ceil(100);
        format!("{}.{} s", tenths / 10, tenths % 10)
    }
}

/// A child's pid as `status` prints it.
fn pid_words(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("pid {pid}"),
        None => "(no pid yet: binding its listeners, or its exec under way)".to_owned(),
    }
}

/// A pid from JSON: `null`, or an older supervisor's 0, is none.
fn pid_or_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Ok(Option::<u32>::deserialize(d)?.filter(|&pid| pid != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_left_is_rounded_up_never_down() {
        let said: Vec<String> = [0, 250, 999, 1000, 1001, 1999, 4200, 60_000]
            .into_iter()
            .map(format_ms)
            .collect();
        let want = [
            "0 ms", "250 ms", "999 ms", "1.0 s", "1.1 s", "2.0 s", "4.2 s", "60.0 s",
        ];
        assert_eq!(said, want);
    }

    #[test]
    fn words_read_back_by_a_shell_without_control_characters_on_the_terminal() {
        assert_eq!(shell_word("-v"), "-v");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("a\nb"), r"$'a\nb'");
        assert_eq!(shell_word("\u{1b}[2J it's"), r"$'\x1b[2J it\'s'");
        assert_eq!(shell_word("back\\slash\t"), r"$'back\\slash\t'");
        // A C1 control is a character, not a byte, to bash: `\u`.
        assert_eq!(shell_word("a\u{85}b"), r"$'a\u0085b'");
        // A right-to-left override would show `a\u{202e}txt.exe` as
        // `aexe.txt`: escaped too, in the word and in free text.
        assert_eq!(shell_word("a\u{202e}txt.exe"), r"$'a\u202etxt.exe'");
        assert_eq!(visible("x\u{2066}y\u{feff}"), r"x\u2066y\ufeff");
        assert_eq!(shell_word("tag\u{e0041}"), r"$'tag\U000e0041'");
        assert_eq!(
            visible("cannot run /srv/\u{1b}[2Jx"),
            r"cannot run /srv/\x1b[2Jx"
        );
        assert_eq!(
            visible("plain: it's\n\tcaused by"),
            "plain: it's\n  \tcaused by"
        );
        assert_eq!(
            visible("/srv/x\nlittleboss: reloaded"),
            "/srv/x\n  littleboss: reloaded"
        );
    }

    #[test]
    fn renders_like_the_go_package() {
        let s = Status {
            name: "blog".into(),
            supervisor_pid: 10,
            supervisor_started: 0,
            child: Some(ChildStatus {
                pid: Some(11),
                started: 60,
                path: "/bin/blog".into(),
                replaced: false,
                args: vec!["-v".into()],
            }),
            starting: None,
            binding: None,
            reloads: 1,
            failures: 0,
            last_failure: None,
            last_exit: None,
            listeners: vec![
                ListenerStatus {
                    name: "http".into(),
                    network: "tcp".into(),
                    address: Some("[::]:8080".into()),
                    listening: true,
                    file_removed: false,
                    lost_in_upgrade: false,
                    key: None,
                },
                ListenerStatus {
                    name: "admin".into(),
                    network: "tcp".into(),
                    address: None,
                    listening: false,
                    file_removed: false,
                    lost_in_upgrade: false,
                    key: None,
                },
                ListenerStatus {
                    name: "metrics".into(),
                    network: "tcp".into(),
                    address: Some("localhost:9100".into()),
                    listening: false,
                    file_removed: false,
                    lost_in_upgrade: false,
                    key: None,
                },
            ],
            supervisor_binary: Some("/bin/blog2".into()),
            upgrades: 1,
            stopping: false,
            draining: Vec::new(),
            restart: None,
        };
        assert_eq!(
            s.render(),
            "littleboss: blog\n\n\
             supervisor pid 10, started 1970-01-01 00:00:00 UTC\n\
             supervisor binary /bin/blog2, upgraded in place once\n\
             child      pid 11, started 1970-01-01 00:01:00 UTC, reloads 1, failures 0\n\n\
             command line:\n\t/bin/blog -v\n\n\
             listeners:\n\thttp:\ttcp [::]:8080\n\tadmin:\ttcp off\n\tmetrics:\ttcp localhost:9100 (not listening)\n"
        );
        // A unix socket's path with a line end in it stays on its line
        // (review 977).
        let mut odd = s.clone();
        odd.listeners[0].address = Some("/run/a\nb.sock".into());
        assert!(
            odd.render()
                .contains("\thttp:\ttcp /run/a\\x0ab.sock\n\tadmin:"),
            "{}",
            odd.render()
        );
        // A unix socket let go of for its removed file: a reload binds it
        // again, but not once stopping.
        let mut removed = s.clone();
        removed.listeners = vec![ListenerStatus {
            name: "api".into(),
            network: "unix".into(),
            address: Some("/run/api.sock".into()),
            listening: false,
            file_removed: true,
            lost_in_upgrade: false,
            key: None,
        }];
        let said = "\tapi:\tunix /run/api.sock (its file was removed: nobody can connect";
        assert!(
            removed
                .render()
                .contains(&format!("{said}; a reload binds it again)\n"))
        );
        removed.stopping = true;
        assert!(
            removed.render().contains(&format!("{said})\n")),
            "{}",
            removed.render()
        );
        let mut quoted = s.clone();
        quoted.child.as_mut().unwrap().args = vec![
            "-greeting=hello world".into(),
            "it's".into(),
            String::new(),
            "-x=a,b:c/d".into(),
        ];
        let text = quoted.render();
        assert!(
            text.contains("\t/bin/blog '-greeting=hello world' 'it'\\''s' '' -x=a,b:c/d\n"),
            "{text}"
        );
        for (upgrades, said) in [
            (0, "not upgraded in place"),
            (3, "upgraded in place 3 times"),
        ] {
            let text = Status {
                upgrades,
                ..s.clone()
            }
            .render();
            assert!(text.contains(&format!("/bin/blog2, {said}\n")), "{text}");
        }
        let mut bare = s.clone();
        bare.child.as_mut().unwrap().args.clear();
        let text = bare.render();
        assert!(
            text.contains("command line:\n\t/bin/blog\n"),
            "no space after a command without arguments: {text:?}"
        );
        // Names from another build's supervisor reach no terminal raw.
        let mut odd = s;
        odd.name = "blog\x1b[2J".into();
        odd.listeners[0].name = "http\x07".into();
        let text = odd.render();
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    }

    #[test]
    fn shows_a_stop_and_the_children_draining() {
        let child = |pid| ChildStatus {
            pid: Some(pid),
            started: 60,
            path: "/bin/blog".into(),
            replaced: false,
            args: Vec::new(),
        };
        let s = Status {
            name: "blog".into(),
            supervisor_pid: 10,
            supervisor_started: 0,
            child: Some(child(13)),
            starting: None,
            binding: None,
            reloads: 2,
            failures: 0,
            last_failure: None,
            last_exit: None,
            listeners: Vec::new(),
            supervisor_binary: None,
            upgrades: 0,
            stopping: true,
            draining: vec![
                DrainingStatus {
                    child: child(11),
                    kill_in_ms: None,
                    given_up: false,
                },
                DrainingStatus {
                    child: child(12),
                    kill_in_ms: Some(250),
                    given_up: false,
                },
                DrainingStatus {
                    child: child(13),
                    kill_in_ms: Some(4_130),
                    given_up: false,
                },
                DrainingStatus {
                    child: child(14),
                    kill_in_ms: None,
                    given_up: true,
                },
            ],
            restart: None,
        };
        let text = s.render();
        assert!(
            text.contains(
                "supervisor pid 10, started 1970-01-01 00:00:00 UTC, stopping\n\
                 child      pid 13, started 1970-01-01 00:01:00 UTC, reloads 2, failures 0\n\
                 draining   pid 11, started 1970-01-01 00:01:00 UTC, killed, not yet reaped\n\
                 draining   pid 12, started 1970-01-01 00:01:00 UTC, killed in 250 ms\n\
                 draining   pid 13, started 1970-01-01 00:01:00 UTC, killed in 4.2 s\n\
                 draining   pid 14, started 1970-01-01 00:01:00 UTC, killed and not dead of it: given up on (stuck in the kernel?)\n"
            ),
            "{text}"
        );
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["stopping"], true);
        assert_eq!(json["draining"][0]["pid"], 11);
        assert_eq!(json["draining"][0]["kill_in_ms"], serde_json::Value::Null);
        assert_eq!(json["draining"][1]["kill_in_ms"], 250);
        assert_eq!(json["draining"][0].get("given_up"), None);
        assert_eq!(json["draining"][3]["given_up"], true);
    }

    #[test]
    fn shows_a_restart_waiting_out_its_backoff() {
        let s = Status {
            name: "blog".into(),
            supervisor_pid: 10,
            supervisor_started: 0,
            child: None,
            starting: None,
            binding: None,
            reloads: 0,
            failures: 2,
            last_failure: Some("child pid 11 exited with code 3".into()),
            last_exit: None,
            listeners: Vec::new(),
            supervisor_binary: None,
            upgrades: 0,
            stopping: false,
            draining: Vec::new(),
            restart: Some(RestartStatus {
                in_ms: 190,
                recent: 2,
                limit: 5,
                window_ms: 60_000,
            }),
        };
        let text = s.render();
        assert!(
            text.contains(
                "child      none, reloads 0, failures 2\n\
                 restarting in 190 ms, restart 2 of at most 5 within 60.0 s\n"
            ),
            "{text}"
        );
        assert_eq!(serde_json::to_value(&s).unwrap()["restart"]["in_ms"], 190);
        assert!(!text.contains("last exit"), "{text}");
    }

    #[test]
    fn shows_the_last_exit_unless_the_failure_says_it() {
        let mut s: Status = serde_json::from_str(
            r#"{"name":"blog","supervisor_pid":10,"supervisor_started":0,
            "child":null,"starting":null,"reloads":0,"failures":1,
            "last_failure":"child pid 11 exited with code 3","listeners":[]}"#,
        )
        .unwrap();
        assert_eq!(s.last_exit, None);
        s.last_exit = Some("child pid 12 exited with code 0".into());
        let text = s.render();
        assert!(
            text.contains(
                "last failure: child pid 11 exited with code 3\n\
                 last exit:    child pid 12 exited with code 0\n"
            ),
            "{text}"
        );
        assert_eq!(
            serde_json::to_value(&s).unwrap()["last_exit"],
            "child pid 12 exited with code 0"
        );
        // A rollback's failure names the exit.
        s.last_failure = Some(
            "reload to /bin/v2 rolled back: its child pid 12 exited with code 0 1.0s after it started; restarting /bin/v1"
                .into(),
        );
        assert!(!s.render().contains("last exit"), "{}", s.render());
        // An older failure of a pid since reused, with a longer code: not
        // this exit's words (review 977).
        s.last_failure = Some("child pid 12 exited with code 13".into());
        s.last_exit = Some("child pid 12 exited with code 1".into());
        assert!(
            s.render()
                .contains("last exit:    child pid 12 exited with code 1\n"),
            "{}",
            s.render()
        );
    }

    #[test]
    fn an_older_supervisors_pid_0_is_a_child_not_spawned_yet() {
        let older = r#"{"pid":0,"started":60,"path":"/bin/blog","args":[]}"#;
        let child: ChildStatus = serde_json::from_str(older).unwrap();
        assert_eq!(child.pid, None);
        let newer = r#"{"started":60,"path":"/bin/blog","args":[]}"#;
        assert_eq!(serde_json::from_str::<ChildStatus>(newer).unwrap(), child);
        assert_eq!(serde_json::to_string(&child).unwrap(), newer);
        let spawned = r#"{"pid":7,"started":60,"path":"/bin/blog","args":[]}"#;
        let spawned: ChildStatus = serde_json::from_str(spawned).unwrap();
        assert_eq!(spawned.pid, Some(7));
    }

    #[test]
    fn says_when_a_child_runs_the_earlier_file_its_path_no_longer_names() {
        let rolled_back = ChildStatus {
            pid: Some(12),
            started: 60,
            path: "/srv/blog".into(),
            replaced: true,
            args: Vec::new(),
        };
        let s = Status {
            name: "blog".into(),
            supervisor_pid: 10,
            supervisor_started: 0,
            child: Some(rolled_back.clone()),
            starting: Some(StartingStatus {
                child: rolled_back,
                why: "rollback".into(),
            }),
            binding: None,
            reloads: 1,
            failures: 1,
            last_failure: None,
            last_exit: None,
            listeners: Vec::new(),
            supervisor_binary: None,
            upgrades: 0,
            stopping: false,
            draining: Vec::new(),
            restart: None,
        };
        let text = s.render();
        assert!(
            text.contains("from /srv/blog (replaced since: the earlier file runs, held open)\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "\t/srv/blog\n\t(/srv/blog was replaced since: this child runs the earlier file, held open)\n"
            ),
            "{text}"
        );
        assert_eq!(serde_json::to_value(&s).unwrap()["child"]["replaced"], true);
        // A path or failure with an escape sequence shows it escaped.
        let mut s = s;
        let odd = "/srv/\u{1b}[2Jblog".to_owned();
        (s.starting.as_mut().unwrap().child.path, s.supervisor_binary) =
            (odd.clone(), Some(odd.clone()));
        s.last_failure = Some(format!("cannot run {odd}"));
        let text = s.render();
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(text.contains(r"from $'/srv/\x1b[2Jblog'"), "{text}");
        assert!(
            text.contains(r"supervisor binary $'/srv/\x1b[2Jblog'"),
            "{text}"
        );
        assert!(
            text.contains(r"last failure: cannot run /srv/\x1b[2Jblog"),
            "{text}"
        );
    }

    #[test]
    fn reads_the_status_of_a_supervisor_before_draining_was_shown() {
        let old = r#"{"name":"blog","supervisor_pid":10,"supervisor_started":0,
            "child":null,"starting":null,"reloads":0,"failures":0,
            "last_failure":null,"listeners":[]}"#;
        let s: Status = serde_json::from_str(old).unwrap();
        assert!(!s.stopping);
        assert!(s.draining.is_empty());
        assert!(s.restart.is_none());
    }
}
