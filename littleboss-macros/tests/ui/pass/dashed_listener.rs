//! Listener names with dashes, as the builder and the command line take
//! them (`-admin-http=:9000`), though they are not Rust identifiers.

#[littleboss::main(
    name = "ui-dashed-listener",
    listener(admin-http = "tcp:127.0.0.1:0", v2-api = "tcp:")
)]
async fn main(ctx: littleboss::Context) {
    assert!(ctx.tcp("admin-http").is_some());
    assert!(ctx.tcp("v2-api").is_none());
    assert!(ctx.flags_help().contains("-admin-http=ADDR"));
}
