//! Trailing commas, at the top and in a listener group, as rustfmt and
//! many hands write them.

#[littleboss::main(
    name = "ui-trailing-commas",
    listener(http = "tcp:127.0.0.1:0", admin-http = "tcp:",),
    lameduck = "1s",
)]
async fn main(ctx: littleboss::Context) {
    assert!(ctx.tcp("http").is_some());
    assert!(ctx.tcp("admin-http").is_none());
}
