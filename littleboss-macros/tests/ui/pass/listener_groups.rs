//! Listeners may come in several `listener(...)` groups, checked as one
//! list (a name declared in two groups is an error: see
//! `fail/duplicate_listener_across_groups.rs`).

#[littleboss::main(
    name = "ui-listener-groups",
    listener(http = "tcp:127.0.0.1:0"),
    lameduck = "1s",
    listener(admin = "tcp:", sock = "unix:"),
)]
async fn main(ctx: littleboss::Context) {
    assert!(ctx.tcp("http").is_some());
    assert!(ctx.tcp("admin").is_none());
    assert!(ctx.unix("sock").is_none());
}
