//! A `versioned` binary like version 1 (it answers `fixed PID`) that
//! turns the in-place upgrade off: its supervisor never re-executes
//! itself, and no supervisor re-executes itself from it.

#[littleboss::main(
    name = "versioned",
    listener(addr = "tcp:127.0.0.1:0"),
    self_upgrade = false
)]
async fn main(ctx: littleboss::Context) {
    tests::fixture::serve_version(&ctx, "fixed", "fixed").await;
}
