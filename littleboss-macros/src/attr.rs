//! Parsing `#[littleboss::main(...)]` into [`Args`], checking each value as
//! it goes with the rules shared with the runtime (`rules`), so that a
//! compile error here and the builder's error are the same words.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::{Error, Expr, Ident, Lit, LitBool, LitStr, Meta, Path, Token};

use crate::errors::Errors;
use crate::rules::{self, RuleError, Settings};

/// Every key, in the order the unknown-key message lists them.
pub(crate) const KEYS: [&str; 16] = [
    "name",
    "listener",
    "lameduck",
    "grace",
    "persist",
    "restart_limit",
    "fallback",
    "self_upgrade",
    "flag",
    "supervisor_init",
    "ready",
    "ready_timeout",
    "help",
    "flavor",
    "worker_threads",
    "crate",
];

const MISSING_NAME: &str =
    "missing `name = \"...\"`: every littleboss program needs a service name";

/// The attribute, checked.
pub(crate) struct Args {
    /// The service name.
    pub name: LitStr,
    /// Everything else.
    pub options: Options,
}

/// The optional keys. Only what the user wrote is set: the expansion leaves
/// every default to the runtime.
#[derive(Default)]
pub(crate) struct Options {
    /// `listener(...)`, in declaration order.
    pub listeners: Vec<Listener>,
    /// `lameduck`, in milliseconds.
    pub lameduck: Option<Spanned<u64>>,
    /// `grace`, in milliseconds.
    pub grace: Option<Spanned<u64>>,
    pub persist: Option<LitBool>,
    /// `restart_limit`: at most this many restarts within the window in
    /// milliseconds (never zero). Only with `persist = true`.
    pub restart_limit: Option<Spanned<(u32, u64)>>,
    pub fallback: Option<LitBool>,
    pub self_upgrade: Option<LitBool>,
    pub flag: Option<LitStr>,
    pub supervisor_init: Option<syn::ExprPath>,
    pub ready: Option<Spanned<Ready>>,
    /// `ready_timeout`, in milliseconds (never zero).
    pub ready_timeout: Option<Spanned<u64>>,
    pub help: Option<LitBool>,
    pub flavor: Option<Spanned<Flavor>>,
    /// `worker_threads` (1 to 32768).
    pub worker_threads: Option<Spanned<usize>>,
    /// `crate = "path"`: where the `littleboss` crate is, when not at
    /// `::littleboss` (renamed in Cargo.toml, or re-exported by another).
    pub krate: Option<Path>,
}

/// One `NAME = "NET:ADDR"` in `listener(...)`.
pub(crate) struct Listener {
    /// The flag name: the identifier, without `r#`, spanned on it (on
    /// its first word, where it is dashed).
    pub name: LitStr,
    /// Where its name is written, first word to last: an error about the
    /// name underlines all of it.
    pub name_ends: WordSpans,
    /// The declaration, as written.
    pub spec: LitStr,
}

/// A checked value and the span of the tokens it came from.
pub(crate) struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// `ready = "auto" | "manual"`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ready {
    Auto,
    Manual,
}

/// `flavor = "current_thread" | "multi_thread"`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    CurrentThread,
    MultiThread,
}

/// Parses and checks the attribute's tokens, reporting every independent
/// mistake at once.
///
/// With the `ready` the attribute gives, if valid, whatever else is wrong:
/// its check against the function's parameters is one more independent
/// error to report with the others.
pub(crate) fn parse(tokens: TokenStream) -> (syn::Result<Args>, Option<Spanned<Ready>>) {
    let parts = match parse_parts.parse2(tokens) {
        Ok(parts) => parts,
        Err(e) => return (Err(e), None),
    };
    // A string with no key is the name, unless a `name` is given too.
    let names_given = parts.iter().any(|part| match part {
        Part::Read(meta) => (meta.path().get_ident()).is_some_and(|k| k.unraw() == "name"),
        Part::Unread { key, .. } => *key == Some("name"),
        Part::Alone(_) => false,
    });
    let mut state = State::default();
    for part in parts {
        match part {
            Part::Read(meta) => {
                if let Err(e) = state.key(&meta) {
                    state.errors.push(e);
                }
            }
            Part::Unread { error, key } => state.unread(error, key),
            Part::Alone(text) if names_given => {
                let error = Error::new(text.span(), "expected a key before this string");
                state.unread(error, None);
            }
            Part::Alone(name) => {
                // As written, but without a suffix (refused where it goes).
                let written = match name.suffix() {
                    "" => name.token().to_string(),
                    _ => format!("{:?}", name.value()),
                };
                // Quoted back only if it would pass, as a value is elsewhere.
                let message = match rules::service_name(&name.value()) {
                    Ok(()) => format!("write the service name as `name = {written}`"),
                    Err(problem) => format!(
                        "write the service name as `name = \"...\"`, and mind that {problem}"
                    ),
                };
                let error = Error::new(name.span(), message);
                state.unread(error, Some("name"));
            }
        }
    }
    let ready = (state.options.ready.as_ref()).map(|r| Spanned {
        value: r.value,
        span: r.span,
    });
    (state.finish(), ready)
}

/// One comma-separated part of the attribute.
enum Part {
    /// A key as syn reads it.
    Read(Meta),
    /// A part that could not be read, said so by `error`, with the key it
    /// is meant as, if that is known: a mistake in one key hides none in
    /// the others, and makes no second error of its own (the key is taken
    /// as given, with a bad value, not as missing).
    Unread {
        error: Error,
        key: Option<&'static str>,
    },
    /// A string with no key: the name given alone, likely.
    Alone(LitStr),
}

/// `key = value, key(...), key, ...`: each key read on its own (a mistake
/// in one, even within its brackets, leaves the others read), with a hint
/// for the likely mistakes (the name given alone, `lameduck: "5s"`).
fn parse_parts(input: ParseStream) -> syn::Result<Vec<Part>> {
    use syn::parse::discouraged::Speculative;
    let mut parts = Vec::new();
    while !input.is_empty() {
        if input.peek(Token![,]) {
            let comma: Token![,] = input.parse()?;
            let error = Error::new(comma.span, "expected a key before this `,`");
            parts.push(Part::Unread { error, key: None });
            continue;
        }
        // A key written quoted (`"name" = "svc"`), as in JSON or TOML.
        if let Some((quoted, key)) = quoted_key(input) {
            let error = Error::new(
                quoted.span(),
                format!("write the key unquoted: `{} = ...`", quoted.value()),
            );
            parts.push(Part::Unread { error, key });
            skip_to_next_part(input, &mut parts)?;
            continue;
        }
        // The name given alone, first or not.
        if input.peek(LitStr) {
            parts.push(Part::Alone(input.parse()?));
            match after_a_key(input)? {
                After::Comma => {}
                After::CommaMissing(error) => parts.push(Part::Unread { error, key: None }),
                After::Other => {
                    let error = input.error("expected `,`");
                    parts.push(Part::Unread { error, key: None });
                    skip_to_next_part(input, &mut parts)?;
                }
            }
            continue;
        }
        let written_key = input.fork().call(Ident::parse_any).ok();
        let key = written_key.and_then(|k| known_key(&k.unraw().to_string()));
        // `lameduck =` with no value: said at the `=`, not (the end of the
        // attribute's tokens) on the whole attribute.
        if let Some(eq) = value_missing(input) {
            let error = Error::new(eq, "expected a value after `=`");
            parts.push(Part::Unread { error, key });
            skip_to_next_part(input, &mut parts)?;
            continue;
        }
        // Read on a copy: one that fails within brackets (`f(1 2)`) marks
        // the copy, not `input`, as stopped short, and the rest is read.
        // (Where a key ends is syn's to find, not the next comma's: a
        // path's generics hold commas, `init::<A, B>`.)
        let ahead = input.fork();
        let meta = match ahead.parse::<Meta>() {
            Ok(meta) => meta,
            Err(error) => {
                parts.push(Part::Unread { error, key });
                skip_to_next_part(input, &mut parts)?;
                continue;
            }
        };
        match take_up_to(input, &ahead)? {
            // Read again on its own: syn leaves a token it did not expect
            // within a value's brackets (`x[1 2]`) to fail the whole
            // attribute, not the key. What follows it is looked at as
            // after any key.
            Some(tokens) => {
                if let Err(error) = <Meta as syn::parse::Parse>::parse.parse2(tokens) {
                    parts.push(Part::Unread { error, key });
                    match after_a_key(input)? {
                        After::Comma => {}
                        After::CommaMissing(error) => parts.push(Part::Unread { error, key: None }),
                        After::Other => skip_to_next_part(input, &mut parts)?,
                    }
                    continue;
                }
            }
            None => input.advance_to(&ahead),
        }
        if let Some((error, meant)) = misused_punctuation(&meta, input) {
            parts.push(Part::Unread {
                error,
                key: meant.or(key),
            });
            skip_to_next_part(input, &mut parts)?;
            continue;
        }
        match after_a_key(input)? {
            After::Comma => parts.push(Part::Read(meta)),
            After::CommaMissing(error) => {
                parts.push(Part::Read(meta));
                parts.push(Part::Unread { error, key: None });
            }
            // Anything else after a value (`lameduck = 5 secs`): the key
            // taken as given with a bad value, one error for the one
            // mistake.
            After::Other => {
                let error = input.error("expected `,`");
                parts.push(Part::Unread { error, key });
                skip_to_next_part(input, &mut parts)?;
            }
        }
    }
    Ok(parts)
}

