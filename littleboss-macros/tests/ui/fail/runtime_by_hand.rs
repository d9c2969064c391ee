// A sync `main` that builds its own runtime and blocks on it: littleboss
// runs `main` inside its runtime, where the second `block_on` would panic.
// The message must not blame a `#[tokio::main]` nobody wrote.
#[littleboss::main(name = "svc")]
fn main() {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async { println!("hello") });
}
