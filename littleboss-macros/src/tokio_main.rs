//! `#[tokio::main]` stacked with `#[littleboss::main]`: littleboss runs the
//! tokio runtime itself, so one clear error replaces tokio's misleading
//! "the `async` keyword is missing" (or a second, unwanted runtime).

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::Attribute;

use crate::signature::MainFn;

const REMOVE: &str = "remove `#[tokio::main]`: littleboss runs the tokio runtime itself; \
                      choose it with `flavor` and `worker_threads` in `#[littleboss::main(...)]`";

/// The errors for a `#[tokio::main]`, another entry-point attribute or a
/// test attribute on `f`, one for each, which it takes away so that the
/// fallback output adds no error of theirs; told at once, not one a
/// compile.
///
/// Below ours, the attribute is still there. Above ours, tokio has already
/// turned `async fn main` into a plain `fn main` that builds a runtime and
/// blocks on the body: `main` would run on that second runtime, ignoring
/// the one littleboss set up (`flavor`, `worker_threads`). That body is
/// recognised by tokio's own `expect` message; a sync `main` that builds a
/// runtime by hand (for options littleboss does not offer) is left alone.
pub(crate) fn take(f: &mut MainFn) -> Vec<syn::Error> {
    // Not said twice to remove `#[tokio::main]`.
    let tokio_told = f.attrs.iter().any(is_tokio_main);
    // Each taken away as it is told: the loop ends.
    let mut errors: Vec<syn::Error> = std::iter::from_fn(|| take_attribute(f)).collect();
    if !tokio_told && f.sig.asyncness.is_none() && expanded_by_tokio(f.body.stream()) {
        let message = format!(
            "`#[tokio::main]` above `#[littleboss::main]` made this `main` build a second \
             tokio runtime, which would leave littleboss's own unused: {REMOVE}"
        );
        errors.push(syn::Error::new(Span::call_site(), message));
    }
    errors
}

/// The error for the first attribute on `f` that [`take`] refuses, which
/// it removes.
fn take_attribute(f: &mut MainFn) -> Option<syn::Error> {
    if let Some(at) = f.attrs.iter().position(is_tokio_main) {
        let attr = f.attrs.remove(at);
        return Some(syn::Error::new_spanned(attr, REMOVE));
    }
    let entry = f
        .attrs
        .iter()
        .enumerate()
        .find_map(|(at, a)| entry_attribute(a).map(|p| (at, p)));
    if let Some((at, path)) = entry {
        let attr = f.attrs.remove(at);
        let ours = path == "littleboss::main"
            || path.ends_with("::littleboss::main")
            || crate_path(&attr).is_some_and(|krate| path == format!("{krate}::main"));
        let message = if ours {
            "`#[littleboss::main]` is given twice: keep one (one service, one supervisor)"
                .to_owned()
        } else if path != "main" && has_our_keys(&attr) {
            // Most likely ours through a renamed import; told so, but not
            // as sure as by its path.
            format!(
                "remove this `#[{path}]`: it takes `#[littleboss::main]`'s arguments, so it is most \
                 likely `#[littleboss::main]` renamed, given twice (one service, one supervisor)"
            )
        } else if path == "main" {
            // Imported: ours again (`use littleboss::main`), or another
            // crate's under that name; neither belongs here.
            "remove this second `#[main]`: `#[littleboss::main]` must be the only entry-point \
             attribute on `main` (one service, one supervisor, on the tokio runtime littleboss \
             runs)"
                .to_owned()
        } else {
            format!(
                "remove `#[{path}]`: littleboss calls `main` itself, on the tokio runtime it \
                 runs (`flavor` and `worker_threads` in `#[littleboss::main(...)]` choose it); \
                 another entry-point attribute would wrap or replace that"
            )
        };
        return Some(syn::Error::new_spanned(attr, message));
    }
    let test = (f.attrs.iter().enumerate()).find_map(|(at, a)| test_attribute(a).map(|p| (at, p)));
    if let Some((at, path)) = test {
        let attr = f.attrs.remove(at);
        let message = format!(
            "remove `#[{path}]`: a littleboss `main` is the program's entry point, not a test \
             (outside tests the attribute compiles it out, and the `main` littleboss generates \
             would then call itself); test the functions it calls instead"
        );
        return Some(syn::Error::new_spanned(attr, message));
    }
    None
}

