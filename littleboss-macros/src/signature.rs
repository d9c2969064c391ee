//! The function under the attribute, and the checks on its signature.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, FnArg, Safety, Signature, Token, Visibility};

use crate::errors::Errors;

/// The function: attributes, visibility and signature parsed, the body kept
/// as tokens. Not parsing the body means a body in the middle of an edit
/// still expands, so IDEs keep working, and it is re-emitted verbatim.
pub(crate) struct MainFn {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub sig: Signature,
    /// The `{ ... }` group.
    pub body: Group,
}

impl Parse for MainFn {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        if !begins_a_fn(input) {
            return Err(input.error("#[littleboss::main] goes on `fn main`"));
        }
        let sig = input.parse()?;
        // The braces' own group, kept whole (its spans: a diagnostic at the
        // closing `}` points there), also from inside the invisible group
        // around a body `macro_rules!` handed in as a `$body:block`.
        let body = input.step(|cursor| {
            if let Some(found) = braces(*cursor) {
                return Ok(found);
            }
            if let Some((inner, _, after)) = cursor.group(Delimiter::None)
                && let Some((group, rest)) = braces(inner)
                && rest.eof()
            {
                return Ok((group, after));
            }
            Err(cursor.error("expected the body of `main`"))
        })?;
        Ok(MainFn {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

/// Whether `input` begins a function: `fn` after any of its qualifiers
/// (`const`, `async`, `unsafe`, `extern "C"`), not another item they may
/// begin (`const MAIN: () = ();`, `unsafe impl`, `extern crate`, an
/// `extern` block), which syn would tell only as "expected `fn`".
fn begins_a_fn(input: ParseStream) -> bool {
    let ahead = input.fork();
    loop {
        if ahead.peek(Token![fn]) {
            return true;
        }
        let qualifier = ahead.parse::<Token![const]>().is_ok()
            || ahead.parse::<Token![async]>().is_ok()
            || ahead.parse::<Token![unsafe]>().is_ok()
            || (ahead.parse::<Token![extern]>().is_ok()
                && (!ahead.peek(syn::LitStr) || ahead.parse::<syn::LitStr>().is_ok()));
        if !qualifier {
            return false;
        }
    }
}

/// Whether `item` is a function `main` (not a method) declared without a
/// body: its signature and a `;`.
pub(crate) fn is_main_without_body(item: &TokenStream) -> bool {
    let declaration = |input: ParseStream| {
        Attribute::parse_outer(input)?;
        input.parse::<Visibility>()?;
        let sig: Signature = input.parse()?;
        input.parse::<Token![;]>()?;
        Ok(sig)
    };
    syn::parse::Parser::parse2(declaration, item.clone()).is_ok_and(|sig| {
        sig.ident.unraw() == "main" && !matches!(sig.inputs.first(), Some(FnArg::Receiver(_)))
    })
}

/// The `{ ... }` group at `at`, and what follows it.
fn braces(at: syn::buffer::Cursor<'_>) -> Option<(Group, syn::buffer::Cursor<'_>)> {
    match at.token_tree()? {
        (TokenTree::Group(group), rest) if group.delimiter() == Delimiter::Brace => {
            Some((group, rest))
        }
        _ => None,
    }
}

impl MainFn {
    /// The signature and the body, as tokens (not the attributes: a
    /// `Self` in one is the attribute's business).
    pub fn to_token_stream_of_sig_and_body(&self) -> TokenStream {
        let mut tokens = self.sig.to_token_stream();
        tokens.extend(std::iter::once(TokenTree::Group(self.body.clone())));
        tokens
    }

    /// The function as an item without its outer attributes and visibility,
    /// which go on the generated `fn main`.
    pub fn inner_item(&self) -> TokenStream {
        // `const`, `extern` and `...`, refused by `check` already, would
        // only add errors of their own where the item is kept after a
        // refusal.
        let mut sig = self.sig.clone();
        sig.constness = None;
        sig.abi = None;
        sig.variadic = None;
        let mut tokens = sig.to_token_stream();
        self.body.to_tokens(&mut tokens);
        tokens
    }

    /// Whether it takes `self`, which no item outside an `impl` can.
    pub fn has_receiver(&self) -> bool {
        matches!(self.sig.inputs.first(), Some(FnArg::Receiver(_)))
    }
}

/// `pat` without the parentheses around it (`(_)` is `_`).
pub(crate) fn unparenthesized(pat: &syn::Pat) -> &syn::Pat {
    match pat {
        syn::Pat::Paren(inner) => unparenthesized(&inner.pat),
        pat => pat,
    }
}

/// Where `Self` first appears in `tokens` (a function's) outside the
/// items that have one of their own (an `impl`, a trait, a type, a
/// `macro_rules!` body) and the input of macros (`stringify!(Self)`, theirs
/// to read): there it can only name the type of an `impl` or trait around
/// the function, which the attribute's `fn main` hides. (What it passes
/// over only finds less: rustc's own error says the rest.)
pub(crate) fn self_outside_items(tokens: TokenStream) -> Option<proc_macro2::Span> {
    let mut tokens = tokens.into_iter().peekable();
    // The last token was a name (a macro's path, not a keyword a `!`
    // may follow: `if !(...)`): a `!` after it begins a macro's input.
    let mut after_name = false;
    // Where an item may begin: `impl` there is one, elsewhere a type's
    // (`-> impl Display`), with no `Self` of its own.
    let mut item_may_begin = true;
    while let Some(token) = tokens.next() {
        let name =
            matches!(&token, TokenTree::Ident(ident) if !BEFORE_A_NOT.iter().any(|k| ident == k));
        let mut next_may_begin_an_item = match &token {
            TokenTree::Punct(punct) => punct.as_char() == ';',
            TokenTree::Group(group) => group.delimiter() != Delimiter::Parenthesis,
            // `unsafe impl`, and nightly's `default impl`.
            TokenTree::Ident(ident) => ident == "unsafe" || ident == "default",
            TokenTree::Literal(_) => false,
        };
        match token {
            TokenTree::Ident(ident) if ident == "Self" => return Some(ident.span()),
            TokenTree::Ident(ident) if ident == "impl" && !item_may_begin => {}
            // A weak keyword: a name (`a.union(&b)`, `union as u64`,
            // `for union in xs`) unless the union's name follows, a name
            // that is no keyword (`pub union U`, `#[repr(C)] union U`), as
            // rustc tells it.
            TokenTree::Ident(ident)
                if ident == "union"
                    && !matches!(tokens.peek(), Some(TokenTree::Ident(next)) if !crate::attr::is_keyword(next)) =>
                {}
            TokenTree::Ident(ident) if HAS_ITS_OWN_SELF.iter().any(|item| ident == item) => {
                skip_item(&mut tokens);
                next_may_begin_an_item = true;
            }
            TokenTree::Punct(punct) if punct.as_char() == '!' && after_name => {
                if let Some(TokenTree::Group(input)) = tokens.peek() {
                    // `m! { ... }` ends its statement, as an item would.
                    next_may_begin_an_item = input.delimiter() == Delimiter::Brace;
                    tokens.next();
                }
            }
            TokenTree::Group(group) => {
                if let Some(at) = self_outside_items(group.stream()) {
                    return Some(at);
                }
            }
            _ => {}
        }
        after_name = name;
        item_may_begin = next_may_begin_an_item;
    }
    None
}

/// Passes over an item's tokens up to and with its body (`{ ... }`), or
/// the `;` of one without; angle brackets are counted, so that a
/// `{ 2 }` in its generics (`impl Grid<{ 2 }>`) is not taken for it.
fn skip_item(tokens: &mut impl Iterator<Item = TokenTree>) {
    let mut depth = 0usize;
    // The last token was a joint `-` or `=`: a `>` closes `->` or `=>`.
    let mut arrow = false;
    for token in tokens {
        let TokenTree::Punct(punct) = &token else {
            if depth == 0
                && matches!(&token, TokenTree::Group(g) if g.delimiter() == Delimiter::Brace)
            {
                return;
            }
            arrow = false;
            continue;
        };
        match punct.as_char() {
            '<' => depth += 1,
            '>' if !arrow => depth = depth.saturating_sub(1),
            ';' if depth == 0 => return,
            _ => {}
        }
        arrow =
            matches!(punct.as_char(), '-' | '=') && punct.spacing() == proc_macro2::Spacing::Joint;
    }
}

/// The keywords a `!` (not) may follow in an expression.
const BEFORE_A_NOT: [&str; 9] = [
    "if", "while", "match", "return", "in", "else", "break", "let", "mut",
];

/// The keywords of the items inside which `Self` is their own.
const HAS_ITS_OWN_SELF: [&str; 6] = ["impl", "trait", "struct", "enum", "union", "macro_rules"];

/// Checks that the signature is one the expansion can call: `fn main`,
/// plain or `async`, with no parameter or one (the `Context`). The return
/// type is left to the runtime's `MainResult` bound.
pub(crate) fn check(sig: &Signature) -> syn::Result<()> {
    let mut errors = Errors::default();
    let name = sig.ident.unraw();
    if name != "main" {
        // On the wrong function (a method, a helper): where it goes is all
        // there is to say; `main`'s own rules would read as about this one.
        return Err(syn::Error::new(
            sig.ident.span(),
            format!("#[littleboss::main] goes on `fn main`, not on `fn {name}`"),
        ));
    }
    if let Some(token) = &sig.constness {
        errors.on(token, "`main` cannot be `const`");
    }
    if let Safety::Unsafe(token) = &sig.safety {
        errors.on(token, "`main` cannot be `unsafe`");
    }
    if let Some(abi) = &sig.abi {
        errors.on(abi, "`main` cannot be `extern`");
    }
    if !sig.generics.params.is_empty() {
        errors.on(&sig.generics, "`main` cannot be generic");
    } else if let Some(clause) = &sig.generics.where_clause {
        errors.on(clause, "`main` cannot have a `where` clause");
    }
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        errors.on(receiver, "`main` cannot take `self`");
    }
    // Seen before rustc strips it: a `cfg` that takes the parameter away
    // would leave the call littleboss makes with an argument too many.
    if let Some(FnArg::Typed(parameter)) = sig.inputs.first() {
        // Also one a `cfg_attr` applies (not its lint levels).
        let conditional = (parameter.attrs.iter()).find(|a| is_or_applies_cfg(&a.meta));
        if let Some(attr) = conditional {
            errors.on(
                attr,
                "`main`'s parameter cannot be conditional: put the `cfg` on all of `main` \
                 (or take `_: littleboss::Context` in every configuration)",
            );
        }
    }
    if sig.inputs.len() > 1 {
        let extra = sig.inputs.iter().skip(1);
        errors.on(
            quote::quote!(#(#extra),*),
            "`main` takes at most one parameter, the `littleboss::Context`",
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.on(variadic, "`main` cannot be variadic");
    }
    errors.finish()
}

/// The attributes a `cfg_attr`'s arguments (`CONDITION, ATTR, ...`)
/// apply; `None` where they do not read so. The condition is passed over
/// as tokens (`true` is no path that `Meta` reads).
pub(crate) fn cfg_attr_applied(
    args: TokenStream,
) -> Option<syn::punctuated::Punctuated<syn::Meta, syn::Token![,]>> {
    use syn::parse::{ParseStream, Parser};
    let parser = |input: ParseStream| {
        while !input.is_empty() && !input.peek(syn::Token![,]) {
            input.parse::<proc_macro2::TokenTree>()?;
        }
        if !input.is_empty() {
            input.parse::<syn::Token![,]>()?;
        }
        syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated(input)
    };
    parser.parse2(args).ok()
}

/// Whether a `cfg_attr`'s arguments apply a `cfg`, themselves or through
/// a `cfg_attr` inside.
fn applies_cfg(args: TokenStream) -> bool {
    cfg_attr_applied(args).is_some_and(|applied| applied.iter().any(is_or_applies_cfg))
}

/// Whether `meta` is a `cfg`, or a `cfg_attr` that applies one.
fn is_or_applies_cfg(meta: &syn::Meta) -> bool {
    match meta {
        syn::Meta::List(list) if list.path.is_ident("cfg_attr") => applies_cfg(list.tokens.clone()),
        meta => meta.path().is_ident("cfg"),
    }
}

#[cfg(test)]
mod tests {
    use super::is_main_without_body;

    #[test]
    fn a_conditional_parameter_is_refused_and_a_lint_level_is_not() {
        let checked = |s: &str| {
            let f: syn::ItemFn = syn::parse_str(s).unwrap();
            super::check(&f.sig).map_err(|e| e.to_string())
        };
        let e = checked(r#"fn main(#[cfg(feature = "ctl")] ctx: littleboss::Context) {}"#);
        assert!(
            e.as_ref()
                .unwrap_err()
                .starts_with("`main`'s parameter cannot be conditional"),
            "{e:?}"
        );
        assert_eq!(
            checked("fn main(#[allow(unused)] ctx: littleboss::Context) {}"),
            Ok(())
        );
        let lint = r#"fn main(#[cfg_attr(test, allow(unused))] ctx: littleboss::Context) {}"#;
        assert_eq!(checked(lint), Ok(()));
        for applied in [
            "test, cfg(unix)",
            "true, cfg(unix)",
            "unix, cfg_attr(test, cfg(unix))",
        ] {
            let f = format!("fn main(#[cfg_attr({applied})] ctx: littleboss::Context) {{}}");
            let e = checked(&f);
            assert!(
                e.as_ref()
                    .is_err_and(|e| e.starts_with("`main`'s parameter cannot be conditional")),
                "{applied}: {e:?}"
            );
        }
        let lints = "fn main(#[cfg_attr(all(unix, test), allow(unused, dead_code),)] ctx: littleboss::Context) {}";
        assert_eq!(checked(lints), Ok(()));
    }

    #[test]
    fn only_main_declared_without_a_body_is_told() {
        let told = |s: &str| is_main_without_body(&s.parse().unwrap());
        assert!(told("async fn main(ctx: littleboss::Context);"));
        assert!(told("#[cfg(unix)] pub fn r#main() -> Result<(), E>;"));
        // With a body (another error of its), another name, a method.
        assert!(!told("async fn main() {}"));
        assert!(!told("async fn run();"));
        assert!(!told("fn main(&self);"));
        assert!(!told("struct Main;"));
    }

    #[test]
    fn self_is_found_outside_items_of_its_own_only() {
        let found = |code: &str| {
            let tokens: proc_macro2::TokenStream = code.parse().unwrap();
            super::self_outside_items(tokens).is_some()
        };
        assert!(found("{ Self::setup(); }"));
        // A macro's input is its own.
        assert!(!found(
            "{ let x = vec![Self::new()]; println!(\"{}\", stringify!(Self)); }"
        ));
        assert!(found("{ let b = a != Self::X; }"));
        assert!(found("{ if !(Self::ready()) {} }"));
        assert!(found("(x: Self) {}"));
        assert!(!found("{ impl Node { fn new() -> Self { Self } } }"));
        assert!(!found("{ struct Node { next: Option<Box<Self>> } }"));
        assert!(!found("{ trait Made { fn made() -> Self; } }"));
        assert!(!found("{ macro_rules! m { () => { Self::x() } } }"));
        // After an item of its own, still found.
        assert!(found("{ enum E { A(Box<Self>) } Self::go(); }"));
        assert!(!found("{ let self_ = 1; }"));
        // Braces in an item's generics are not its body.
        assert!(!found(
            "{ struct Grid<const N: usize>; impl Grid<{ 2 }> { fn new() -> Self { Grid } } }"
        ));
        assert!(!found(
            "{ struct Buf<const N: usize = { 4 }> { next: Option<Box<Self>> } }"
        ));
        assert!(!found(
            "{ impl<T> X<T> where T: Fn() -> u8 { fn x() -> Self { todo!() } } }"
        ));
        // A weak keyword as a name: what follows is looked at.
        assert!(found("{ let union = 1; Self::go(); }"));
        assert!(found("{ let n = a.union(&b).count() < 3; Self::go(); }"));
        assert!(found("{ union(1) < 2; Self::go(); }"));
        assert!(!found("{ union U { a: u8, b: Box<Self> } }"));
        assert!(!found("{ x(); union U<T> { a: T, b: Option<Box<Self>> } }"));
        assert!(!found("{ pub union U { a: u8, b: Box<Self> } }"));
        assert!(!found("{ #[repr(C)] pub(crate) union U { b: Box<Self> } }"));
        assert!(found("{ let n = union as u64; Self::go(); }"));
        assert!(found("{ for union in xs { Self::go(); } }"));
        assert!(found("{ let Some(v) = union else { Self::go() }; }"));
        assert!(found(
            "{ match x { union if union > 0 => Self::go(), _ => {} } }"
        ));
        // `impl` in a type is no item: the body after it is looked at.
        assert!(found(
            "async fn main() -> Result<(), impl Display> { Self::setup(); }"
        ));
        assert!(found("fn main() -> impl MainResult { Self::go() }"));
        assert!(found(
            "{ let f: Box<dyn Fn(impl X)>; let g: &impl Y = &1; Self::go(); }"
        ));
        // An item after a statement, an attribute or `unsafe` still is.
        assert!(!found("{ x(); impl A { fn a() -> Self { Self } } }"));
        assert!(!found("{ #[allow(x)] impl A { fn a() -> Self { Self } } }"));
        assert!(!found("{ unsafe impl Send for A { } fn b() -> A { A } }"));
        assert!(!found(
            "{ default impl<T> A for T { fn a() -> Self { todo!() } } }"
        ));
        assert!(!found("{ {} impl A { fn a() -> Self { Self } } }"));
        // After a macro called with braces (`thread_local! { ... }`), its
        // own statement: an `impl` there is an item.
        assert!(!found("{ m! { A } impl A { fn a() -> Self { Self } } }"));
        assert!(!found("{ m!(A); impl A { fn a() -> Self { Self } } }"));
        // Called with parentheses in an expression: a `Self` after it is
        // still found.
        assert!(found("{ let x = m!(a); Self::go(); }"));
    }
}