/// What follows a key (or a string) just read.
enum After {
    /// Its comma (taken), or the end.
    Comma,
    /// A comma left out before the next key or string (`lameduck = "5s"
    /// name = "svc"`): said so, that key to be read all the same.
    CommaMissing(Error),
    /// Anything else, left where it is for the caller to say and pass
    /// over.
    Other,
}

/// Looks at what follows a key (or a string) just read.
fn after_a_key(input: ParseStream) -> syn::Result<After> {
    if input.is_empty() {
        return Ok(After::Comma);
    }
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
        return Ok(After::Comma);
    }
    // Any key, after a value read whole: an unknown one (`nmae = "svc"`)
    // is read to be said with what it is likely meant as.
    if let Some(next) = next_key(input, true) {
        let error = missing_comma(next.span(), &format!("`{next}`"));
        return Ok(After::CommaMissing(error));
    }
    if input.peek(LitStr) {
        let error = missing_comma(input.span(), "this string");
        return Ok(After::CommaMissing(error));
    }
    Ok(After::Other)
}

/// Passes over what is left of a part that could not be read: up to the
/// comma after it (taken), or up to a key that follows it with no comma
/// between (`lameduck: "5s" name = "svc"`), which is said in `parts` and
/// read all the same.
fn skip_to_next_part(input: ParseStream, parts: &mut Vec<Part>) -> syn::Result<()> {
    // Its first token is its own (the key, or what follows one).
    if let Some(next) = rest_of_part(input, false, |_| {}) {
        let error = missing_comma(next.span(), &format!("`{next}`"));
        parts.push(Part::Unread { error, key: None });
        return Ok(());
    }
    if !input.is_empty() {
        input.parse::<Token![,]>()?;
    }
    Ok(())
}

/// Takes the tokens of `input` up to the next part, handing each to
/// `each`: up to its comma (left), or to a key that follows a value with
/// no comma between, which is returned (left too). A key follows a value
/// (a word, a literal, brackets: `after_a_value` for the token before
/// `input`), not punctuation, which makes a word part of what went before
/// (`service-name`, `a::name`).
fn rest_of_part(
    input: ParseStream,
    mut after_a_value: bool,
    mut each: impl FnMut(&proc_macro2::TokenTree),
) -> Option<Ident> {
    while !input.is_empty() && !input.peek(Token![,]) {
        if after_a_value && let Some(next) = next_key(input, false) {
            return Some(next);
        }
        let token = input.parse::<proc_macro2::TokenTree>().ok()?;
        after_a_value = !matches!(token, proc_macro2::TokenTree::Punct(_));
        each(&token);
    }
    None
}

/// The error for a comma left out before `before`, at `span`.
fn missing_comma(span: Span, before: &str) -> Error {
    Error::new(span, format!("expected `,` before {before}"))
}

/// The key that begins what is left of `input`, if a known one does, as
/// a key is written: followed by `=` or `(`, alone (`persist`), or as in
/// other tools (`name: "svc"`, `name "svc"`, said so by the loop); or, if
/// `unknown`, any word followed by `=`.
fn next_key(input: ParseStream, unknown: bool) -> Option<Ident> {
    let ahead = input.fork();
    let key = ahead.call(Ident::parse_any).ok()?;
    if known_key(&key.unraw().to_string()).is_none() {
        return (unknown && ahead.peek(Token![=]) && !ahead.peek(Token![==])).then_some(key);
    }
    let follows = ahead.peek(Token![=]) || ahead.peek(syn::token::Paren);
    // Written as in other tools (`name: "svc"`, `name "svc"`): a key still,
    // which the loop says so of.
    let misused = (ahead.peek(Token![:]) && !ahead.peek(Token![::])) || ahead.peek(Lit);
    (follows || misused || ahead.is_empty() || ahead.peek(Token![,])).then_some(key)
}

/// The string that begins `input` as a key written quoted (followed by
/// `=` or `:`), with the key it names if it is one.
fn quoted_key(input: ParseStream) -> Option<(LitStr, Option<&'static str>)> {
    let ahead = input.fork();
    let quoted: LitStr = ahead.parse().ok()?;
    let key = known_key(&quoted.value());
    (ahead.peek(Token![=]) || ahead.peek(Token![:])).then_some((quoted, key))
}

/// The `=` of a key written with no value after it (`lameduck =`, at the
/// end or before a comma), if `input` begins with one.
fn value_missing(input: ParseStream) -> Option<Span> {
    let ahead = input.fork();
    ahead.call(Ident::parse_any).ok()?;
    let eq: Token![=] = ahead.parse().ok()?;
    (ahead.is_empty() || ahead.peek(Token![,])).then_some(eq.span)
}

/// The tokens of `input` up to where `ahead`, a copy of it, has read to,
/// taken off `input`; `None`, taking nothing, if `ahead` stopped within a
/// group (an invisible one a macro's fragment makes), not between tokens.
fn take_up_to(input: ParseStream, ahead: ParseStream) -> syn::Result<Option<TokenStream>> {
    use syn::parse::discouraged::Speculative;
    let probe = input.fork();
    let mut tokens = TokenStream::new();
    while probe.cursor() != ahead.cursor() {
        if probe.is_empty() {
            return Ok(None);
        }
        tokens.extend([probe.parse::<proc_macro2::TokenTree>()?]);
    }
    input.advance_to(&probe);
    Ok(Some(tokens))
}

/// `key` as one of [`KEYS`], if it is one.
fn known_key(key: &str) -> Option<&'static str> {
    KEYS.into_iter().find(|k| *k == key)
}

