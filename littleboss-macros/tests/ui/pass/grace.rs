//! `grace`, the first-byte grace between draining and lameduck, beside
//! `lameduck`. Run with no arguments, the program runs `main` directly
//! (bypass mode).

#[littleboss::main(name = "ui-grace", lameduck = "10s", grace = "3500ms")]
async fn main(ctx: littleboss::Context) {
    assert_eq!(ctx.grace(), std::time::Duration::from_millis(3500));
}
