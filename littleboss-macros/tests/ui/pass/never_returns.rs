// A `main` that never returns (it exits by itself) is accepted.
#[littleboss::main(name = "never-returns")]
fn main(ctx: littleboss::Context) -> ! {
    let _ = ctx;
    std::process::exit(0)
}