/// A key written as in other tools, `worker-threads = 4` or
/// `lameduck: "5s"` (or no `=` at all), or `restart_limit = 5 in 60s`
/// unquoted: said so,
/// rather than syn's "expected `,`"; with the key meant, where that is
/// known and not the key as written.
fn misused_punctuation(meta: &Meta, input: ParseStream) -> Option<(Error, Option<&'static str>)> {
    if let Meta::NameValue(pair) = meta {
        if !pair.path.is_ident("restart_limit") || !input.peek(Token![in]) {
            return spaced_duration(pair, input).map(|error| (error, None));
        }
        let rest = input.fork();
        let _ = rest.parse::<Token![in]>();
        // What follows up to the next part, as written (`60s`, `60 s`),
        // as a skip takes it (`in` was a word).
        let mut window = String::new();
        rest_of_part(&rest, true, |token| window.push_str(&token.to_string()));
        let count = match unquoted(meta) {
            Ok(text) => text.value(),
            Err(Some(written)) => written,
            Err(None) => quote::ToTokens::to_token_stream(&pair.value).to_string(),
        };
        // Quoted only if that is right (`5 in 0s` is not): else an example.
        let quoted = format!("{count} in {window}");
        let quoted = match rules::restart_limit(&quoted) {
            Ok(_) => quoted,
            Err(_) => "5 in 60s".to_owned(),
        };
        let error = Error::new_spanned(
            &pair.value,
            format!("`restart_limit` takes a string: `restart_limit = \"{quoted}\"`"),
        );
        return Some((error, None));
    }
    let Meta::Path(path) = meta else {
        return None;
    };
    let key = path.get_ident()?;
    if input.peek(Token![-]) {
        let rest = input.fork();
        let mut words = vec![key.unraw().to_string()];
        let mut end = key.span();
        while rest.parse::<Token![-]>().is_ok() {
            let Ok(word) = rest.call(Ident::parse_any) else {
                break;
            };
            end = word.span();
            words.push(word.to_string());
        }
        let spans = (key.span(), end);
        let key = words.join("_");
        if let Some(known) = known_key(&key) {
            let error = spanning(spans, format!("keys are written with `_`: `{key}`"));
            return Some((error, Some(known)));
        }
        // No key with `_` either (`lame-duck`): the one it is most likely
        // meant as, at once, rather than `lame_duck` and then its typo.
        let written = words.join("-");
        let joined = words.concat();
        let near = nearest_key(&key, Some(&joined));
        let message = match near {
            Some(k) => format!("unknown key `{written}`; did you mean `{k}`?"),
            None => format!(
                "unknown key `{written}`; expected one of: {}",
                KEYS.join(", ")
            ),
        };
        return Some((spanning(spans, message), near));
    }
    // `lameduck: "5s"`, or `lameduck "5s"` with no `=` at all.
    let colon = input.peek(Token![:]) && !input.peek(Token![::]);
    // `listener: (...)`: a list, which takes neither.
    if key == "listener" && (colon || input.peek(syn::Lit)) {
        let error = Error::new(
            path.span(),
            "`listener` takes its list in parentheses right after it, with no `:` or `=`: `listener(https = \"tcp::443\")`",
        );
        return Some((error, None));
    }
    if colon || input.peek(syn::Lit) {
        let error = Error::new(path.span(), format!("write `{key} = ...`, with `=`"));
        return Some((error, None));
    }
    None
}

/// A duration written unquoted with a space before its unit,
/// `lameduck = 5 s` or `grace = 1.5 s`: said so, with the string meant, rather than syn's
/// "expected `,`".
fn spaced_duration(pair: &syn::MetaNameValue, input: ParseStream) -> Option<Error> {
    let key = pair.path.get_ident()?.unraw().to_string();
    if !["lameduck", "grace", "ready_timeout"].contains(&key.as_str())
        || input.is_empty()
        || input.peek(Token![,])
    {
        return None;
    }
    // `5 s` or `1.5 s`, with no suffix of its own (`5u8 s` is no duration).
    let number = match &pair.value {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(number),
            ..
        }) if number.suffix().is_empty() => number.base10_digits(),
        Expr::Lit(syn::ExprLit {
            lit: Lit::Float(number),
            ..
        }) if number.suffix().is_empty() => number.base10_digits(),
        _ => return None,
    };
    let unit: Ident = input.fork().parse().ok()?;
    let meant = format!("{number}{unit}");
    let ms = rules::duration_millis(&key, &meant).ok()?;
    // Quoted back only if that is right: a zero `ready_timeout` is not.
    let meant = match (key.as_str(), ms) {
        ("ready_timeout", 0) => "30s".to_owned(),
        _ => meant,
    };
    Some(Error::new_spanned(
        &pair.value,
        format!("`{key}` takes a string: `{key} = \"{meant}\"`"),
    ))
}

/// What parsing has found so far.
#[derive(Default)]
struct State {
    name: Option<LitStr>,
    options: Options,
    /// The keys seen, to catch duplicates and for the checks across keys.
    keys: Vec<Ident>,
    /// The keys unknown keys looked like (`persit`: `persist`), spanned on
    /// the misspelling: the checks across keys judge what was meant, with
    /// the value as that key takes it, or, where it does not take it, as
    /// given though not valid (as a key with a bad value is), so that one
    /// misspelling makes no error of a default's.
    misspelt: Vec<(Ident, Meta)>,
    /// The keys of parts that could not be read ([`Part::Unread`]): given,
    /// with a bad value, for the checks across keys; not for the check
    /// for duplicates (a key written right after is no second one).
    unread: Vec<Ident>,
    errors: Errors,
}

impl State {
    /// A part that could not be read: its error, and its key (if known)
    /// taken as given with a bad value, so that it is not also missing.
    fn unread(&mut self, error: Error, key: Option<&'static str>) {
        self.errors.push(error);
        self.unread
            .extend(key.map(|key| Ident::new(key, Span::call_site())));
    }

    fn key(&mut self, meta: &Meta) -> syn::Result<()> {
        let path = meta.path();
        let key = match path.get_ident().map(Ident::unraw) {
            Some(key) if KEYS.contains(&key.to_string().as_str()) => key,
            _ => {
                let (error, suggestion) = unknown_key(path);
                if let Some(meant) = suggestion {
                    let meant = Ident::new(meant, path.span());
                    self.misspelt.push((meant, meta.clone()));
                }
                return Err(error);
            }
        };
        // `listener(...)` may come in several groups, checked as one list.
        if key != "listener" && self.keys.contains(&key) {
            return Err(Error::new(key.span(), format!("duplicate key `{key}`")));
        }
        self.keys.push(key.clone());

        let options = &mut self.options;
        match key.to_string().as_str() {
            "name" => {
                let fits = |text: &str| rules::service_name(text).is_ok();
                let name = string(meta, "name", "\"...\"", fits)?;
                self.name = Some(checked(name, rules::service_name)?);
            }
            "listener" => self.listeners(meta)?,
            "lameduck" => options.lameduck = Some(duration(meta, "lameduck", "\"5s\"")?),
            "grace" => options.grace = Some(duration(meta, "grace", "\"500ms\"")?),
            "persist" => options.persist = Some(boolean(meta, "persist", true)?),
            "restart_limit" => options.restart_limit = Some(restart_limit(meta)?),
            "fallback" => options.fallback = Some(boolean(meta, "fallback", false)?),
            "self_upgrade" => options.self_upgrade = Some(boolean(meta, "self_upgrade", false)?),
            "flag" => {
                let fits = |text: &str| rules::flag_name(text).is_ok();
                let flag = string(meta, "flag", "\"lb\"", fits)?;
                options.flag = Some(checked(flag, rules::flag_name)?);
            }
            "supervisor_init" => options.supervisor_init = Some(fn_path(meta)?),
            "ready" => {
                let choices = [("auto", Ready::Auto), ("manual", Ready::Manual)];
                options.ready = Some(choice(meta, "ready", "ready mode", choices, 1)?);
            }
            "ready_timeout" => {
                let timeout = duration(meta, "ready_timeout", "\"30s\"")?;
                rules::nonzero_ready_timeout(timeout.value == 0)
                    .map_err(|e| Error::new(timeout.span, e))?;
                options.ready_timeout = Some(timeout);
            }
            "help" => options.help = Some(boolean(meta, "help", false)?),
            "flavor" => {
                let choices = [
                    ("current_thread", Flavor::CurrentThread),
                    ("multi_thread", Flavor::MultiThread),
                ];
                options.flavor = Some(choice(meta, "flavor", "flavor", choices, 0)?);
            }
            "worker_threads" => options.worker_threads = Some(threads(meta)?),
            "crate" => options.krate = Some(crate_path(meta)?),
            _ => return Err(unknown_key(path).0),
        }
        Ok(())
    }

