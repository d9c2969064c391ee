//! A `versioned` binary that fails as soon as main starts.

#[littleboss::main(name = "versioned", listener(addr = "tcp:127.0.0.1:0"))]
async fn main(_ctx: littleboss::Context) {
    println!("failed to start version 2");
    std::process::exit(1);
}
