//! `#[tokio::main]` stacked with `#[littleboss::main]`: littleboss runs the
//! tokio runtime itself, so one clear error replaces tokio's misleading
//! "the `async` keyword is missing" (or a second, unwanted runtime).

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::Attribute;

use crate::signature::MainFn;

const REMOVE: &str = "remove `#[tokio::main]`: littleboss runs the tokio runtime itself; \
                      choose it with `flavor` and `worker_threads` in `#[littleboss::main(...)]`";

/// The error for a `#[tokio::main]` on `f`, which it takes away so that the
/// fallback output adds no error of tokio's.
///
/// Below ours, the attribute is still there. Above ours, tokio has already
/// turned `async fn main` into a plain `fn main` that builds a runtime and
/// blocks on the body: `main` would run on that second runtime, ignoring
/// the one littleboss set up (`flavor`, `worker_threads`). Such a body is
/// refused whoever wrote it; littleboss's runtime is the one to use.
pub(crate) fn take(f: &mut MainFn) -> Option<syn::Error> {
    if let Some(at) = f.attrs.iter().position(is_tokio_main) {
        let attr = f.attrs.remove(at);
        return Some(syn::Error::new_spanned(attr, REMOVE));
    }
    if f.sig.asyncness.is_none() && builds_a_runtime(f.body.stream()) {
        // Written by hand or by tokio's macro, it would panic the same way:
        // a sync `main` runs inside littleboss's runtime, where a second
        // `block_on` is refused.
        let message = format!(
            "this `main` builds a tokio runtime and blocks on it, which panics inside the \
             runtime littleboss runs `main` in: if `#[tokio::main]` sits above \
             `#[littleboss::main]`, {REMOVE}; if the runtime is written by hand, make `main` \
             `async` and drop the runtime"
        );
        return Some(syn::Error::new(Span::call_site(), message));
    }
    None
}

/// `#[tokio::main]`, `#[::tokio::main(...)]`.
fn is_tokio_main(attr: &Attribute) -> bool {
    let segments = &attr.path().segments;
    segments.len() == 2 && segments[0].ident == "tokio" && segments[1].ident == "main"
}

/// Whether `body` names `runtime::Builder` and calls `block_on`: what
/// `#[tokio::main]` generates.
fn builds_a_runtime(body: TokenStream) -> bool {
    let mut idents = Vec::new();
    collect_idents(body, &mut idents);
    let builder = idents
        .windows(2)
        .any(|w| w[0] == "runtime" && w[1] == "Builder");
    builder && idents.iter().any(|i| i == "block_on")
}

fn collect_idents(tokens: TokenStream, idents: &mut Vec<String>) {
    for token in tokens {
        match token {
            TokenTree::Ident(ident) => idents.push(ident.to_string()),
            TokenTree::Group(group) => collect_idents(group.stream(), idents),
            TokenTree::Punct(_) | TokenTree::Literal(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(item: TokenStream) -> Option<String> {
        let mut f: MainFn = syn::parse2(item).unwrap();
        take(&mut f).map(|e| e.to_string())
    }

    #[test]
    fn tokio_main_below_is_taken_away() {
        let mut f: MainFn = syn::parse2(quote::quote! {
            #[tokio::main(flavor = "current_thread")]
            #[inline]
            async fn main() {}
        })
        .unwrap();
        assert_eq!(take(&mut f).unwrap().to_string(), REMOVE);
        assert_eq!(f.attrs.len(), 1);
        assert!(
            error(quote::quote!(
                #[::tokio::main]
                async fn main() {}
            ))
            .is_some()
        );
    }

    #[test]
    fn tokio_main_above_is_recognised_by_its_body() {
        let expanded = quote::quote! {
            fn main() {
                let body = async { println!("hi") };
                {
                    use tokio::runtime::Builder;
                    return Builder::new_multi_thread().enable_all().build()
                        .expect("Failed building the Runtime").block_on(body);
                }
            }
        };
        let message = error(expanded).unwrap();
        assert!(
            message.starts_with("this `main` builds a tokio runtime"),
            "{message}"
        );
        assert!(message.contains(REMOVE), "{message}");
        assert!(message.ends_with("make `main` `async` and drop the runtime"));
    }

    #[test]
    fn other_mains_pass() {
        assert_eq!(
            error(quote::quote!(
                #[inline]
                async fn main() {}
            )),
            None
        );
        assert_eq!(
            error(quote::quote!(
                fn main() {
                    let _ = 1;
                }
            )),
            None
        );
        // An async main may use a runtime handle; only a sync one that
        // builds its own runtime and blocks on it is what tokio generated.
        let async_main = quote::quote! {
            async fn main() { let _ = tokio::runtime::Builder::new_current_thread(); }
        };
        assert_eq!(error(async_main), None);
    }
}