    /// The value of a key misspelt as `meta`'s, as `meant` takes it, for
    /// the checks across keys (those that take part in them); nothing
    /// where it does not take it.
    fn take_as_meant(&mut self, meta: &Meta, meant: &str) {
        let mut renamed = meta.clone();
        let path = match &mut renamed {
            Meta::Path(path) => path,
            Meta::List(list) => &mut list.path,
            Meta::NameValue(pair) => &mut pair.path,
        };
        *path = Path::from(Ident::new(meant, path.span()));
        let mut scratch = State::default();
        if scratch.key(&renamed).is_err() {
            return;
        }
        let (ours, theirs) = (&mut self.options, scratch.options);
        ours.lameduck = ours.lameduck.take().or(theirs.lameduck);
        ours.grace = ours.grace.take().or(theirs.grace);
        ours.persist = ours.persist.take().or(theirs.persist);
        ours.restart_limit = ours.restart_limit.take().or(theirs.restart_limit);
        ours.flag = ours.flag.take().or(theirs.flag);
        ours.flavor = ours.flavor.take().or(theirs.flavor);
        ours.worker_threads = ours.worker_threads.take().or(theirs.worker_threads);
    }

    /// `listener(NAME = "NET:ADDR", ...)`: every listener is checked, each
    /// mistake reported.
    fn listeners(&mut self, meta: &Meta) -> syn::Result<()> {
        let Meta::List(list) = meta else {
            return Err(wrong_type(
                meta,
                "`listener` takes a list: `listener(https = \"tcp::443\")`",
            ));
        };
        if !matches!(list.delimiter, syn::MacroDelimiter::Paren(_)) {
            return Err(Error::new_spanned(
                meta,
                "`listener` takes its list in parentheses: `listener(https = \"tcp::443\")`",
            ));
        }
        if list.tokens.is_empty() {
            return Err(Error::new_spanned(
                meta,
                "`listener()` declares no listener: add one, `listener(https = \"tcp::443\")`, or remove it",
            ));
        }
        let mut errors = Errors::default();
        let items = match list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) {
            Ok(items) => items,
            Err(e) => {
                // Not Rust paths: names with dashes (`admin-http`), as the
                // builder and the command line take them.
                let dashed = match list.parse_args_with(dashed_listeners) {
                    Ok(dashed) => dashed,
                    // With a dashed name written, what is wrong is most
                    // likely elsewhere than at its dash; so too with a name
                    // that is a keyword or a number (`type`, `2fa`), which
                    // syn refuses as a path first.
                    Err(dashed_error)
                        if has_dashed_name(&list.tokens) || has_unpathlike_name(&list.tokens) =>
                    {
                        return Err(listener_hint(&list.tokens).unwrap_or(dashed_error));
                    }
                    Err(_) => return Err(listener_hint(&list.tokens).unwrap_or(e)),
                };
                for (name, spans, value) in &dashed {
                    match self.named_listener(name.clone(), *spans, Some(value), value) {
                        Ok(listener) => self.options.listeners.push(listener),
                        Err(e) => errors.push(e),
                    }
                }
                return errors.finish();
            }
        };
        for item in &items {
            match self.listener(item) {
                Ok(listener) => self.options.listeners.push(listener),
                Err(e) => errors.push(e),
            }
        }
        errors.finish()
    }

    fn listener(&self, item: &Meta) -> syn::Result<Listener> {
        let Some(ident) = item.path().get_ident() else {
            return Err(Error::new_spanned(
                item.path(),
                "a listener name is an identifier, like `https`, or words joined by `-`, like `admin-http`",
            ));
        };
        let wrong = match item {
            Meta::NameValue(meta) => &meta.value as &dyn quote::ToTokens,
            // `listener(listener(...))`: one list, not groups inside it.
            Meta::List(_) if ident == "listener" => {
                return Err(Error::new_spanned(
                    item,
                    "`listener(...)` lists do not nest: write these listeners in the outer list",
                ));
            }
            _ => item,
        };
        let spans = (ident.span(), ident.span());
        self.named_listener(ident.unraw().to_string(), spans, value(item), wrong)
    }

    /// The listener `name = value`, its name written from `spans.0` to
    /// `spans.1` (`value` on `wrong` when not a string).
    fn named_listener(
        &self,
        name: String,
        spans: WordSpans,
        value: Option<&Expr>,
        wrong: &dyn quote::ToTokens,
    ) -> syn::Result<Listener> {
        let declared: Vec<String> = self
            .options
            .listeners
            .iter()
            .map(|l| l.name.value())
            .collect();
        rules::listener_name(&name, declared.iter().map(String::as_str))
            .map_err(|e| spanning(spans, e))?;
        let Some(Expr::Lit(syn::ExprLit {
            lit: Lit::Str(spec),
            ..
        })) = value
        else {
            return Err(Error::new_spanned(wrong, takes_a_string(&name)));
        };
        suffixed(&format!("listener `{name}`"), spec.suffix(), spec.span())?;
        rules::listener_spec(&name, &spec.value()).map_err(|e| Error::new(spec.span(), e))?;
        Ok(Listener {
            name: LitStr::new(&name, spans.0),
            name_ends: spans,
            spec: spec.clone(),
        })
    }

    /// The checks across keys, then the result.
    fn finish(mut self) -> syn::Result<Args> {
        // Misspelt keys as meant, where the key meant is not given itself
        // (before or after the misspelling).
        let misspelt = std::mem::take(&mut self.misspelt);
        for (meant, meta) in &misspelt {
            if !self.keys.contains(meant) {
                self.take_as_meant(meta, &meant.to_string());
            }
        }
        let State {
            name,
            options,
            keys,
            misspelt: _,
            unread,
            mut errors,
        } = self;

        // A conflict a misspelt key takes part in is underlined there.
        // Unread keys are taken as misspelt ones are: given, and reported.
        let misspelt: Vec<Ident> = (misspelt.into_iter().map(|(meant, _)| meant))
            .chain(unread)
            .collect();
        let spans: Vec<Ident> = keys.iter().chain(&misspelt).cloned().collect();
        for error in cross_checks(&options, &keys, &misspelt) {
            let span = match &error {
                RuleError::ListenerNamedLikeFlag { name, .. } => {
                    let listener = (options.listeners.iter()).find(|l| l.name.value() == *name);
                    if let Some(listener) = listener {
                        errors.push(spanning(listener.name_ends, error));
                        continue;
                    }
                    None
                }
                RuleError::SameSocket { second, .. }
                | RuleError::OverlappingSockets { second, .. } => options
                    .listeners
                    .iter()
                    .find(|l| l.name.value() == *second)
                    .map(|l| l.spec.span()),
                RuleError::WorkerThreadsWithCurrentThread => key_span(&spans, "worker_threads"),
                RuleError::RestartLimitWithoutPersist { .. } => key_span(&spans, "restart_limit"),
                RuleError::GraceOverHalfLameduck { .. } => options.grace.as_ref().map(|g| g.span),
                _ => None,
            };
            errors.at(span.unwrap_or_else(Span::call_site), error);
        }

        // A misspelt `name` has been reported as such: saying it is missing
        // too would be a second error for one mistake.
        if name.is_none()
            && !keys.iter().any(|k| k == "name")
            && !misspelt.iter().any(|k| k == "name")
        {
            errors.at(Span::call_site(), MISSING_NAME);
        }
        errors.finish()?;
        // No error was reported, so `name` was given and is valid.
        let name = name.ok_or_else(|| Error::new(Span::call_site(), MISSING_NAME))?;
        Ok(Args { name, options })
    }
}

