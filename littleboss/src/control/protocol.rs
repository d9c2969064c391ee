//! Control messages: one JSON object per line, each carrying the protocol
//! version `v`.
//!
//! Requests: `{"v":1,"cmd":"status"}`, `{"v":1,"cmd":"stop"}`,
//! `{"v":1,"cmd":"reload","path":"/abs/new/binary"}`.
//! Responses carry a `type`: `status`, `waiting`, `reloading`,
//! `reloaded`, `stopping`, `stopped`, or `error` (with a message for a
//! person), and `final`: whether the response ends its request.
//! A status request's unknown fields are ignored; a stop or a reload with
//! a field this supervisor does not know (a newer client's option) is
//! refused, naming it, rather than carried out without what it asked. A
//! key named twice in one object is an error.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::status::Status;

/// The version of the control protocol.
pub(crate) const VERSION: u64 = 1;
/// The longest request line the supervisor reads: room for a reload's
/// arguments up to the kernel's usual `ARG_MAX` (2 MiB), which serde
/// writes a number per byte (up to four characters each).
pub(crate) const MAX_LINE: usize = 16 * 1024 * 1024;

/// A control request. A field added to it goes in [`REQUEST_KEYS`] too
/// (a unit test sends a reload with every field set, listed by name, to
/// check), and is left out when unset (`skip_serializing_if`): a supervisor that
/// does not know it refuses a stop or reload that has it, on the wire or
/// handed across an in-place upgrade ([`unknown_field`]), so one sent
/// with it unset would be refused for nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", try_from = "WireRequest")]
pub(crate) enum Request {
    Status,
    Reload {
        #[serde(with = "crate::path_bytes")]
        path: PathBuf,
        /// The new child's `argv[0]` (default: `path`).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "crate::path_bytes::option"
        )]
        argv0: Option<PathBuf>,
        /// The new child's arguments; `None` keeps the serving child's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        args: Option<Vec<std::ffi::OsString>>,
        /// The listeners the new binary declares, with their defaults;
        /// `None` keeps the serving child's (moved by the listener flags
        /// among `args`, if given).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        listeners: Option<Vec<crate::spec::ListenerSpec>>,
        /// The caller's working folder, where the relative paths it gives
        /// are meant.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "crate::path_bytes::option"
        )]
        dir: Option<PathBuf>,
        /// That folder's identity, `[device, inode]`: a path may name
        /// another folder for the supervisor (a rename, a mount namespace).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dir_id: Option<[u64; 2]>,
    },
    Stop,
}

/// A request as read: every field of every command at one level, so that
/// serde reads a reload's arguments (2 MiB of them become 8 MiB of JSON)
/// straight into their strings. `Request`'s own tagged form would first
/// copy the whole message into serde's buffer of values, 32 bytes a byte.
#[derive(Deserialize)]
struct WireRequest {
    cmd: Command,
    #[serde(default, with = "crate::path_bytes::option")]
    path: Option<PathBuf>,
    #[serde(default, with = "crate::path_bytes::option")]
    argv0: Option<PathBuf>,
    #[serde(default, deserialize_with = "crate::arg_bytes::option")]
    args: Option<Vec<std::ffi::OsString>>,
    listeners: Option<Listeners>,
    #[serde(default, with = "crate::path_bytes::option")]
    dir: Option<PathBuf>,
    dir_id: Option<[u64; 2]>,
}

/// A reload's declared listeners as read: past the most a child can be
/// handed, counted for the refusal but not kept (a 16 MiB line of them
/// would otherwise take some 100 MB before its count was looked at).
struct Listeners {
    kept: Vec<WireListener>,
    count: usize,
}

impl<'de> Deserialize<'de> for Listeners {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(ListenersVisitor)
    }
}

struct ListenersVisitor;

impl<'de> serde::de::Visitor<'de> for ListenersVisitor {
    type Value = Listeners;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of listeners")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Listeners, A::Error> {
        use serde::de::IgnoredAny;
        let (mut kept, mut count) = (Vec::new(), 0);
        loop {
            let more = if count < crate::rules::MAX_LISTENERS {
                seq.next_element::<WireListener>()?.map(|l| kept.push(l))
            } else {
                seq.next_element::<IgnoredAny>()?.map(drop)
            };
            if more.is_none() {
                return Ok(Listeners { kept, count });
            }
            count += 1;
        }
    }
}

/// A declared listener as read: a field this version does not know (a
/// newer client's, or a script's misspelt `adress`) is refused, as one at
/// the top is, rather than dropped (the listener would be off).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireListener {
    name: String,
    network: crate::spec::Network,
    address: Option<String>,
}

/// The longest path a reload may name or name its folder by (Linux's
/// `PATH_MAX`, which counts the NUL: an exec of a longer one fails anyway),
/// and the longest `argv[0]` (its `MAX_ARG_STRLEN`, which counts it too):
/// what a request carries is said in log lines and answers.
const A_PATH: (&str, usize) = ("path", 4096 - 1);

/// Whether a request may carry `dir` as the folder it is run in: a client
/// leaves out one that does not fit, which only names it (`getcwd` gives
/// one past `PATH_MAX`, which no path can name, to a shell that entered it
/// a step at a time).
pub(crate) fn dir_fits(dir: &std::path::Path) -> bool {
    path_fits("dir", dir, A_PATH).is_ok()
}
const AN_ARGUMENT: (&str, usize) = ("argument", crate::arg_bytes::LONGEST);

