//! `restart_limit` with `persist`. Run with no arguments, the program runs
//! `main` directly (bypass mode).

#[littleboss::main(name = "ui-restart-limit", persist = true, restart_limit = "3 in 1.5m")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