/// The conflicts between the keys that were given and valid, by the rules
/// the builder uses. A key given with a bad value, or misspelt
/// (`misspelt`), has been reported: the checks take it as given, not as
/// left at its default, so that it makes no second error.
fn cross_checks(options: &Options, keys: &[Ident], misspelt: &[Ident]) -> Vec<RuleError> {
    let given = |key: &str| keys.iter().chain(misspelt).any(|k| k == key);
    let flag = options.flag.as_ref().map(LitStr::value);
    let names: Vec<String> = options.listeners.iter().map(|l| l.name.value()).collect();
    let specs: Vec<String> = options.listeners.iter().map(|l| l.spec.value()).collect();
    let persist = match &options.persist {
        Some(persist) => Some(persist.value),
        // `persist` with a value that is not a bool has been reported:
        // one error for one mistake.
        None if given("persist") => Some(true),
        None => None,
    };
    Settings {
        listeners: names.iter().map(String::as_str).collect(),
        // Each checked already, as it was parsed.
        declared: (names.iter().zip(&specs))
            .filter_map(|(name, spec)| {
                let (network, addr) = rules::listener_spec(name, spec).ok()?;
                Some((name.as_str(), network, addr))
            })
            .collect(),
        flag: flag.as_deref(),
        // Refused (and reported): its name is not known.
        flag_refused: flag.is_none() && given("flag"),
        persist,
        restart_limit: options.restart_limit.is_some(),
        current_thread: options
            .flavor
            .as_ref()
            .is_some_and(|f| f.value == Flavor::CurrentThread),
        worker_threads: options.worker_threads.is_some(),
        // Against a `lameduck` that did not parse (reported already), the
        // default would be the wrong measure: one error for one mistake.
        grace_ms: (options.grace.as_ref().map(|g| g.value))
            .filter(|_| options.lameduck.is_some() || !given("lameduck")),
        lameduck_ms: options.lameduck.as_ref().map(|l| l.value),
    }
    .check()
}

fn key_span(keys: &[Ident], key: &str) -> Option<Span> {
    keys.iter().find(|k| *k == key).map(Ident::span)
}

/// Other words for keys, each with the key it is likely meant as.
const SYNONYMS: [(&str, &str); 5] = [
    ("service", "name"),
    ("service_name", "name"),
    ("svc", "name"),
    ("threads", "worker_threads"),
    ("workers", "worker_threads"),
];

/// The key `word` is another word for ([`SYNONYMS`]), if it is one.
fn synonym(word: &str) -> Option<&'static str> {
    (SYNONYMS.into_iter()).find_map(|(other, key)| (other == word).then_some(key))
}

/// The key `key` (not one of [`KEYS`]) is most likely meant as: the one
/// it is another word for (`service`: the docs call the name the service
/// name), else `joined` (a dashed key's words run together) if that is a
/// key, else the nearest of those it may be a misspelling of (`krate` is
/// one edit from `crate`, two from `grace`): the first of equals.
fn nearest_key(key: &str, joined: Option<&str>) -> Option<&'static str> {
    synonym(key).or_else(|| {
        let joined = |k: &str| Some(k) == joined;
        (KEYS.into_iter())
            .filter(|k| joined(k) || rules::is_typo(key, k))
            .min_by_key(|k| (!joined(k), rules::edits(key, k)))
    })
}

/// The error for a key that is not one of [`KEYS`], and the key it looks
/// like a misspelling of, if any.
fn unknown_key(path: &Path) -> (Error, Option<&'static str>) {
    let key = path
        .segments
        .iter()
        .map(|s| s.ident.unraw().to_string())
        .collect::<Vec<_>>()
        .join("::");
    // `::name`: the key itself, but for the `::`.
    if let Some(known) = known_key(&key)
        && path.leading_colon.is_some()
    {
        let message = format!("write the key as `{known}`, without the leading `::`");
        return (Error::new_spanned(path, message), Some(known));
    }
    let suggestion = nearest_key(&key, None);
    let hint = suggestion.map_or_else(String::new, |k| format!("did you mean `{k}`? "));
    let message = format!(
        "unknown key `{key}`; {hint}expected one of: {}",
        KEYS.join(", ")
    );
    (Error::new_spanned(path, message), suggestion)
}

/// What a listener `name` without a string value is told.
fn takes_a_string(name: &str) -> String {
    format!("listener `{name}` takes a string \"NET:ADDR\": `{name} = \"tcp::8080\"`")
}

/// Where a word that may be dashed (several tokens) begins and ends.
pub(crate) type WordSpans = (Span, Span);

/// An error on the tokens from `start` to `end` (a dashed word, whose
/// parts are tokens of their own): stable Rust joins no spans, but an
/// error on a stream underlines from its first token to its last.
fn spanning((start, end): WordSpans, message: impl std::fmt::Display) -> Error {
    use proc_macro2::{Punct, Spacing, TokenTree};
    let ends: TokenStream = [start, end]
        .into_iter()
        .map(|span| {
            let mut mark = Punct::new('-', Spacing::Alone);
            mark.set_span(span);
            TokenTree::Punct(mark)
        })
        .collect();
    Error::new_spanned(ends, message)
}

/// Whether `tokens` has a word followed by `-`: a dashed listener name.
fn has_dashed_name(tokens: &TokenStream) -> bool {
    use proc_macro2::TokenTree;
    let tokens: Vec<TokenTree> = tokens.clone().into_iter().collect();
    tokens.windows(2).any(|pair| {
        matches!(&pair[0], TokenTree::Ident(_) | TokenTree::Literal(_))
            && matches!(&pair[1], TokenTree::Punct(p) if p.as_char() == '-')
    })
}

/// Whether a listener name (a group's first token, or one after a comma)
/// is one a Rust path cannot be: a keyword (`type`), a number (`2fa`), or
/// one that starts with a dash (`-admin`).
fn has_unpathlike_name(tokens: &TokenStream) -> bool {
    use proc_macro2::TokenTree;
    let tokens: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let mut at_name = true;
    for (at, token) in tokens.iter().enumerate() {
        let unpathlike = match token {
            TokenTree::Ident(ident) => is_keyword(ident),
            TokenTree::Literal(_) => true,
            // Dashes, then a word or a number: a name; a `-` alone is
            // syn's to point at.
            TokenTree::Punct(p) if p.as_char() == '-' => {
                let after = tokens[at..]
                    .iter()
                    .find(|t| !matches!(t, TokenTree::Punct(p) if p.as_char() == '-'));
                matches!(after, Some(TokenTree::Ident(_) | TokenTree::Literal(_)))
            }
            TokenTree::Punct(_) | TokenTree::Group(_) => false,
        };
        if at_name && unpathlike {
            return true;
        }
        at_name = matches!(&token, TokenTree::Punct(p) if p.as_char() == ',');
    }
    false
}

/// The string `lit` is (plain or raw), if it is one.
fn string_literal(lit: &proc_macro2::Literal) -> Option<LitStr> {
    syn::parse2(proc_macro2::TokenTree::Literal(lit.clone()).into()).ok()
}

/// `listener(...)`'s items read by hand, `NAME = VALUE` each, where NAME
/// is words or numbers joined by `-` (`admin-http`, `v2-api`): the name,
/// where it begins and ends, and the value.
fn dashed_listeners(input: ParseStream) -> syn::Result<Vec<(String, WordSpans, Expr)>> {
    use proc_macro2::TokenTree;
    let part = |input: ParseStream| -> syn::Result<String> {
        match input.parse::<TokenTree>()? {
            TokenTree::Ident(ident) => Ok(ident.unraw().to_string()),
            TokenTree::Literal(lit)
                if lit
                    .to_string()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                Ok(lit.to_string())
            }
            TokenTree::Literal(lit) => match string_literal(&lit) {
                // `"admin-http" = "..."`, as the builder's string (or with
                // its `=` left out too): unquoted here.
                Some(name) if input.peek(Token![=]) || input.peek(LitStr) => Err(Error::new(
                    lit.span(),
                    format!(
                        "write the listener name unquoted: `{} = \"NET:ADDR\"`",
                        name.value()
                    ),
                )),
                // `"tcp::443"` alone: the address, its name left out.
                Some(_) => Err(Error::new(
                    lit.span(),
                    format!("a listener needs a name, which is its flag: `NAME = {lit}`"),
                )),
                // A number Rust reads as one token with a sign or a dot in
                // it (`1e-3`, `1.5`): its text, for the rules to judge as
                // the builder's string is.
                None => Ok(lit.to_string()),
            },
            other => Err(Error::new(other.span(), "not a listener name")),
        }
    };
    let mut items = Vec::new();
    while !input.is_empty() {
        let start = input.span();
        let mut name = String::new();
        // `-admin`: read whole, for the rules to name its dash.
        while input.peek(Token![-]) {
            input.parse::<Token![-]>()?;
            name.push('-');
        }
        let mut end = input.span();
        name.push_str(&part(input)?);
        while input.peek(Token![-]) {
            end = input.parse::<Token![-]>()?.span;
            name.push('-');
            // `a--b` and `a-` are names too, as for the builder; `a-` ends
            // where its value (or its item, or the list) begins.
            let name_ends = input.is_empty()
                || input.peek(Token![-])
                || input.peek(Token![=])
                || input.peek(Token![,])
                || input.peek(LitStr);
            if !name_ends {
                end = input.span();
                name.push_str(&part(input)?);
            }
        }
        if !input.peek(Token![=]) {
            // A name the rules refuse (`-admin`) is not one to suggest.
            let message = match rules::listener_name(&name, std::iter::empty()) {
                Err(e) => e.to_string(),
                Ok(()) => takes_a_string(&name),
            };
            return Err(spanning((start, end), message));
        }
        input.parse::<Token![=]>()?;
        let value: Expr = input.parse()?;
        items.push((name, (start, end), ungrouped(&value).clone()));
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
    }
    Ok(items)
}

