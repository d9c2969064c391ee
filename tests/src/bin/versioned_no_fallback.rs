//! A `versioned` binary like version 1 (it answers `nofallback PID`) that
//! turns fallback off: a reloaded child that dies within its probation is
//! not rolled back to it. Its supervisor does not upgrade itself in place
//! either, so that a reload to another binary, whose settings would apply
//! from the upgrade on, leaves these in force.

#[littleboss::main(
    name = "versioned",
    listener(addr = "tcp:127.0.0.1:0"),
    fallback = false,
    self_upgrade = false
)]
async fn main(ctx: littleboss::Context) {
    tests::fixture::serve_version(&ctx, "nofallback", "nofallback").await;
}
