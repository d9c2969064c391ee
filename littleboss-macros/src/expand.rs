//! Tokens out: a plain `fn main` that keeps the user's function as an inner
//! item and hands it to the runtime's builder.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::spanned::Spanned as _;
use syn::{FnArg, LitInt, ReturnType};

use crate::attr::{self, Args, Flavor, Listener, Options, Ready, Spanned};
use crate::errors::Errors;
use crate::signature::{self, MainFn};
use crate::tokio_main;

/// The whole macro, on `proc_macro2` tokens.
///
/// On error the output still holds the user's function, next to the
/// errors, so that IDEs keep resolving names in it (but for a `main`
/// declared without a body: see [`unparsed`]).
pub(crate) fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut f = match syn::parse2::<MainFn>(item.clone()) {
        Ok(f) => f,
        Err(error) => return unparsed(item, error),
    };
    let mut errors = Errors::default();
    for error in tokio_main::take(&mut f) {
        errors.push(error);
    }
    let (args, ready) = attr::parse(attr);
    let args = args.map_err(|e| errors.push(e)).ok();
    if let Err(error) = signature::check(&f.sig) {
        errors.push(error);
    }
    // One of `main`'s own rules: on another function, where the attribute
    // goes is all there is to say (see `signature::check`), and a method
    // is told it cannot take `self`.
    let on_main = f.sig.ident.unraw() == "main";
    let names_self = signature::self_outside_items(f.to_token_stream_of_sig_and_body());
    if let Some(at) = names_self.filter(|_| on_main && !f.has_receiver()) {
        errors.at(
            at,
            "`Self` names no type in `main`: a free `fn main` has none, and #[littleboss::main] cannot go on one in an `impl` or trait (it wraps `main` in a `fn main` of its own)",
        );
    }
    let ready = ready.as_ref();
    // `_: littleboss::Context` takes the context and drops it.
    let no_context = match f.sig.inputs.first() {
        None => true,
        Some(syn::FnArg::Typed(arg)) => {
            matches!(signature::unparenthesized(&arg.pat), syn::Pat::Wild(_))
        }
        Some(syn::FnArg::Receiver(_)) => false,
    };
    if let Some(ready) = ready.filter(|r| r.value == Ready::Manual && no_context && on_main) {
        errors.at(
            ready.span,
            "`ready = \"manual\"` needs `main(ctx: littleboss::Context)`, to call `ctx.ready()`: without it the program can never say it is ready",
        );
    }
    match (errors.finish(), args) {
        (Ok(()), Some(args)) => expand(&args, &f),
        (Err(error), _) => fallback(&f, error, names_self.is_some()),
        (Ok(()), None) => unreachable!("a failed parse pushed its error"),
    }
}