/// `path`, the reload's field `field`, fits what it is (`what`, a path or
/// an argument): no longer than `most` bytes, and without a NUL byte,
/// which neither holds.
fn path_fits(
    field: &str,
    path: &std::path::Path,
    (what, most): (&str, usize),
) -> Result<(), serde_json::Error> {
    use serde::de::Error;
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    if bytes.len() > most {
        let len = bytes.len();
        return Err(Error::custom(format_args!(
            "`{field}` is {len} bytes, longer than any {what} ({most})"
        )));
    }
    if bytes.contains(&0) {
        return Err(Error::custom(format_args!(
            "`{field}` holds a NUL byte, which no path or argument can"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Command {
    Status,
    Reload,
    Stop,
}

impl TryFrom<WireRequest> for Request {
    type Error = serde_json::Error;

    fn try_from(wire: WireRequest) -> Result<Request, serde_json::Error> {
        let fields = [
            ("argv0", &wire.argv0, AN_ARGUMENT),
            ("dir", &wire.dir, A_PATH),
        ];
        for (field, path, most) in fields {
            if let Some(path) = path {
                path_fits(field, path, most)?;
            }
        }
        Ok(match wire.cmd {
            Command::Status => Request::Status,
            Command::Stop => Request::Stop,
            Command::Reload => Request::Reload {
                path: wire
                    .path
                    .ok_or_else(|| serde::de::Error::missing_field("path"))
                    .and_then(|path| path_fits("path", &path, A_PATH).map(|()| path))?,
                listeners: match wire.listeners {
                    Some(declared) => Some(checked(declared)?),
                    None => None,
                },
                argv0: wire.argv0,
                args: wire.args,
                dir: wire.dir,
                dir_id: wire.dir_id,
            },
        })
    }
}

/// A reload's declared listeners: at most [`rules::MAX_LISTENERS`] of
/// them (a child is handed all in one message), their default addresses
/// held to today's rules, as a listener flag's value is (a unix `@name`
/// would bind a file of that name, which `status` shows as an abstract
/// socket; what else those rules refuse would fail at its bind, or bind
/// other than it reads, as `1.2.3` does), and their names to the
/// characters every version has allowed: a name becomes a flag and is
/// printed by `status`. Names are not held to the whole of today's
/// rules, which a reload to a build made under older ones (a listener
/// named `json`, say, which works as well as any) must still pass.
///
/// [`rules::MAX_LISTENERS`]: crate::rules::MAX_LISTENERS
fn checked(declared: Listeners) -> Result<Vec<crate::spec::ListenerSpec>, serde_json::Error> {
    use crate::rules::{self, RuleError};
    use serde::de::Error;
    let Listeners { kept, count } = declared;
    if count > rules::MAX_LISTENERS {
        return Err(Error::custom(RuleError::TooManyListeners { count }));
    }
    let mut declared: Vec<crate::spec::ListenerSpec> = (kept.into_iter())
        .map(|l| crate::spec::ListenerSpec {
            name: l.name,
            network: l.network,
            address: l.address,
        })
        .collect();
    let mut names = std::collections::HashSet::with_capacity(declared.len());
    for listener in &mut declared {
        // Off, as everywhere else an empty address is (not a bind of "").
        if listener.address.as_deref() == Some("") {
            listener.address = None;
        }
        rules::listener_name_chars(&listener.name).map_err(Error::custom)?;
        if !names.insert(listener.name.as_str()) {
            let name = listener.name.clone();
            return Err(Error::custom(RuleError::DuplicateListener { name }));
        }
        let address = listener.address.as_deref().unwrap_or_default();
        rules::address(listener.network.as_str(), address).map_err(|problem| {
            Error::custom(RuleError::ListenerSpec {
                listener: listener.name.clone(),
                problem,
            })
        })?;
    }
    Ok(declared)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Response {
    Status {
        status: Box<Status>,
    },
    /// A reload waits for the child starting now (pid; 0 while the earlier
    /// reload still binds its new listeners) to finish starting, which
    /// takes `within_ms` at most (that child's deadlines, which another
    /// build's settings may make longer than the client would wait;
    /// absent from an older supervisor).
    Waiting {
        pid: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        within_ms: Option<u64>,
    },
    /// A reload started a new child; `changes` says how its listeners
    /// differ from the serving child's, one line each (absent from an
    /// older supervisor).
    Reloading {
        pid: u32,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        changes: Vec<String>,
    },
    /// The new child is ready and serving; `old_pid` is winding down.
    /// `supervisor_not_upgraded` says why the supervisor did not upgrade
    /// itself in place to the new binary, when it tried and failed or would
    /// not (the binary cannot take its state over, or was refused before),
    /// or has not yet (a child watched by pid, a child's exec hung). Absent
    /// otherwise, and from an older supervisor.
    Reloaded {
        pid: u32,
        old_pid: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        supervisor_not_upgraded: Option<String>,
    },
    /// Stop began; `pid` is the child told to wind down, and every child
    /// is gone (exited or killed) within `within_ms` (absent from an older
    /// supervisor): the running build's lameduck timeouts, which the
    /// command's own build does not know.
    Stopping {
        pid: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        within_ms: Option<u64>,
    },
    Stopped {
        exit_code: i32,
    },
    /// The request failed, or was refused, as `error` says. `refused`:
    /// nothing was tried, the connection turned away before its request
    /// was read (too many open, a stranger's, a long request whose turn to
    /// be read did not come) or a reload put off by a stop (asked once it
    /// began, or still waiting its turn or its listeners then) or asked of
    /// a supervisor exiting (absent when false, and from an older
    /// supervisor).
    Error {
        error: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        refused: bool,
    },
}

impl Response {
    /// A request that failed as `error` says.
    pub fn error(error: impl Into<String>) -> Response {
        Response::Error {
            error: error.into(),
            refused: false,
        }
    }

    /// A request refused with nothing tried, as `error` says: one turned
    /// away before it was read, a reload put off by a stop or asked of a
    /// supervisor exiting (which is not a reload that failed).
    pub fn refused(error: impl Into<String>) -> Response {
        Response::Error {
            error: error.into(),
            refused: true,
        }
    }

    /// The answer's type as the wire names it (`status`, `error`…), to
    /// name an answer without quoting it whole.
    pub fn kind(&self) -> &'static str {
        match self {
            Response::Status { .. } => "status",
            Response::Waiting { .. } => "waiting",
            Response::Reloading { .. } => "reloading",
            Response::Reloaded { .. } => "reloaded",
            Response::Stopping { .. } => "stopping",
            Response::Stopped { .. } => "stopped",
            Response::Error { .. } => "error",
        }
    }

    /// Whether this response ends its request.
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            Response::Waiting { .. } | Response::Reloading { .. } | Response::Stopping { .. }
        )
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    v: u64,
    #[serde(flatten)]
    body: T,
}

/// One line (newline included) for the wire.
pub(crate) fn encode<T: Serialize>(body: &T) -> Vec<u8> {
    let mut line =
        serde_json::to_vec(&Envelope { v: VERSION, body }).expect("control messages serialize");
    line.push(b'\n');
    line
}

/// A response as sent: its body, and whether it ends its request
/// (`final`), so that a client older than the supervisor can pass over a
/// progress note of a type it does not know.
#[derive(Serialize)]
struct Sent<'a> {
    #[serde(rename = "final")]
    ends: bool,
    #[serde(flatten)]
    body: &'a Response,
}

/// One response line (newline included) for the wire.
pub(crate) fn encode_response(response: &Response) -> Vec<u8> {
    encode(&Sent {
        ends: response.is_final(),
        body: response,
    })
}

/// A response as a client reads it.
#[derive(Debug, PartialEq)]
pub(crate) enum Answer {
    Known(Response),
    /// A progress note of a type this build does not know, from a newer
    /// supervisor that marked it not final: passed over.
    UnknownProgress(String),
}

/// The `status` object of `line`, a status answer in this protocol
/// version, whether or not this build can read each of its fields (those
/// of another build may differ): what `status --json` prints.
pub(crate) fn raw_status(line: &[u8]) -> Option<serde_json::Value> {
    let mut raw: serde_json::Value = serde_json::from_slice(line.trim_ascii_end()).ok()?;
    let ours = raw["v"].as_u64() == Some(VERSION) && raw["type"] == "status";
    let status = raw.get_mut("status").filter(|s| ours && s.is_object())?;
    Some(status.take())
}

/// Whether `line` is a message in another protocol version than this
/// build's.
pub(crate) fn in_other_version(line: &[u8]) -> bool {
    matches!(
        decode_response(line),
        Err(ProtocolError::Version(_) | ProtocolError::VersionNotWhole(_))
    )
}

/// Reads a response, in the client's words when it cannot.
pub(crate) fn decode_answer(line: &[u8]) -> Result<Answer, String> {
    let raw = || serde_json::from_slice::<serde_json::Value>(line).unwrap_or_default();
    match decode_response(line) {
        Ok(response) => Ok(Answer::Known(response)),
        // A version that is no whole number, from a supervisor: not this
        // build's either.
        Err(ProtocolError::Version(v) | ProtocolError::VersionNotWhole(v)) => {
            let raw = raw();
            let said = raw["error"]
                .as_str()
                .map(|e| format!(", saying: {}", super::status::visible(e)))
                .unwrap_or_default();
            // Its version as it came, on one line (JSON escapes no C1
            // control).
            let v = crate::log::printable(&v);
            Err(format!(
                "the supervisor answered in protocol version {v}; this command speaks version {VERSION}{said}"
            ))
        }
        Err(ProtocolError::BadResponse(e)) => {
            let raw = raw();
            // Of any length: said cut short, as a request's values are.
            let kind = cut_short(raw["type"].as_str().unwrap_or("?"));
            if raw["final"] == serde_json::Value::Bool(false) {
                return Ok(Answer::UnknownProgress(kind));
            }
            Err(format!(
                "the supervisor answered `{kind}`, which this command cannot read (is the supervisor a newer build?): {}",
                // serde's words quote the type whole.
                short(e.to_string())
            ))
        }
        Err(e) => Err(format!("cannot read the supervisor's answer: {e}")),
    }
}

/// Why a control message could not be read; the peer is told in these words.
#[derive(Debug)]
pub(crate) enum ProtocolError {
    NotJson(serde_json::Error),
    NotAnObject,
    NoVersion,
    /// The version a message gave, as it reads.
    Version(String),
    /// A version that is no whole number (`"1"`, `1.0`, an array), as it
    /// reads: a mistake of type, not a version of another build.
    VersionNotWhole(String),
    /// An object names a key twice, or has too many (serde_json's own
    /// words and place).
    Keys(serde_json::Error),
    BadRequest(serde_json::Error),
    BadResponse(serde_json::Error),
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtocolError::NotJson(e) => write!(f, "not a JSON message: {e}"),
            ProtocolError::NotAnObject => f.write_str("a message must be a JSON object"),
            ProtocolError::NoVersion => write!(
                f,
                "the message has no protocol version `v` (expected {VERSION})"
            ),
            ProtocolError::Version(other) => write!(
                f,
                "unsupported protocol version {other} (this supervisor speaks version {VERSION})"
            ),
            ProtocolError::VersionNotWhole(other) => write!(
                f,
                "the protocol version `v` must be a whole number, not {other} (this supervisor speaks version {VERSION})"
            ),
            ProtocolError::Keys(e) => write!(f, "{e}"),
            ProtocolError::BadRequest(e) => write!(f, "bad request: {e}"),
            ProtocolError::BadResponse(e) => write!(f, "bad response: {e}"),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// Reads a request; the error is the message to send back.
pub(crate) fn decode_request(line: &[u8]) -> Result<Request, ProtocolError> {
    let top = open_envelope(line)?;
    if let Some(refused) = unknown_field_of(&top) {
        return Err(refused);
    }
    // Only a reload's fields are read: another command's are passed
    // over, whatever their type.
    match top.cmd {
        Some(Ok(cmd)) if cmd == "status" => Ok(Request::Status),
        Some(Ok(cmd)) if cmd == "stop" => Ok(Request::Stop),
        Some(Err(other)) => Err(ProtocolError::BadRequest(serde::de::Error::custom(
            format_args!("the command `cmd` is {other}, not a string such as \"status\""),
        ))),
        // In serde's words, the name cut short: it is sent back and logged.
        Some(Ok(cmd)) if cmd != "reload" => Err(ProtocolError::BadRequest(
            serde::de::Error::custom(format_args!(
                "unknown variant `{}`, expected one of `status`, `reload`, `stop`",
                cut_short(&cmd)
            )),
        )),
        _ => serde_json::from_slice(line).map_err(ProtocolError::unreadable),
    }
}

/// [`unknown_field`] of the request `json` (its command and the names of
/// its fields, read as [`decode_request`] reads them), if it has one: for
/// a request handed over in an in-place upgrade, read again.
pub(crate) fn unknown_field_in(json: &str) -> Option<ProtocolError> {
    let UniqueKeys::Object(top) = serde_json::from_str::<UniqueKeys>(json).ok()? else {
        return None;
    };
    unknown_field_of(&top)
}

/// [`unknown_field`] of the request `top`, its command a string.
fn unknown_field_of(top: &Top) -> Option<ProtocolError> {
    let Some(Ok(cmd)) = &top.cmd else {
        return None;
    };
    unknown_field(cmd, top.keys.iter().map(String::as_str))
}

/// The refusal of a request `cmd` with a field among `keys` that no
/// request of this version has: a newer client's option, which a status
/// may do without and a change of state may not.
fn unknown_field<'a>(cmd: &str, mut keys: impl Iterator<Item = &'a str>) -> Option<ProtocolError> {
    if cmd != "stop" && cmd != "reload" {
        return None;
    }
    let field = cut_short(keys.find(|key| !REQUEST_KEYS.contains(key))?);
    Some(ProtocolError::BadRequest(serde::de::Error::custom(
        format_args!(
            "unknown field `{field}`: this supervisor does not know it (a newer client's option?), and does not {cmd} without what it asks"
        ),
    )))
}

impl ProtocolError {
    /// Whether the line was no message of this protocol at all (not a
    /// JSON object with a version): another protocol's, which a trusted
    /// process may have been steered into sending (an HTTP request from
    /// a program's client with a server-side request forgery bug). Its
    /// connection is closed after the error, rather than read on to a
    /// request hidden further down (the body after the headers).
    pub(crate) fn another_protocols(&self) -> bool {
        matches!(
            self,
            ProtocolError::NotJson(_) | ProtocolError::NotAnObject | ProtocolError::NoVersion
        )
    }

    /// A request serde could not read, as [`ProtocolError::BadRequest`]
    /// with serde's message kept short: it may quote a whole value (a
    /// string of megabytes where a number belongs, a listener's name), and
    /// it is logged and sent back.
    ///
    /// ```ignore
    /// let e = serde_json::from_str::<u8>(&format!("\"{}\"", "x".repeat(9999))).unwrap_err();
    /// assert!(ProtocolError::unreadable(e).to_string().chars().count() < 250);
    /// ```
    pub(crate) fn unreadable(e: serde_json::Error) -> ProtocolError {
        ProtocolError::bad_request(e.to_string())
    }

    /// [`unreadable`](Self::unreadable) for a request read again where
    /// an in-place upgrade handed it over: without serde's line and
    /// column, which count in the handed-over state, not in the line the
    /// client sent.
    pub(crate) fn unreadable_handed_over(e: serde_json::Error) -> ProtocolError {
        let said = e.to_string();
        let at = format!(" at line {} column {}", e.line(), e.column());
        let said = said.strip_suffix(&at).unwrap_or(&said).to_owned();
        ProtocolError::bad_request(said)
    }

    /// A bad request saying `said`, cut short where long.
    fn bad_request(said: String) -> ProtocolError {
        ProtocolError::BadRequest(serde::de::Error::custom(short(said)))
    }
}

/// The longest message about a bad request, in characters.
const MAX_ERROR_CHARS: usize = 200;

/// `text`, or where it is longer than [`MAX_ERROR_CHARS`] its beginning
/// and end, as [`cut_middle`] cuts it: for a message about something a
/// peer sent, which may quote all of it.
pub(crate) fn short(text: String) -> String {
    match text.chars().count() > MAX_ERROR_CHARS {
        true => cut_middle(&text),
        false => text,
    }
}

/// `text` for a log line: its control and hiding characters escaped
/// ([`printable`](crate::log::printable)), then [`short`]; cut first,
/// the escapes would make it long again.
pub(crate) fn short_printable(text: &str) -> String {
    short(crate::log::printable(text).into_owned())
}

/// `text`'s beginning and end (where serde says the line and column),
/// with `…` between, in [`MAX_ERROR_CHARS`].
fn cut_middle(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let tail = 40.min(chars.len());
    let head = MAX_ERROR_CHARS - tail - 1;
    let mut cut: String = chars[..head].iter().collect();
    cut.push('…');
    cut.extend(&chars[chars.len() - tail..]);
    cut
}

/// Reads a response (client side).
pub(crate) fn decode_response(line: &[u8]) -> Result<Response, ProtocolError> {
    open_envelope(line)?;
    serde_json::from_slice(line).map_err(ProtocolError::BadResponse)
}

/// Checks a message is one JSON object of this protocol's version whose
/// objects name each key once; the body is read afterwards, straight from
/// the line (its unknown fields, `v` among them, are passed over).
fn open_envelope(line: &[u8]) -> Result<Top, ProtocolError> {
    let top = serde_json::from_slice::<UniqueKeys>(line).map_err(|e| match e.is_data() {
        true => ProtocolError::Keys(e),
        false => ProtocolError::NotJson(e),
    })?;
    let UniqueKeys::Object(top) = top else {
        return Err(ProtocolError::NotAnObject);
    };
    match &top.v {
        None => Err(ProtocolError::NoVersion),
        Some(v) if v.number == Some(VERSION) => Ok(top),
        // A negative one is another version all the same.
        Some(v) if v.number.is_some() || v.text.parse::<i64>().is_ok() => {
            Err(ProtocolError::Version(v.text.clone()))
        }
        Some(v) => Err(ProtocolError::VersionNotWhole(v.text.clone())),
    }
}

/// A JSON value whose objects name each key once, at any depth: serde_json
/// keeps the last of two silently, and `{"cmd":"status","cmd":"stop"}` is
/// not a message to guess the meaning of. Of the value itself only what
/// the envelope needs is kept, little whatever the message's size.
enum UniqueKeys {
    Object(Top),
    Other,
}

/// What the envelope keeps of a message's top-level object.
#[derive(Default)]
struct Top {
    v: Option<Version>,
    /// `cmd`: the string, or how another value reads.
    cmd: Option<Result<String, String>>,
    /// Its keys, in order.
    keys: Vec<String>,
}

/// The keys a request of this version may have, of any command.
const REQUEST_KEYS: [&str; 8] = [
    "v",
    "cmd",
    "path",
    "argv0",
    "args",
    "listeners",
    "dir",
    "dir_id",
];

/// A message's `v`: the number, if it is a whole one, and how it reads in
/// an error (an array or an object by its kind alone).
struct Version {
    number: Option<u64>,
    text: String,
}

/// Any JSON value, checked for keys named twice and then forgotten.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(Walk { top: false })
            .map(|_| Checked)
    }
}

/// The most keys an object of a message may have: far more than any of
/// the protocol's has (a status has about 15), so that a newer
/// supervisor's answers still read; few enough that a 16 MiB line cannot
/// cost a hash set of a million keys (those of the objects open at once
/// at most, serde_json nesting 128 deep).
const MOST_KEYS: usize = 1024;

/// Walks a JSON value; at the top it keeps the object's `v` and `cmd`,
/// and its keys.
struct Walk {
    top: bool,
}

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Walk { top: true })
    }
}