/// The value of `key = value`, without the invisible groups that
/// `macro_rules!` wraps around fragments.
fn value(meta: &Meta) -> Option<&Expr> {
    let Meta::NameValue(meta) = meta else {
        return None;
    };
    Some(ungrouped(&meta.value))
}

/// `expr` without the invisible groups that `macro_rules!` wraps around
/// fragments.
fn ungrouped(mut expr: &Expr) -> &Expr {
    while let Expr::Group(group) = expr {
        expr = &group.expr;
    }
    expr
}

fn literal(meta: &Meta) -> Option<&Lit> {
    match value(meta)? {
        Expr::Lit(lit) => Some(&lit.lit),
        _ => None,
    }
}

/// An error for a value of the wrong kind: on the value, or on the whole
/// key when there is none (`name`, `name(...)`).
fn wrong_type(meta: &Meta, message: impl std::fmt::Display) -> Error {
    match meta {
        Meta::NameValue(meta) => Error::new_spanned(&meta.value, message),
        _ => Error::new_spanned(meta, message),
    }
}

/// What a listener item that is no `NAME = "NET:ADDR"` most likely lacks,
/// said as the top level says it: `https: "tcp::443"` wants `=`, and
/// `admin = tcp::81` its quotes. `None` when it is something else.
fn listener_hint(tokens: &TokenStream) -> Option<Error> {
    use proc_macro2::TokenTree;
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let is = |t: &TokenTree, c: char| matches!(t, TokenTree::Punct(p) if p.as_char() == c);
    // A name's parts: words, numbers, and the dashes between them.
    let name_part = |t: &TokenTree| match t {
        TokenTree::Ident(ident) => Some(ident.unraw().to_string()),
        TokenTree::Literal(lit) => {
            let text = lit.to_string();
            let plain = text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            plain.then_some(text)
        }
        TokenTree::Punct(p) if p.as_char() == '-' => Some("-".to_owned()),
        TokenTree::Group(_) | TokenTree::Punct(_) => None,
    };
    let is_string =
        |t: &TokenTree| matches!(t, TokenTree::Literal(l) if string_literal(l).is_some());
    for item in trees.split(|t| is(t, ',')) {
        let parts: Vec<String> = item.iter().map_while(name_part).collect();
        if parts.is_empty() {
            continue;
        }
        let name = parts.concat();
        // A name the rules refuse (`-admin`) is the mistake to name, not
        // one to suggest again. (Dashes alone are no name: syn's.)
        if parts.iter().any(|part| part != "-")
            && let Err(e) = rules::listener_name(&name, std::iter::empty())
        {
            let last = &item[parts.len() - 1];
            return Some(spanning((item[0].span(), last.span()), e));
        }
        let [TokenTree::Punct(p), rest @ ..] = &item[parts.len()..] else {
            // `https "tcp::443"`: the `=` left out.
            if let Some(string) = item.get(parts.len()).filter(|t| is_string(t)) {
                return Some(Error::new(
                    string.span(),
                    format!("write `{name} = {string}`, with `=`"),
                ));
            }
            continue;
        };
        let written: String = rest.iter().map(ToString::to_string).collect();
        // A string anywhere in it: what is wrong is elsewhere (a missing
        // `,` before the next item), which syn's own error points at.
        let has_string = rest.iter().any(is_string);
        match p.as_char() {
            ':' if !rest.first().is_some_and(|t| is(t, ':')) => {
                return Some(Error::new(
                    p.span(),
                    format!("write `{name} = ...`, with `=`"),
                ));
            }
            // This item may well be right: look at the next.
            '=' if has_string => {}
            // `https =`, the value left out.
            '=' if rest.is_empty() => {
                return Some(Error::new(p.span(), takes_a_string(&name)));
            }
            '=' => {
                // Quoted only if that is right (`tcp:8080` is not): else
                // the form alone.
                let suggestion = match rules::listener_spec(&name, &written) {
                    Ok(_) => format!(": `{name} = \"{written}\"`"),
                    Err(_) => format!(": `{name} = \"tcp::8080\"`"),
                };
                // The whole value underlined (`rest` is not empty here).
                let ends = (rest[0].span(), rest[rest.len() - 1].span());
                return Some(spanning(
                    ends,
                    format!("listener `{name}` takes a string \"NET:ADDR\"{suggestion}"),
                ));
            }
            _ => {}
        }
    }
    None
}

/// A string value. When the user forgot the quotes around something simple
/// (`name = myblog`, `lameduck = 5s`) the message quotes it for them, if
/// that quoted value `fits` (else it shows `example`: quoting `lameduck =
/// 5` would suggest another mistake).
fn string(
    meta: &Meta,
    key: &str,
    example: &str,
    fits: impl Fn(&str) -> bool,
) -> syn::Result<LitStr> {
    // `name("svc")`: the string is there, its `=` is not.
    if let Meta::List(list) = meta
        && let Ok(written) = syn::parse2::<LitStr>(list.tokens.clone())
    {
        let value = written.value();
        let shown = match fits(&value) {
            true => format!("{value:?}"),
            false => example.to_owned(),
        };
        return Err(Error::new_spanned(
            meta,
            format!("write `{key} = {shown}`, with `=`, not parentheses"),
        ));
    }
    let example = match unquoted(meta) {
        Ok(s) => return suffixed(&format!("`{key}`"), s.suffix(), s.span()).map(|()| s),
        Err(Some(text)) if fits(&text) => format!("\"{text}\""),
        Err(_) => example.to_owned(),
    };
    // `env!("CARGO_PKG_NAME")`, `concat!(..)`: a string once expanded, but
    // an attribute's arguments are read before any macro in them is.
    if let Some(Expr::Macro(call)) = value(meta) {
        let name = call.mac.path.segments.last().map(|s| s.ident.to_string());
        return Err(wrong_type(
            meta,
            format!(
                "`{key}` takes a string literal: `{key} = {example}` (`{}!` is not expanded inside the attribute)",
                name.unwrap_or_default()
            ),
        ));
    }
    Err(wrong_type(
        meta,
        format!("`{key}` takes a string: `{key} = {example}`"),
    ))
}

/// The error for a literal written with a suffix (`"5s"ms`, `4u8`),
/// which the attribute would otherwise drop unread; none without one.
/// `what` names the key (`` `lameduck` ``, ``listener `http` ``).
fn suffixed(what: &str, suffix: &str, span: proc_macro2::Span) -> syn::Result<()> {
    match suffix {
        "" => Ok(()),
        _ => Err(Error::new(
            span,
            format!("{what} takes a plain literal, without the suffix `{suffix}`"),
        )),
    }
}

/// The string literal; or else the text of a simple unquoted value (digits
/// as written, without `_`: `5_000ms` is `5000ms`), if any.
fn unquoted(meta: &Meta) -> Result<LitStr, Option<String>> {
    Err(match value(meta) {
        Some(Expr::Lit(lit)) => match &lit.lit {
            Lit::Str(s) => return Ok(s.clone()),
            Lit::Int(i) => Some(format!("{}{}", i.base10_digits(), i.suffix())),
            Lit::Float(f) => Some(format!("{}{}", f.base10_digits(), f.suffix())),
            _ => None,
        },
        Some(Expr::Path(path)) => path.path.get_ident().map(|i| i.unraw().to_string()),
        _ => None,
    })
}

