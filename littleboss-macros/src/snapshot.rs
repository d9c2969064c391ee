//! Snapshots of the expansion. Each `tests/expand/NAME.rs` is a small
//! program with one `#[littleboss::main(...)]` function; expanded and
//! rendered with prettyplease it must equal `tests/expand/NAME.expanded.rs`.
//! `UPDATE_EXPAND=1 cargo test` rewrites the snapshots instead.
//!
//! This is a unit test, not a file in `tests/`, because a proc-macro crate
//! exports only its macros: an integration test could not call the
//! expansion.

use std::path::{Path, PathBuf};
use std::{env, fs};

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Item, Meta};

#[test]
fn expansions_match_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand");
    let update = env::var_os("UPDATE_EXPAND").is_some_and(|v| v == "1");
    let (mut inputs, mut snapshots): (Vec<PathBuf>, Vec<PathBuf>) = fs::read_dir(&dir)
        .expect("tests/expand exists")
        .map(|entry| entry.expect("readable directory").path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .partition(|path| !is_snapshot(path));
    inputs.sort();
    assert!(!inputs.is_empty(), "no inputs in {}", dir.display());

    let mut failures = Vec::new();
    for input in &inputs {
        let source = fs::read_to_string(input).expect("readable input");
        let expanded = expand_file(&source);
        let snapshot = input.with_extension("expanded.rs");
        snapshots.retain(|s| *s != snapshot);
        if update {
            fs::write(&snapshot, &expanded).expect("writable snapshot");
            continue;
        }
        match fs::read_to_string(&snapshot) {
            Ok(expected) if expected == expanded => {}
            Ok(_) => failures.push(format!(
                "{} changed; it now expands to:\n{expanded}",
                input.display()
            )),
            Err(_) => failures.push(format!("{} has no snapshot", input.display())),
        }
    }
    for stale in &snapshots {
        failures.push(format!("{} has no input", stale.display()));
    }
    assert!(
        failures.is_empty(),
        "{}\n\nIf the change is intended, rerun with UPDATE_EXPAND=1 and review the diff.",
        failures.join("\n\n")
    );
}

fn is_snapshot(path: &Path) -> bool {
    path.to_string_lossy().ends_with(".expanded.rs")
}

/// The file with its `#[littleboss::main]` function expanded, as
/// prettyplease prints it.
fn expand_file(source: &str) -> String {
    let mut file = syn::parse_file(source).expect("input parses");
    let mut items = Vec::new();
    for item in file.items {
        let Item::Fn(mut f) = item else {
            items.push(item);
            continue;
        };
        let Some(at) = f.attrs.iter().position(is_littleboss_main) else {
            items.push(Item::Fn(f));
            continue;
        };
        let args = match f.attrs.remove(at).meta {
            Meta::List(list) => list.tokens,
            _ => TokenStream::new(),
        };
        let expanded = crate::expand::main(args, f.into_token_stream());
        let expanded: syn::File = syn::parse2(expanded).expect("expansion parses");
        items.extend(expanded.items);
    }
    file.items = items;
    prettyplease::unparse(&file)
}

fn is_littleboss_main(attr: &syn::Attribute) -> bool {
    let segments: Vec<String> = attr
        .path()
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    segments == ["littleboss", "main"]
}