impl<'de> serde::de::Visitor<'de> for Walk {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys::Other)
    }

    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys::Other)
    }

    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys::Other)
    }

    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys::Other)
    }

    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys::Other)
    }

    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys::Other)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(UniqueKeys::Other)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = std::collections::HashSet::new();
        let mut top = Top::default();
        while let Some(key) = map.next_key::<String>()? {
            if seen.len() == MOST_KEYS {
                return Err(serde::de::Error::custom(format_args!(
                    "an object has more than {MOST_KEYS} keys"
                )));
            }
            if seen.contains(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "the key `{}` appears twice",
                    cut_short(&key)
                )));
            }
            match key.as_str() {
                "v" if self.top => top.v = Some(map.next_value::<Version>()?),
                "cmd" if self.top => top.cmd = Some(map.next_value::<CommandName>()?.0),
                _ => {
                    map.next_value::<Checked>()?;
                }
            }
            if self.top {
                top.keys.push(key.clone());
            }
            seen.insert(key);
        }
        Ok(UniqueKeys::Object(top))
    }
}

/// The first 40 characters of `text`, and `…` if there were more: what a
/// message sends back of a value of any size.
fn cut_short(text: &str) -> String {
    let mut short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// A top-level `cmd`: the string, or how another value reads.
struct CommandName(Result<String, String>);

impl<'de> Deserialize<'de> for CommandName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = deserializer.deserialize_any(ReadScalar)?;
        Ok(CommandName(match value {
            Scalar::Str(s) => Ok(s),
            Scalar::Number(n) => Err(n.to_string()),
            Scalar::Text(text) => Err(text),
        }))
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match deserializer.deserialize_any(ReadScalar)? {
            Scalar::Number(n) => Version {
                number: Some(n),
                text: n.to_string(),
            },
            // As JSON writes it, quoted, and cut short.
            Scalar::Str(s) => Version {
                number: None,
                text: serde_json::Value::String(cut_short(&s)).to_string(),
            },
            Scalar::Text(text) => Version { number: None, text },
        })
    }
}