/// ```text
/// #[cfg, doc and lint attributes]
/// fn main() {
///     #[the other attributes]
///     async fn main(ctx: littleboss::Context) { /* as written */ }
///     ::littleboss::Littleboss::new("name") /* .key(value) */
///         .run(|__littleboss_ctx: ::littleboss::Context| main(__littleboss_ctx))
/// }
/// ```
///
/// The inner `main` shadows the outer one inside its body, so the user's
/// function keeps its own name (in backtraces, in `cargo expand`) without a
/// made-up one.
fn expand(args: &Args, f: &MainFn) -> TokenStream {
    let MainFn {
        attrs, vis, sig, ..
    } = f;
    let ident = &sig.ident;
    let item = f.inner_item();
    let krate = krate(args);
    let builder = builder(args);
    // An unsupported return type fails the runtime's `MainResult` bound on
    // `run`; spanning `run` on the return type puts that error there rather
    // than on the whole attribute.
    let run_span = match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => Span::call_site(),
    };
    let run = if sig.asyncness.is_some() {
        Ident::new("run", run_span)
    } else {
        Ident::new("run_sync", run_span)
    };
    // `fn main() -> !`: the closure returns `()`, which `!` becomes; left
    // to inference, its type would hang on the never type's fallback (an
    // error in edition 2024, a warning before).
    let never =
        sig.asyncness.is_none() && matches!(&sig.output, ReturnType::Type(_, ty) if is_never(ty));
    let returns = never.then(|| quote!(-> ()));
    let main = match sig.inputs.first() {
        None if never => quote!(|_: #krate::Context| #returns { #ident() }),
        None => quote!(|_: #krate::Context| #ident()),
        // The argument located at the parameter's type: a type that is not
        // the `Context` is a mismatch there, not on the whole attribute.
        // Its hygiene stays the closure's (call site): the type may come
        // from another context (a `macro_rules!` caller's).
        // Named so that no item of the user's (a `static ctx`, a unit
        // `struct ctx`) can take the parameter's place.
        Some(FnArg::Typed(param)) => {
            let located = Span::call_site().located_at(param.ty.span());
            let ctx = Ident::new("__littleboss_ctx", located);
            match never {
                true => quote!(|__littleboss_ctx: #krate::Context| #returns { #ident(#ctx) }),
                false => quote!(|__littleboss_ctx: #krate::Context| #ident(#ctx)),
            }
        }
        Some(FnArg::Receiver(_)) => quote!(#ident),
    };
    // Attributes that belong to the program's item stay on the generated
    // `fn main`; any other (an attribute macro such as
    // `#[tracing::instrument]`) was written for the user's function.
    let (outer, inner): (Vec<_>, Vec<_>) = attrs.iter().partition(|a| stays_outside(a));
    // A synchronous `main` is handed the `Context` by value, as its
    // signature must take it: clippy's pedantic `needless_pass_by_value`
    // would have it take a reference, which the call cannot give. (An
    // `async fn` is not linted so.)
    let by_value = (sig.asyncness.is_none()
        && matches!(sig.inputs.first(), Some(FnArg::Typed(_)))
        && !attrs.iter().any(expects_or_forbids_by_value_lint))
    .then(|| quote!(#[allow(clippy::needless_pass_by_value)]));
    quote! {
        #(#outer)*
        #vis fn #ident() {
            #(#inner)*
            #by_value
            #item
            #builder.#run(#main)
        }
    }
}

/// Whether `attr` expects or forbids clippy's `needless_pass_by_value`,
/// by name or as one of `clippy::pedantic`: our `allow` would leave the
/// program's `expect` unfulfilled, and is an error under its `forbid`.
/// (An `allow`, `warn` or `deny` of it, or a doc comment naming it, takes
/// ours: the signature is not the program's to change.)
fn expects_or_forbids_by_value_lint(attr: &syn::Attribute) -> bool {
    expects_or_forbids(&attr.meta)
}

/// `expect(...)` or `forbid(...)` naming the lint, or a `cfg_attr` giving
/// one (its condition passed over: `feature = "expect"` is no level).
fn expects_or_forbids(meta: &syn::Meta) -> bool {
    let syn::Meta::List(list) = meta else {
        return false;
    };
    if list.path.is_ident("cfg_attr") {
        let applied = crate::signature::cfg_attr_applied(list.tokens.clone());
        return applied.is_some_and(|items| items.iter().any(expects_or_forbids));
    }
    let parser = syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated;
    let Ok(items) = list.parse_args_with(parser) else {
        return false;
    };
    (list.path.is_ident("expect") || list.path.is_ident("forbid"))
        && items.iter().any(|item| match item {
            syn::Meta::Path(lint) => names_by_value_lint(lint),
            // `reason = "..."`.
            _ => false,
        })
}

/// `clippy::needless_pass_by_value`, or the group it is in.
fn names_by_value_lint(lint: &syn::Path) -> bool {
    let words: Vec<String> = (lint.segments.iter())
        .map(|s| s.ident.to_string())
        .collect();
    words.len() == 2
        && words[0] == "clippy"
        && matches!(words[1].as_str(), "needless_pass_by_value" | "pedantic")
}

/// The path to the runtime crate: `crate = "..."`, or `::littleboss`.
fn krate(args: &Args) -> TokenStream {
    match &args.options.krate {
        Some(path) => quote!(#path),
        None => quote!(::littleboss),
    }
}

/// Whether an attribute on `main` stays on the generated function: `cfg`
/// (the whole program's), doc comments, lint levels (which reach the
/// user's function inside it too), and a `cfg_attr` that gives only those.
fn stays_outside(attr: &syn::Attribute) -> bool {
    stays_outside_meta(&attr.meta)
}

fn stays_outside_meta(meta: &syn::Meta) -> bool {
    const OUTER: [&str; 7] = ["cfg", "doc", "allow", "warn", "deny", "forbid", "expect"];
    let Some(ident) = meta.path().get_ident() else {
        return false;
    };
    if ident == "cfg_attr" {
        // `cfg_attr(PREDICATE, ATTR, ...)`: outside if every ATTR is.
        let Ok(list) = meta.require_list() else {
            return true;
        };
        let applied = crate::signature::cfg_attr_applied(list.tokens.clone());
        return applied.is_some_and(|metas| metas.iter().all(stays_outside_meta));
    }
    OUTER.iter().any(|name| ident == name)
}

/// `::littleboss::Littleboss::new("name")` and one call per key the user
/// wrote, in a fixed order.
fn builder(args: &Args) -> TokenStream {
    let Args {
        name,
        options:
            Options {
                listeners,
                lameduck,
                grace,
                persist,
                restart_limit,
                fallback,
                self_upgrade,
                flag,
                supervisor_init,
                ready,
                ready_timeout,
                help,
                flavor,
                worker_threads,
                krate: _,
            },
    } = args;
    let krate = krate(args);
    let mut calls = quote!(#krate::Littleboss::new(#name));
    for Listener { name, spec, .. } in listeners {
        calls.extend(quote!(.listener(#name, #spec)));
    }
    if let Some(lameduck) = lameduck {
        let lameduck = millis(lameduck);
        calls.extend(quote!(.lameduck(#lameduck)));
    }
    if let Some(grace) = grace {
        let grace = millis(grace);
        calls.extend(quote!(.grace(#grace)));
    }
    if let Some(persist) = persist {
        calls.extend(quote!(.persist(#persist)));
    }
    if let Some(Spanned {
        value: (max, within),
        span,
    }) = restart_limit
    {
        let max = LitInt::new(&max.to_string(), *span);
        let within = millis(&Spanned {
            value: *within,
            span: *span,
        });
        calls.extend(quote!(.restart_limit(#max, #within)));
    }
    if let Some(fallback) = fallback {
        calls.extend(quote!(.fallback(#fallback)));
    }
    if let Some(self_upgrade) = self_upgrade {
        calls.extend(quote!(.self_upgrade(#self_upgrade)));
    }
    if let Some(flag) = flag {
        calls.extend(quote!(.flag(#flag)));
    }
    if let Some(init) = supervisor_init {
        calls.extend(quote!(.supervisor_init(#init)));
    }
    if let Some(ready) = ready {
        let variant = match ready.value {
            Ready::Auto => "Auto",
            Ready::Manual => "Manual",
        };
        let variant = Ident::new(variant, ready.span);
        calls.extend(quote!(.ready(#krate::Ready::#variant)));
    }
    if let Some(timeout) = ready_timeout {
        let timeout = millis(timeout);
        calls.extend(quote!(.ready_timeout(#timeout)));
    }
    if let Some(help) = help {
        calls.extend(quote!(.help(#help)));
    }
    if let Some(flavor) = flavor {
        let variant = match flavor.value {
            Flavor::CurrentThread => "CurrentThread",
            Flavor::MultiThread => "MultiThread",
        };
        let variant = Ident::new(variant, flavor.span);
        calls.extend(quote!(.flavor(#krate::Flavor::#variant)));
    }
    if let Some(threads) = worker_threads {
        let threads = LitInt::new(&threads.value.to_string(), threads.span);
        calls.extend(quote!(.worker_threads(#threads)));
    }
    calls
}

fn millis(duration: &Spanned<u64>) -> TokenStream {
    let millis = LitInt::new(&duration.value.to_string(), duration.span);
    // `::std`, as everywhere in the expansion (edition 2018 on: a 2015
    // crate would also need `extern crate littleboss;`).
    quote!(::std::time::Duration::from_millis(#millis))
}

/// What goes out when there are errors: the errors, and the user's function
/// where IDEs still see it, in a shape that adds no error of its own.
fn fallback(f: &MainFn, error: syn::Error, names_self: bool) -> TokenStream {
    let MainFn {
        attrs,
        vis,
        sig,
        body,
    } = f;
    let ident = &sig.ident;
    let error = error.into_compile_error();
    // A method (taking `self`), or a function naming its `impl`'s `Self`,
    // stays in its `impl` or trait: moved into a `fn main` it would only
    // add errors.
    let in_impl_or_trait = f.has_receiver() || names_self;
    if in_impl_or_trait {
        // In an `impl` or a trait, `main` or not: kept as it is,
        // where a module or an import would be errors of their own, and
        // a `fn main()` in its place would change the method.
        quote! {
            #(#attrs)* #vis #sig #body
            #error
        }
    } else if ident.unraw() == "main" {
        // Inside a plain `fn main()`: at the top level, an `async fn main`
        // would be an error of rustc's own. The attributes split as in a
        // good expansion: one written for the user's function (an
        // attribute macro wanting its parameter) must not add an error.
        let (outer, inner): (Vec<_>, Vec<_>) = attrs.iter().partition(|a| stays_outside(a));
        let item = f.inner_item();
        quote! {
            #(#outer)*
            #vis fn #ident() {
                #(#inner)* #item
            }
            #error
        }
    } else {
        // On another function: kept as it is. Lest rustc add "`main`
        // function not found", a `main` comes in through a glob import,
        // which a `fn main` of the user's, if any, shadows without conflict.
        let module = format_ident!("__littleboss_main_instead_of_{}", ident.unraw());
        quote! {
            #(#attrs)* #vis #sig #body
            mod #module {
                pub fn main() {}
            }
            use #module::*;
            #error
        }
    }
}

/// An item that is no function with a body, put back as written next to
/// `error`; but `main` declared without one is replaced by an empty plain
/// `fn main`: put back, it would add rustc's "free function without a
/// body" to ours, and, `async`, "`main` function is not allowed to be
/// `async`", which under this attribute it is.
fn unparsed(item: TokenStream, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    match signature::is_main_without_body(&item) {
        true => quote!(fn main() {} #error),
        false => quote!(#item #error),
    }
}

/// Whether `ty` is `!`, written so or in parentheses, or as a macro's
/// `$t` (an invisible group).
fn is_never(mut ty: &syn::Type) -> bool {
    loop {
        ty = match ty {
            syn::Type::Never(_) => return true,
            syn::Type::Paren(paren) => &paren.elem,
            syn::Type::Group(group) => &group.elem,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};

    #[test]
    fn a_cfg_attr_is_read_past_any_condition_even_true() {
        let meta = |s: &str| syn::parse_str::<syn::Meta>(s).unwrap();
        for condition in ["true", "feature = \"x\"", "all(unix, not(test))"] {
            let expect = format!("cfg_attr({condition}, expect(clippy::needless_pass_by_value))");
            assert!(super::expects_or_forbids(&meta(&expect)), "{expect}");
            let allow = format!("cfg_attr({condition}, allow(unused))");
            assert!(super::stays_outside_meta(&meta(&allow)), "{allow}");
            let other = format!("cfg_attr({condition}, inline)");
            assert!(!super::stays_outside_meta(&meta(&other)), "{other}");
        }
    }

    #[test]
    fn never_is_told_however_it_is_wrapped() {
        let ty = |s: &str| syn::parse_str::<syn::Type>(s).unwrap();
        assert!(super::is_never(&ty("!")));
        assert!(super::is_never(&ty("(!)")));
        // As `-> $t` from a `macro_rules!` gives it.
        let bang: TokenStream = "!".parse().unwrap();
        let group = TokenTree::Group(Group::new(Delimiter::None, bang));
        let grouped: syn::Type = syn::parse2(group.into()).unwrap();
        assert!(matches!(grouped, syn::Type::Group(_)));
        assert!(super::is_never(&grouped));
        assert!(!super::is_never(&ty("()")));
        assert!(!super::is_never(&ty("(u8)")));
    }

    #[test]
    fn a_sync_main_is_allowed_its_context_by_value_unless_it_names_the_lint() {
        let expanded = |item: &str| {
            super::main(r#"name = "svc""#.parse().unwrap(), item.parse().unwrap()).to_string()
        };
        let allowed =
            |item: &str| expanded(item).contains("allow (clippy :: needless_pass_by_value)");
        assert!(allowed("fn main(ctx: littleboss::Context) {}"));
        // Its own `expect` (kept on the outer `fn main`, over the inner
        // one) would be unfulfilled under an allow of ours.
        assert!(!allowed(
            "#[expect(clippy::needless_pass_by_value)] fn main(ctx: littleboss::Context) {}"
        ));
        assert!(!allowed(
            "#[expect(clippy::pedantic)] fn main(ctx: littleboss::Context) {}"
        ));
        assert!(!allowed(
            "#[forbid(clippy::needless_pass_by_value)] fn main(ctx: littleboss::Context) {}"
        ));
        assert!(!allowed(
            "#[cfg_attr(clippy, expect(clippy::needless_pass_by_value))] fn main(ctx: littleboss::Context) {}"
        ));
        // A doc comment naming it, a level ours may override, a reason's
        // words or a `cfg_attr`'s condition keep ours: the signature is not
        // the program's to change.
        assert!(allowed(
            "#[expect(dead_code, reason = \"not pedantic\")] fn main(ctx: littleboss::Context) {}"
        ));
        assert!(allowed(
            "#[cfg_attr(feature = \"expect\", deny(clippy::needless_pass_by_value))] fn main(ctx: littleboss::Context) {}"
        ));
        assert!(allowed(
            "#[cfg_attr(x, warn(clippy::pedantic), expect(unused))] fn main(ctx: littleboss::Context) {}"
        ));
        assert!(allowed(
            "/// Takes ctx by value (needless_pass_by_value).\nfn main(ctx: littleboss::Context) {}"
        ));
        assert!(allowed(
            "#[deny(clippy::needless_pass_by_value)] fn main(ctx: littleboss::Context) {}"
        ));
        assert!(!allowed("async fn main(ctx: littleboss::Context) {}"));
        assert!(!allowed("fn main() {}"));
    }
}
