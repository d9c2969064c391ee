// A `main` that never returns and takes no context is accepted.
#[littleboss::main(name = "never-returns-no-context")]
fn main() -> ! {
    std::process::exit(0)
}