/// `lit` if its value passes `check`, else the error on it.
fn checked(lit: LitStr, check: impl FnOnce(&str) -> Result<(), RuleError>) -> syn::Result<LitStr> {
    match check(&lit.value()) {
        Ok(()) => Ok(lit),
        Err(error) => Err(Error::new(lit.span(), error)),
    }
}

/// A string naming one of two `choices`; the one at `example` is suggested
/// when the value is not a string.
fn choice<T: Copy>(
    meta: &Meta,
    key: &str,
    what: &str,
    choices: [(&str, T); 2],
    example: usize,
) -> syn::Result<Spanned<T>> {
    let fits = |text: &str| choices.iter().any(|(name, _)| *name == text);
    let lit = string(meta, key, &format!("\"{}\"", choices[example].0), fits)?;
    let text = lit.value();
    match choices.iter().find(|(name, _)| *name == text) {
        Some(&(_, value)) => Ok(Spanned {
            value,
            span: lit.span(),
        }),
        None => Err(Error::new(
            lit.span(),
            format!(
                "unknown {what} `{}`; expected \"{}\" or \"{}\"",
                text.escape_debug(),
                choices[0].0,
                choices[1].0
            ),
        )),
    }
}

/// `worker_threads`: an integer, 1 to 32768.
fn threads(meta: &Meta) -> syn::Result<Spanned<usize>> {
    let Some(Lit::Int(int)) = literal(meta) else {
        let message = "`worker_threads` takes an integer: `worker_threads = 4`";
        return Err(wrong_type(meta, message));
    };
    suffixed("`worker_threads`", int.suffix(), int.span())?;
    let value = rules::worker_threads_written(int.base10_digits())
        .map_err(|e| Error::new(int.span(), e))?;
    Ok(Spanned {
        value,
        span: int.span(),
    })
}

/// A bool value; the bare key means `true`.
fn boolean(meta: &Meta, key: &str, example: bool) -> syn::Result<LitBool> {
    if let Meta::Path(path) = meta {
        return Ok(LitBool::new(true, path.span()));
    }
    match literal(meta) {
        Some(Lit::Bool(b)) => Ok(b.clone()),
        _ => Err(wrong_type(
            meta,
            format!("`{key}` takes a bool: `{key} = {example}`"),
        )),
    }
}

/// A duration string, in milliseconds.
fn duration(meta: &Meta, key: &str, example: &str) -> syn::Result<Spanned<u64>> {
    // A bare number: its unit is missing too.
    if let Err(Some(digits)) = unquoted(meta)
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        // Zero with a unit is refused for `ready_timeout`: its example
        // instead (a zero `lameduck` or `grace` is allowed).
        let message = if key == "ready_timeout" && digits.bytes().all(|b| b == b'0') {
            format!("`{key}` takes a string with a unit, like `{key} = {example}`")
        } else {
            format!(
                "`{key}` takes a string with a unit: `{key} = \"{digits}ms\"` or `{key} = \"{digits}s\"`"
            )
        };
        return Err(wrong_type(meta, message));
    }
    let lit = string(meta, key, example, |text| {
        // Quoted only if that is right: a zero `ready_timeout` is not.
        rules::duration_millis(key, text).is_ok_and(|ms| key != "ready_timeout" || ms > 0)
    })?;
    let value = rules::duration_millis(key, &lit.value()).map_err(|e| Error::new(lit.span(), e))?;
    Ok(Spanned {
        value,
        span: lit.span(),
    })
}

/// `restart_limit = "N in DURATION"`.
fn restart_limit(meta: &Meta) -> syn::Result<Spanned<(u32, u64)>> {
    // Not `string`: quoting a bare `5` would suggest another mistake.
    let Some(Lit::Str(lit)) = literal(meta) else {
        let message = "`restart_limit` takes a string: `restart_limit = \"5 in 60s\"`";
        return Err(wrong_type(meta, message));
    };
    suffixed("`restart_limit`", lit.suffix(), lit.span())?;
    let value = rules::restart_limit(&lit.value()).map_err(|e| Error::new(lit.span(), e))?;
    Ok(Spanned {
        value,
        span: lit.span(),
    })
}

/// A path to a function, as written (`init`, `crate::setup::init`,
/// `<Setup as Init>::init`).
fn fn_path(meta: &Meta) -> syn::Result<syn::ExprPath> {
    if let Some(Expr::Path(path)) = value(meta)
        && path.attrs.is_empty()
    {
        return Ok(path.clone());
    }
    // Quoted, as `crate = "..."` is: said with its own name, unquoted.
    if let Some(Lit::Str(lit)) = literal(meta)
        && syn::parse_str::<syn::ExprPath>(&lit.value()).is_ok()
    {
        let message = format!(
            "`supervisor_init` takes a path to a `fn()`, not quoted: `supervisor_init = {}`",
            lit.value().trim()
        );
        return Err(wrong_type(meta, &message));
    }
    Err(wrong_type(
        meta,
        "`supervisor_init` takes a path to a `fn()`: `supervisor_init = my_init`",
    ))
}

/// `crate = "path"`: a path to the `littleboss` crate, as a string (as
/// tokio and serde take theirs), like `"lb"` or `"myframework::littleboss"`.
fn crate_path(meta: &Meta) -> syn::Result<Path> {
    // Plain segments only (`lb::<T>` would parse as a path, and make no
    // expression's start).
    let text = string(meta, "crate", "\"lb\"", |text| {
        syn::parse::Parser::parse_str(Path::parse_mod_style, text).is_ok()
    })?;
    let path: Path = text.parse_with(Path::parse_mod_style).map_err(|_| {
        Error::new(
            text.span(),
            format!(
                "`crate` takes a path to the littleboss crate, like `\"lb\"`, not `{}`",
                text.value()
            ),
        )
    })?;
    Ok(path)
}

/// Whether `ident` is a keyword, strict or reserved, which syn takes for
/// no identifier (`union`, a weak one, names things).
pub(crate) fn is_keyword(ident: &proc_macro2::Ident) -> bool {
    let token = proc_macro2::TokenTree::Ident(ident.clone());
    syn::parse2::<syn::Ident>(token.into()).is_err()
}

#[cfg(test)]
mod tests {
    use super::parse;
    use proc_macro2::TokenStream;