/// The path, as written, of a test attribute (`#[test]`, `#[bench]`, the
/// async runtimes' and the test crates' own) on `main`: kept on the `main`
/// littleboss calls, it would be compiled out of a normal build, and the
/// call left to name the generated `main`. Any path ending in `test` or
/// `bench` (`test_log::test`, `sqlx::test`): an attribute so named that is
/// no test's is far less likely on `main` than a test crate's.
fn test_attribute(attr: &Attribute) -> Option<String> {
    const OTHERS: [&str; 5] = [
        "rstest",
        "rstest::rstest",
        "test_case",
        "test_case::test_case",
        "wasm_bindgen_test",
    ];
    let path = attr.path();
    let last = path.segments.last().map(|s| s.ident.to_string());
    let words = joined(path);
    (matches!(last.as_deref(), Some("test" | "bench")) || OTHERS.contains(&words.as_str())).then(
        || {
            let lead = if path.leading_colon.is_some() {
                "::"
            } else {
                ""
            };
            format!("{lead}{words}")
        },
    )
}

/// `path`'s segments joined by `::`, without a leading `::`.
fn joined(path: &syn::Path) -> String {
    let words: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    words.join("::")
}

/// `#[tokio::main]`, `#[::tokio::main(...)]`.
fn is_tokio_main(attr: &Attribute) -> bool {
    let segments = &attr.path().segments;
    segments.len() == 2 && segments[0].ident == "tokio" && segments[1].ident == "main"
}

/// The path of another entry-point attribute on `main`, as written: a
/// second `#[littleboss::main]`, `#[actix_web::main]`, `#[async_std::main]`
/// (rustc has applied any `cfg_attr` before we see the item), or an
/// imported one, `#[main]` (rustc has no attribute of that name). Below
/// ours it would be kept on the `main` littleboss calls, and expand there:
/// a second supervisor inside the first, or another runtime.
fn entry_attribute(attr: &Attribute) -> Option<String> {
    let segments = &attr.path().segments;
    if segments.last().is_none_or(|s| s.ident != "main") {
        return None;
    }
    Some(joined(attr.path()))
}

/// Whether an attribute's arguments are ours: a `name` and only keys
/// `#[littleboss::main]` takes, as through a renamed import (`use
/// littleboss as lb;`, then `#[lb::main(name = "svc")]`), which no path
/// tells.
fn has_our_keys(attr: &Attribute) -> bool {
    use syn::punctuated::Punctuated;
    let parsed = attr.parse_args_with(Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated);
    let Ok(items) = parsed else {
        return false;
    };
    let keys: Vec<String> = (items.iter())
        .filter_map(|item| item.path().get_ident().map(ToString::to_string))
        .collect();
    keys.len() == items.len()
        && keys.iter().any(|k| k == "name")
        && keys.iter().all(|k| crate::attr::KEYS.contains(&k.as_str()))
}

/// The `crate = "PATH"` an attribute's arguments give, without a leading
/// `::` or spaces: a renamed littleboss (`#[lb::main(crate = "lb")]`).
fn crate_path(attr: &Attribute) -> Option<String> {
    let syn::Meta::List(list) = &attr.meta else {
        return None;
    };
    let trees = without_invisible_groups(list.tokens.clone());
    trees.windows(3).find_map(|w| match w {
        [
            TokenTree::Ident(key),
            TokenTree::Punct(eq),
            TokenTree::Literal(value),
        ] if key == "crate" && eq.as_char() == '=' => {
            let value = syn::parse_str::<syn::LitStr>(&value.to_string())
                .ok()?
                .value();
            let path: String = value.split_whitespace().collect();
            Some(path.trim_start_matches("::").to_owned())
        }
        _ => None,
    })
}

