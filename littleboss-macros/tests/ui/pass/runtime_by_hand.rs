// A sync `main` may build its own tokio runtime (for options littleboss
// does not offer) and block on it: littleboss only enters its runtime
// around a sync `main`, so this second `block_on` runs.
#[littleboss::main(name = "svc")]
fn main() {
    let answer = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async { 42 });
    assert_eq!(answer, 42);
}