    fn messages(args: &str) -> Vec<String> {
        let tokens: TokenStream = args.parse().unwrap();
        match parse(tokens).0 {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_macro_call_for_a_string_is_told_it_is_not_expanded() {
        assert_eq!(
            messages(r#"name = env!("CARGO_PKG_NAME")"#),
            [
                "`name` takes a string literal: `name = \"...\"` (`env!` is not expanded inside the attribute)"
            ]
        );
    }

    #[test]
    fn a_crate_path_takes_plain_segments_only() {
        for path in ["lb<T>", "lb::<T>", "a::b(c)"] {
            assert_eq!(
                messages(&format!(r#"name = "svc", crate = "{path}""#)),
                [format!(
                    "`crate` takes a path to the littleboss crate, like `\"lb\"`, not `{path}`"
                )]
            );
        }
        for path in ["lb", "::lb", "my::lb", "crate::lb"] {
            assert_eq!(
                messages(&format!(r#"name = "svc", crate = "{path}""#)),
                Vec::<String>::new(),
                "{path}"
            );
        }
    }

    #[test]
    fn a_misspelt_key_is_told_the_nearest_key() {
        let hint = |key: &str| messages(&format!(r#"name = "svc", {key} = "lb""#));
        // One edit from `crate`, two from `grace`, which comes first.
        assert!(
            hint("krate")[0].contains("did you mean `crate`?"),
            "{:?}",
            hint("krate")
        );
        assert!(hint("grce")[0].contains("did you mean `grace`?"));
        // Another word for a key, dashed too.
        assert!(hint("threads")[0].contains("did you mean `worker_threads`?"));
        assert!(hint("service-name")[0].contains("did you mean `name`?"));
    }

    #[test]
    fn a_listener_list_after_a_colon_is_told_to_drop_it() {
        let said = messages(r#"name = "svc", listener: (https = "tcp::443")"#);
        assert_eq!(
            said,
            [
                "`listener` takes its list in parentheses right after it, with no `:` or `=`: `listener(https = \"tcp::443\")`"
            ]
        );
    }

    #[test]
    fn the_service_name_under_another_key_is_one_mistake() {
        // Not also "missing `name`": the one mistake, said once.
        let said = messages(r#"service = "svc""#);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].contains("unknown key `service`; did you mean `name`?"),
            "{said:?}"
        );
    }

    #[test]
    fn a_misspelt_key_is_judged_as_meant_by_the_checks_across_keys() {
        // With its value as the key it looks like takes it: not also the
        // conflict its absence would make (review 357)...
        for (attr, misspelt) in [
            (
                r#"name = "svc", persit, restart_limit = "5 in 60s""#,
                "persit",
            ),
            (
                r#"name = "svc", lamedcuk = "10s", grace = "3s""#,
                "lamedcuk",
            ),
            (
                r#"name = "svc", flg = "lb", listener(littleboss = "tcp::1")"#,
                "flg",
            ),
            // ...nor where that key would not take it (as a bad value).
            (
                r#"name = "svc", persit = 3, restart_limit = "5 in 60s""#,
                "persit",
            ),
        ] {
            let said = messages(attr);
            assert_eq!(said.len(), 1, "{attr}: {said:?}");
            assert!(
                said[0].starts_with(&format!("unknown key `{misspelt}`")),
                "{said:?}"
            );
        }
        // ...but the conflict it does make, said at once rather than after
        // the misspelling is mended (review 358).
        for (attr, conflict) in [
            (
                r#"name = "svc", persit = false, restart_limit = "5 in 60s""#,
                "only applies",
            ),
            (
                r#"name = "svc", lamedcuk = "1s", grace = "3s""#,
                "more than half",
            ),
        ] {
            let said = messages(attr);
            assert_eq!(said.len(), 2, "{attr}: {said:?}");
            assert!(said[1].contains(conflict), "{said:?}");
        }
        // The key meant, given too, is judged as given, wherever it comes.
        let said =
            messages(r#"name = "svc", persit = false, persist = 3, restart_limit = "5 in 60s""#);
        assert_eq!(said.len(), 2, "{said:?}");
    }

    #[test]
    fn a_listener_item_written_wrong_is_told_what_it_lacks() {
        // Each list (after `name = "svc", `) and the one message it gets.
        let cases: &[(&str, &str)] = &[
            (
                r#"listener(https: "tcp::443")"#,
                "write `https = ...`, with `=`",
            ),
            (
                r#"listener(admin = tcp::81)"#,
                "listener `admin` takes a string \"NET:ADDR\": `admin = \"tcp::81\"`",
            ),
            // After a good item too.
            (
                r#"listener(https = "tcp::443", admin = tcp::81)"#,
                "listener `admin` takes a string \"NET:ADDR\": `admin = \"tcp::81\"`",
            ),
            (
                r#"listener(https = "tcp::443", admin: "tcp::81")"#,
                "write `admin = ...`, with `=`",
            ),
            // A dashed name is said whole.
            (
                r#"listener(admin-http = tcp::81)"#,
                "listener `admin-http` takes a string \"NET:ADDR\": `admin-http = \"tcp::81\"`",
            ),
            (
                r#"listener(https = "tcp::443", admin-http: "tcp::81")"#,
                "write `admin-http = ...`, with `=`",
            ),
            // Quoted, it would be refused next (no host part): the form.
            (
                r#"listener(admin = tcp:8080)"#,
                "listener `admin` takes a string \"NET:ADDR\": `admin = \"tcp::8080\"`",
            ),
            // The `=` or the value left out.
            (
                r#"listener(https "tcp::443")"#,
                "write `https = \"tcp::443\"`, with `=`",
            ),
            (
                r#"listener(https = "tcp::443", admin-http "tcp::81")"#,
                "write `admin-http = \"tcp::81\"`, with `=`",
            ),
            (
                r#"listener(https = )"#,
                "listener `https` takes a string \"NET:ADDR\": `https = \"tcp::8080\"`",
            ),
            // The name left out, or a list inside the list.
            (
                r#"listener("tcp::443")"#,
                "a listener needs a name, which is its flag: `NAME = \"tcp::443\"`",
            ),
            (
                r##"listener(https = "tcp::443", r#"tcp::81"#)"##,
                "a listener needs a name, which is its flag: `NAME = r#\"tcp::81\"#`",
            ),
            // A quoted name, its `=` left out too.
            (
                r#"listener("admin-http" "tcp::81")"#,
                "write the listener name unquoted: `admin-http = \"NET:ADDR\"`",
            ),
            (
                r#"listener(listener(https = "tcp::443"))"#,
                "`listener(...)` lists do not nest: write these listeners in the outer list",
            ),
            // A missing comma is syn's to point at, not a string to suggest.
            (
                r#"listener(https = "tcp::443" admin = "tcp::81")"#,
                "expected `,`",
            ),
        ];
        for (listeners, message) in cases {
            let attribute = format!(r#"name = "svc", {listeners}"#);
            assert_eq!(messages(&attribute), [*message], "{listeners}");
        }
    }

    #[test]
    fn a_listener_list_in_brackets_or_braces_is_refused() {
        for list in [
            r#"listener[https = "tcp::443"]"#,
            r#"listener{https = "tcp::443"}"#,
        ] {
            assert_eq!(
                messages(&format!(r#"name = "svc", {list}"#)),
                ["`listener` takes its list in parentheses: `listener(https = \"tcp::443\")`"],
                "{list}"
            );
        }
    }

    #[test]
    fn a_bare_zero_duration_suggests_what_would_pass() {
        assert_eq!(
            messages(r#"name = "svc", ready_timeout = 0"#),
            ["`ready_timeout` takes a string with a unit, like `ready_timeout = \"30s\"`"]
        );
        assert_eq!(
            messages(r#"name = "svc", lameduck = 0"#),
            ["`lameduck` takes a string with a unit: `lameduck = \"0ms\"` or `lameduck = \"0s\"`"]
        );
        assert_eq!(
            messages(r#"name = "svc", grace = 500"#),
            ["`grace` takes a string with a unit: `grace = \"500ms\"` or `grace = \"500s\"`"]
        );
    }

    #[test]
    fn an_unquoted_value_is_quoted_back_only_if_it_would_pass() {
        assert_eq!(
            messages(r#"name = "svc", ready_timeout = 0s"#),
            ["`ready_timeout` takes a string: `ready_timeout = \"30s\"`"]
        );
        assert_eq!(
            messages(r#"name = "svc", ready_timeout = 5s"#),
            ["`ready_timeout` takes a string: `ready_timeout = \"5s\"`"]
        );
        assert_eq!(
            messages(r#"name = "svc", ready_timeout = 0 s"#),
            ["`ready_timeout` takes a string: `ready_timeout = \"30s\"`"]
        );
        assert_eq!(
            messages(r#"name = "svc", ready_timeout = 5 s"#),
            ["`ready_timeout` takes a string: `ready_timeout = \"5s\"`"]
        );
        assert_eq!(
            messages(r#"name = "svc", grace = 1.5 s"#),
            ["`grace` takes a string: `grace = \"1.5s\"`"]
        );
        assert_eq!(
            messages(r#"name = "svc", grace = 1.5s"#),
            ["`grace` takes a string: `grace = \"1.5s\"`"]
        );
        assert_eq!(
            messages(r#"name = "svc", persist, restart_limit = 5 in 0s"#),
            ["`restart_limit` takes a string: `restart_limit = \"5 in 60s\"`"]
        );
        assert_eq!(
            messages(r#"name = "svc", persist, restart_limit = 5 in 30s"#),
            ["`restart_limit` takes a string: `restart_limit = \"5 in 30s\"`"]
        );
    }
}