/// `tokens` with the invisible groups a `macro_rules!` fragment makes
/// (`crate = $krate`) opened, so that their tokens read as written.
fn without_invisible_groups(tokens: TokenStream) -> Vec<TokenTree> {
    let mut trees = Vec::new();
    for tree in tokens {
        match tree {
            TokenTree::Group(group) if group.delimiter() == proc_macro2::Delimiter::None => {
                trees.extend(without_invisible_groups(group.stream()));
            }
            tree => trees.push(tree),
        }
    }
    trees
}

/// The message tokio's `#[tokio::main]` expansion builds its runtime with
/// (tokio-macros 2.x).
const TOKIO_EXPECT: &str = "\"Failed building the Runtime\"";

/// Whether `body` is what `#[tokio::main]` generates: it begins as
/// tokio's expansion does (`let body = async { .. };`), blocks on a
/// runtime, and either builds it with tokio's own `expect` message or
/// rebinds `body` as tokio does (`let body = { .. };`, its type check), so
/// that a new wording of that message alone does not hide it. A runtime
/// built by hand, with tokio's message copied from `cargo expand`, is not
/// taken for it.
fn expanded_by_tokio(body: TokenStream) -> bool {
    let top: Vec<String> = body.clone().into_iter().map(|t| t.to_string()).collect();
    let starts_like_tokio = top.starts_with(&["let", "body", "=", "async"].map(String::from));
    let rebinds = top
        .windows(4)
        .skip(1)
        .any(|w| w[..3] == ["let", "body", "="] && w[3].starts_with('{'));
    let mut block_on = false;
    let mut expect = false;
    visit(body, &mut |token| match token {
        TokenTree::Ident(ident) => block_on |= ident == "block_on",
        TokenTree::Literal(literal) => expect |= literal.to_string() == TOKIO_EXPECT,
        _ => {}
    });
    starts_like_tokio && block_on && (expect || rebinds)
}