/// A JSON value as the envelope keeps it: a whole number, a string, or
/// how anything else reads (arrays and objects walked, by kind alone).
enum Scalar {
    Number(u64),
    Str(String),
    Text(String),
}

/// Reads a [`Scalar`].
struct ReadScalar;

impl<'de> serde::de::Visitor<'de> for ReadScalar {
    type Value = Scalar;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Scalar, E> {
        Ok(Scalar::Text(b.to_string()))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Scalar, E> {
        Ok(Scalar::Text(n.to_string()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Scalar, E> {
        Ok(Scalar::Number(n))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Scalar, E> {
        Ok(Scalar::Text(serde_json::Value::from(n).to_string()))
    }

    fn visit_str<E>(self, s: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(s.to_owned()))
    }

    fn visit_unit<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Text("null".to_owned()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Scalar::Text("an array".to_owned()))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
        Walk { top: false }.visit_map(map)?;
        Ok(Scalar::Text("an object".to_owned()))
    }
}

/// How a `Waiting` reply's child reads: its pid, or, for pid 0, the
/// child not spawned yet: its listeners being bound (an earlier reload's,
/// or a rollback's binding again what it lost), or its exec under way.
pub(crate) fn starting_child(pid: u32) -> String {
    match pid {
        0 => "the child under way (not spawned yet)".to_owned(),
        pid => format!("child pid {pid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_on_the_wire() {
        assert_eq!(encode(&Request::Stop), b"{\"v\":1,\"cmd\":\"stop\"}\n");
        let line = encode(&Request::Reload {
            path: "/bin/x".into(),
            argv0: None,
            args: None,
            listeners: None,
            dir: Some("/srv/app".into()),
            dir_id: Some([2049, 131]),
        });
        assert_eq!(
            decode_request(line.trim_ascii_end()).unwrap(),
            Request::Reload {
                path: "/bin/x".into(),
                argv0: None,
                args: None,
                listeners: None,
                dir: Some("/srv/app".into()),
                dir_id: Some([2049, 131]),
            }
        );
    }

    #[test]
    fn a_reload_with_every_field_reads_back_and_other_commands_pass_over_them() {
        use std::os::unix::ffi::OsStringExt;
        // Paths need not be UTF-8 (a folder named in Latin-1).
        let latin1 = |s: &[u8]| PathBuf::from(std::ffi::OsString::from_vec(s.to_vec()));
        let reload = Request::Reload {
            path: latin1(b"/srv/caf\xe9/x"),
            argv0: Some(latin1(b"caf\xe9")),
            args: Some(vec![
                "-v".into(),
                std::ffi::OsString::from_vec(vec![0xff, b'a']),
            ]),
            listeners: Some(vec![
                crate::spec::ListenerSpec::parse("web", "tcp:127.0.0.1:0").unwrap(),
            ]),
            dir: Some(latin1(b"/srv/caf\xe9")),
            dir_id: Some([1, 2]),
        };
        let line = encode(&reload);
        assert_eq!(decode_request(line.trim_ascii_end()).unwrap(), reload);
        // Every field sent is one this version knows: a field added to
        // `Request` and not to `REQUEST_KEYS` would have every reload
        // that sets it refused as a newer client's. (Every field is set
        // here, so sent: a new one must be listed, with no `..`, and an
        // optional one matched as `Some(_)`, as the others are, or it could
        // be left unset and unsent. A field given to `Stop` breaks the
        // build of these tests' `Request::Stop`.)
        let Request::Reload {
            path: _,
            argv0: Some(_),
            args: Some(_),
            listeners: Some(_),
            dir: Some(_),
            dir_id: Some(_),
        } = &reload
        else {
            panic!("a reload with every field set");
        };
        let sent: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&line).unwrap();
        let mut sent: Vec<&str> = sent.keys().map(String::as_str).collect();
        let mut known = REQUEST_KEYS.to_vec();
        sent.sort_unstable();
        known.sort_unstable();
        assert_eq!(sent, known);
        let status = br#"{"v":1,"cmd":"status","path":"/bin/x","args":[],"later":{"a":1}}"#;
        assert_eq!(decode_request(status).unwrap(), Request::Status);
        // A reload's field for another command, whatever its type.
        let stop = br#"{"v":1,"listeners":true,"cmd":"stop","dir_id":"x"}"#;
        assert_eq!(decode_request(stop).unwrap(), Request::Stop);
    }

    #[test]
    fn a_change_of_state_with_a_field_this_version_does_not_know_is_refused() {
        // A newer client's options: acted on without them, the stop or
        // reload would not be the one asked for.
        for (line, cmd, field) in [
            (
                &br#"{"v":1,"cmd":"stop","timeout":5}"#[..],
                "stop",
                "timeout",
            ),
            (
                br#"{"v":1,"cmd":"reload","path":"/bin/x","env":{"A":"1"},"later":2}"#,
                "reload",
                "env",
            ),
        ] {
            let e = decode_request(line).unwrap_err().to_string();
            assert!(e.starts_with("bad request: unknown field"), "{e}");
            assert!(e.contains(&format!("`{field}`")), "{e}");
            assert!(e.contains(&format!("does not {cmd} without")), "{e}");
        }
        // A status does without them.
        let status = br#"{"v":1,"cmd":"status","verbose":true}"#;
        assert_eq!(decode_request(status).unwrap(), Request::Status);
    }

    #[test]
    fn a_reload_written_by_hand_with_its_arguments_as_strings_is_read() {
        let line = br#"{"v":1,"cmd":"reload","path":"/bin/x","args":["-port","8080"]}"#;
        let Request::Reload { args, .. } = decode_request(line).unwrap() else {
            panic!("a reload");
        };
        assert_eq!(args, Some(vec!["-port".into(), "8080".into()]));
        // Still written as every version reads it.
        let line = encode(&Request::Reload {
            path: PathBuf::from("/bin/x"),
            argv0: None,
            args: args.clone(),
            listeners: None,
            dir: None,
            dir_id: None,
        });
        let line = String::from_utf8(line).unwrap();
        assert!(line.contains(r#""args":[{"Unix":[45,"#), "{line}");
    }

    #[test]
    fn a_reload_is_refused_what_no_path_argument_or_listener_holds() {
        // Each named, before anything is said or started with it (what a
        // request carries goes into log lines and answers).
        let long = format!("/{}", "a".repeat(5000));
        for (line, said) in [
            (
                format!(r#"{{"v":1,"cmd":"reload","path":"{long}"}}"#),
                "`path` is 5001 bytes, longer than any path (4095)",
            ),
            (
                r#"{"v":1,"cmd":"reload","path":"/bin/x\u0000y"}"#.to_owned(),
                "`path` holds a NUL byte, which no path or argument can",
            ),
            (
                format!(r#"{{"v":1,"cmd":"reload","path":"/bin/x","dir":"{long}"}}"#),
                "`dir` is 5001 bytes",
            ),
            (
                r#"{"v":1,"cmd":"reload","path":"/bin/x","args":[{"Unix":[97]},{"Unix":[97,0]}]}"#
                    .to_owned(),
                "argument 2 of `args` holds a NUL byte",
            ),
            (
                r#"{"v":1,"cmd":"reload","path":"/bin/x","listeners":[{"name":"http","network":"tcp","adress":":8080"}]}"#
                    .to_owned(),
                "unknown field `adress`",
            ),
        ] {
            let e = decode_request(line.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(said), "{e}");
        }
        // An `argv[0]` may be longer than a path (`exec -a`), to a point.
        let argv0 = format!(r#"{{"v":1,"cmd":"reload","path":"/bin/x","argv0":"{long}"}}"#);
        assert!(decode_request(argv0.as_bytes()).is_ok());
        let longer = format!("/{}", "a".repeat(200_000));
        let argv0 = format!(r#"{{"v":1,"cmd":"reload","path":"/bin/x","argv0":"{longer}"}}"#);
        let e = decode_request(argv0.as_bytes()).unwrap_err().to_string();
        assert!(
            e.contains("`argv0` is 200001 bytes, longer than any argument (131071)"),
            "{e}"
        );
        // A listener without an address is off, as before.
        let off = br#"{"v":1,"cmd":"reload","path":"/bin/x","listeners":[{"name":"http","network":"tcp"}]}"#;
        let Request::Reload { listeners, .. } = decode_request(off).unwrap() else {
            panic!("a reload");
        };
        assert_eq!(listeners.unwrap()[0].address, None);
    }

    #[test]
    fn a_status_this_build_cannot_read_is_still_there_for_json() {
        // A field of another type than this build's (another build's).
        let line =
            br#"{"v":1,"final":true,"type":"status","status":{"name":"svc","reloads":"many"}}"#;
        assert!(decode_answer(line).is_err());
        let status = raw_status(line).expect("the status object");
        assert_eq!(status["reloads"], "many");
        assert_eq!(status["name"], "svc");
        // Not another answer, nor another protocol version's status.
        assert_eq!(
            raw_status(br#"{"v":1,"final":true,"type":"error","error":"x"}"#),
            None
        );
        assert_eq!(
            raw_status(br#"{"v":2,"final":true,"type":"status","status":{}}"#),
            None
        );
    }

    #[test]
    fn a_refusal_says_so_and_an_error_is_written_as_before() {
        // A failure is written as every release wrote it, which an older
        // client, and an older image reading a held reply, read.
        let failed = encode_response(&Response::error("no"));
        assert_eq!(
            failed,
            b"{\"v\":1,\"final\":true,\"type\":\"error\",\"error\":\"no\"}\n"
        );
        let refused = Response::refused("busy");
        let line = encode_response(&refused);
        assert!(line.ends_with(b"\"refused\":true}\n"), "{line:?}");
        assert_eq!(
            decode_answer(line.trim_ascii_end()),
            Ok(Answer::Known(refused))
        );
        // An older supervisor's error: not a refusal.
        let older = br#"{"v":1,"final":true,"type":"error","error":"no"}"#;
        assert_eq!(
            decode_answer(older),
            Ok(Answer::Known(Response::error("no")))
        );
    }

    #[test]
    fn each_answer_is_named_as_the_wire_names_it() {
        // All but a status, which takes a supervisor's whole state.
        let answers = [
            Response::Waiting {
                pid: 1,
                within_ms: None,
            },
            Response::Reloading {
                pid: 1,
                changes: Vec::new(),
            },
            Response::Reloaded {
                pid: 1,
                old_pid: None,
                supervisor_not_upgraded: None,
            },
            Response::Stopping {
                pid: None,
                within_ms: None,
            },
            Response::Stopped { exit_code: 0 },
            Response::error(String::new()),
        ];
        for answer in answers {
            let line: serde_json::Value =
                serde_json::from_slice(&encode_response(&answer)).unwrap();
            assert_eq!(line["type"], answer.kind(), "{line}");
        }
    }

    #[test]
    fn answers_say_whether_they_end_the_request_and_clients_read_the_unknown() {
        let stopping = Response::Stopping {
            pid: Some(7),
            within_ms: None,
        };
        let line = encode_response(&stopping);
        assert_eq!(
            line,
            b"{\"v\":1,\"final\":false,\"type\":\"stopping\",\"pid\":7}\n"
        );
        let stopping = Response::Stopping {
            pid: Some(7),
            within_ms: Some(2000),
        };
        let line = encode_response(&stopping);
        assert_eq!(
            line,
            b"{\"v\":1,\"final\":false,\"type\":\"stopping\",\"pid\":7,\"within_ms\":2000}\n"
        );
        assert_eq!(
            decode_answer(line.trim_ascii_end()),
            Ok(Answer::Known(stopping))
        );
        let stopped = Response::Stopped { exit_code: 3 };
        let line = encode_response(&stopped);
        assert!(line.starts_with(b"{\"v\":1,\"final\":true,"), "{line:?}");
        assert_eq!(
            decode_answer(line.trim_ascii_end()),
            Ok(Answer::Known(stopped))
        );
        // A newer supervisor's progress note: passed over.
        let note = br#"{"v":1,"final":false,"type":"warming","pid":7}"#;
        assert_eq!(
            decode_answer(note),
            Ok(Answer::UnknownProgress("warming".into()))
        );
        // Its final answer of a new type: said so, not "bad response".
        let done = br#"{"v":1,"final":true,"type":"parked"}"#;
        let error = decode_answer(done).unwrap_err();
        assert!(
            error.starts_with("the supervisor answered `parked`, which this command cannot read (is the supervisor a newer build?)"),
            "{error}"
        );
        // A type of any length: said cut short.
        let long = format!(r#"{{"v":1,"final":true,"type":"{}"}}"#, "p".repeat(5000));
        let error = decode_answer(long.as_bytes()).unwrap_err();
        let cut = format!("the supervisor answered `{}…`, which", "p".repeat(40));
        assert!(error.starts_with(&cut), "{error}");
        assert!(error.chars().count() < 400, "{error}");
        // Another version: in the client's words, with what it said.
        let other = br#"{"v":2,"type":"error","error":"unsupported protocol version 1 (this supervisor speaks version 2)"}"#;
        assert_eq!(
            decode_answer(other).unwrap_err(),
            "the supervisor answered in protocol version 2; this command speaks version 1, saying: unsupported protocol version 1 (this supervisor speaks version 2)"
        );
        // One that is no whole number too, not in the server's words.
        let odd = br#"{"v":"2","type":"stopped","code":0}"#;
        assert!(in_other_version(odd));
        assert_eq!(
            decode_answer(odd).unwrap_err(),
            "the supervisor answered in protocol version \"2\"; this command speaks version 1"
        );
    }

    #[test]
    fn every_bad_request_gets_a_reason() {
        let cases: &[(&[u8], &str)] = &[
            (b"hello", "not a JSON message"),
            (b"[1,2]", "must be a JSON object"),
            (br#"{"cmd":"stop"}"#, "no protocol version"),
            (br#"{"v":2,"cmd":"stop"}"#, "unsupported protocol version 2"),
            (
                br#"{"v":-1,"cmd":"stop"}"#,
                "unsupported protocol version -1",
            ),
            (
                br#"{"v":1.5,"cmd":"stop"}"#,
                "the protocol version `v` must be a whole number, not 1.5",
            ),
            (
                br#"{"v":1.0,"cmd":"stop"}"#,
                "the protocol version `v` must be a whole number, not 1.0 (this supervisor speaks version 1)",
            ),
            (
                br#"{"v":[1,{"a":1}],"cmd":"stop"}"#,
                "the protocol version `v` must be a whole number, not an array",
            ),
            (
                br#"{"v":{"a":1,"a":2},"cmd":"stop"}"#,
                "the key `a` appears twice",
            ),
            (
                br#"{"v":1,"cmd":7}"#,
                "the command `cmd` is 7, not a string such as \"status\"",
            ),
            (
                br#"{"v":"1","cmd":"stop"}"#,
                "the protocol version `v` must be a whole number, not \"1\"",
            ),
            (
                br#"{"v":1,"cmd":"launch"}"#,
                "unknown variant `launch`, expected one of `status`, `reload`, `stop`",
            ),
            (
                br#"{"v":1,"cmd":"launchlaunchlaunchlaunchlaunchlaunchlaunchlaunch"}"#,
                "unknown variant `launchlaunchlaunchlaunchlaunchlaunchlaun…`",
            ),
            (br#"{"v":1,"cmd":"reload"}"#, "missing field `path`"),
            (br#"{"v":1,"cmd":"reload","path":7}"#, "invalid type"),
            (
                br#"{"v":1,"cmd":"reload","path":"/x","dir_id":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#,
                "invalid type: string \"xxxx",
            ),
            (br#"{"v":1}"#, "missing field `cmd`"),
            (
                br#"{"v":1,"cmd":"status","cmd":"stop"}"#,
                "the key `cmd` appears twice at line 1 column",
            ),
            (
                br#"{"v":1,"v":1,"cmd":"stop"}"#,
                "the key `v` appears twice",
            ),
            (
                br#"{"v":1,"cmd":"reload","path":"/x","listeners":[{"name":"a","name":"b"}]}"#,
                "the key `name` appears twice",
            ),
            (
                br#"{"v":1,"cmd":"reload","path":"/x","listeners":[{"name":"a\u001b[2J","network":"tcp","address":null}]}"#,
                "listener name `a\\u{1b}[2J` contains `\\u{1b}`",
            ),
            (
                br#"{"v":1,"cmd":"reload","path":"/x","listeners":[{"name":"a","network":"tcp","address":null},{"name":"a","network":"udp","address":null}]}"#,
                "listener `a` is declared twice",
            ),
            (
                br#"{"v":1,"cmd":"reload","path":"/x","listeners":[{"name":"api","network":"unix","address":"@x"}]}"#,
                "listener `api`: unix address `@x` is in the abstract namespace",
            ),
            (
                br#"{"v":1,"cmd":"reload","path":"/x","listeners":[{"name":"api","network":"unix","address":"/tmp/a\n\tadmin"}]}"#,
                "listener `api`: unix path `/tmp/a\\n\\tadmin` contains a control character",
            ),
            (
                br#"{"v":1,"cmd":"reload","path":"/x","listeners":[{"name":"api","network":"tcp4","address":"[::1]:80"}]}"#,
                "listener `api`: ",
            ),
            (
                br#"{"v":1,"cmd":"stop","c\u006dd":"status"}"#,
                "the key `cmd` appears twice",
            ),
            (
                br#"{"v":1,"cmd":"stop","kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk":1,"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk":2}"#,
                "the key `kkkk",
            ),
        ];
        let many: String = (0..1023).map(|i| format!(",\"k{i}\":0")).collect();
        let many = format!(r#"{{"v":1,"cmd":"stop"{many}}}"#);
        let many_keys = (many.as_bytes(), "an object has more than 1024 keys");
        // A reload declaring `listeners` then `rest` (JSON values).
        let reload = |listeners: usize, rest: usize| {
            let declared: Vec<String> = (0..listeners)
                .map(|i| format!(r#"{{"name":"l{i}","network":"tcp","address":null}}"#))
                .chain((0..rest).map(|i| i.to_string()))
                .collect();
            let declared = declared.join(",");
            format!(r#"{{"v":1,"cmd":"reload","path":"/x","listeners":[{declared}]}}"#)
        };
        let listeners = reload(254, 0);
        let too_many = (
            listeners.as_bytes(),
            "254 listeners are declared, more than the 253 a child can be handed at once",
        );
        // Those past the most are counted, not read as listeners (nor
        // kept): what they hold is not looked at.
        let past = reload(253, 1000);
        let counted = (
            past.as_bytes(),
            "1253 listeners are declared, more than the 253 a child can be handed at once",
        );
        for (line, want) in cases.iter().chain([&many_keys, &too_many, &counted]) {
            let e = decode_request(line).unwrap_err().to_string();
            assert!(e.contains(want), "{}: {e}", String::from_utf8_lossy(line));
            // Quoting a value of any size, the message stays short.
            assert!(e.chars().count() <= 230, "{e}");
        }
    }

    #[test]
    fn a_declared_empty_address_is_off() {
        let line = br#"{"v":1,"cmd":"reload","path":"/x","listeners":[{"name":"api","network":"tcp","address":""}]}"#;
        let Request::Reload { listeners, .. } = decode_request(line).unwrap() else {
            panic!("not a reload");
        };
        assert_eq!(listeners.unwrap()[0].address, None);
    }

    #[test]
    fn decoder_tells_arbitrary_bytes_in_a_short_message() {
        // A small deterministic fuzz: mutations of valid requests.
        // Long texts too, which a message must not echo whole.
        let long_cmd = format!(r#"{{"v":1,"cmd":"{}"}}"#, "s".repeat(2048));
        let long_path = format!(r#"{{"v":1,"cmd":"reload","path":"/{}"}}"#, "x".repeat(2048));
        let long_key = format!(r#"{{"v":1,"cmd":"stop","{}":1}}"#, "k".repeat(2048));
        let seeds: [&[u8]; 6] = [
            br#"{"v":1,"cmd":"stop"}"#,
            br#"{"v":1,"cmd":"reload","path":"/x"}"#,
            b"{}",
            long_cmd.as_bytes(),
            long_path.as_bytes(),
            long_key.as_bytes(),
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // The seed from high bits, the cut from the lowest: every seed
            // is tried both whole and cut.
            let mut bytes = seeds[((state >> 32) % 6) as usize].to_vec();
            let at = (state >> 8) as usize % bytes.len();
            bytes[at] = (state >> 16) as u8;
            if state & 1 == 0 {
                bytes.truncate(at);
            }
            // What a bad request is told is short, whatever it was (its
            // text is escaped where it is written: `short_printable`).
            if let Err(e) = decode_request(&bytes) {
                let told = e.to_string();
                assert!(!told.is_empty() && told.len() <= 512, "{bytes:?}: {told:?}");
            }
        }
    }
}
