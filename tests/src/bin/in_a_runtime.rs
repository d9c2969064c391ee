//! A builder program whose `main` is `#[tokio::main]`, calling `run`
//! inside that runtime: refused, in every mode, as a usage mistake.

#[tokio::main(flavor = "current_thread")]
async fn main() {
    littleboss::Littleboss::new("in_a_runtime")
        .listener("addr", "tcp:127.0.0.1:0")
        .run_sync(|_ctx: littleboss::Context| println!("main ran"))
}