/// Calls `each` on every token of `tokens`, inside groups too.
fn visit(tokens: TokenStream, each: &mut impl FnMut(&TokenTree)) {
    for token in tokens {
        each(&token);
        if let TokenTree::Group(group) = &token {
            visit(group.stream(), each);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(item: TokenStream) -> Option<String> {
        let mut f: MainFn = syn::parse2(item).unwrap();
        told(&mut f).into_iter().next()
    }

    /// What [`take`] tells of `f`, in words.
    fn told(f: &mut MainFn) -> Vec<String> {
        take(f).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_attribute_in_the_way_is_told_at_once() {
        let mut f: MainFn = syn::parse2(quote::quote! {
            #[tokio::main]
            #[test]
            #[actix_web::main]
            #[inline]
            async fn main() {}
        })
        .unwrap();
        let told = told(&mut f);
        assert_eq!(told.len(), 3, "{told:?}");
        assert_eq!(told[0], REMOVE);
        assert!(
            told[1].starts_with("remove `#[actix_web::main]`"),
            "{}",
            told[1]
        );
        assert!(told[2].starts_with("remove `#[test]`"), "{}", told[2]);
        // Taken away, the rest kept.
        assert_eq!(f.attrs.len(), 1);
    }

    #[test]
    fn tokio_main_below_is_taken_away() {
        let mut f: MainFn = syn::parse2(quote::quote! {
            #[tokio::main(flavor = "current_thread")]
            #[inline]
            async fn main() {}
        })
        .unwrap();
        assert_eq!(take(&mut f)[0].to_string(), REMOVE);
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
    fn a_renamed_littleboss_given_twice_is_said_so() {
        let twice = "`#[littleboss::main]` is given twice: keep one (one service, one supervisor)";
        for item in [
            quote::quote! {
                #[lb::main(name = "b", crate = "lb")]
                fn main() {}
            },
            quote::quote! {
                #[framework::lb::main(crate = ":: framework::lb", name = "b")]
                fn main() {}
            },
        ] {
            assert_eq!(error(item).as_deref(), Some(twice));
        }
        // Its `crate` given through a `macro_rules!` fragment, which
        // wraps it in an invisible group: read as written.
        let krate = proc_macro2::Group::new(proc_macro2::Delimiter::None, quote::quote!("lb"));
        let item = quote::quote! {
            #[lb::main(name = "b", crate = #krate)]
            fn main() {}
        };
        assert_eq!(error(item).as_deref(), Some(twice));
        // Renamed by an import, with no `crate`: told by its keys.
        let imported = error(quote::quote! {
            #[lb::main(name = "b", listener(http = "tcp::80"))]
            fn main() {}
        })
        .unwrap();
        assert!(
            imported.starts_with("remove this `#[lb::main]`"),
            "{imported}"
        );
        assert!(imported.contains("renamed, given twice"), "{imported}");
        // Another entry point that names some other crate stays another,
        // with keys of its own too.
        for item in [
            quote::quote! {
                #[actix_web::main(crate = "lb")]
                fn main() {}
            },
            quote::quote! {
                #[actix_web::main(name = "b", system = "x")]
                fn main() {}
            },
        ] {
            let other = error(item).unwrap();
            assert!(other.starts_with("remove `#[actix_web::main]`"), "{other}");
        }
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
            message.starts_with("`#[tokio::main]` above `#[littleboss::main]`"),
            "{message}"
        );
        assert!(message.ends_with(REMOVE), "{message}");
        // A later tokio that words its message otherwise: by its shape.
        let reworded = quote::quote! {
            fn main() {
                let body = async { println!("hi") };
                let body = { body };
                return tokio::runtime::Builder::new_multi_thread().enable_all().build()
                    .expect("runtime").block_on(body);
            }
        };
        assert_eq!(error(reworded).as_deref(), Some(message.as_str()));
        // With a test attribute tokio kept: both told at once.
        let mut tested: MainFn = syn::parse2(quote::quote! {
            #[test]
            fn main() {
                let body = async { println!("hi") };
                let body = { body };
                return tokio::runtime::Builder::new_multi_thread().enable_all().build()
                    .expect("runtime").block_on(body);
            }
        })
        .unwrap();
        let told = told(&mut tested);
        assert_eq!(told.len(), 2, "{told:?}");
        assert!(told[0].starts_with("remove `#[test]`"), "{}", told[0]);
        assert_eq!(told[1], message);
        // A hand-written runtime that happens to name its future `body`.
        let by_hand = quote::quote! {
            fn main() {
                let body = async { println!("hi") };
                tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(body);
            }
        };
        assert_eq!(error(by_hand), None);
    }

    #[test]
    fn another_entry_attribute_below_is_taken_away() {
        let twice = error(quote::quote!(
            #[littleboss::main(name = "b")]
            fn main() {}
        ))
        .unwrap();
        assert!(
            twice.starts_with("`#[littleboss::main]` is given twice"),
            "{twice}"
        );
        for other in [
            quote::quote!(
                #[actix_web::main]
                async fn main() {}
            ),
            quote::quote!(
                #[::async_std::main]
                async fn main() {}
            ),
        ] {
            let message = error(other).unwrap();
            assert!(message.starts_with("remove `#["), "{message}");
            assert!(
                message.contains("::main]`: littleboss calls `main` itself"),
                "{message}"
            );
        }
        // Imported (`use littleboss::main`, given twice): one all the same.
        let bare = error(quote::quote!(
            #[main]
            fn main() {}
        ))
        .unwrap();
        assert!(bare.starts_with("remove this second `#[main]`"), "{bare}");
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
        // A runtime built by hand in a sync `main` works (littleboss only
        // enters its own runtime there, it does not block on it).
        let by_hand = quote::quote! {
            fn main() {
                tokio::runtime::Builder::new_current_thread().build().unwrap()
                    .block_on(async {});
            }
        };
        assert_eq!(error(by_hand), None);
        // So does one that copies tokio's message from `cargo expand`.
        let copied = quote::quote! {
            fn main() {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()
                    .expect("Failed building the Runtime");
                rt.block_on(async {});
            }
        };
        assert_eq!(error(copied), None);
    }
}
