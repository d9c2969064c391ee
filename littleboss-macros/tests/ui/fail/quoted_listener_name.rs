// A listener name quoted, as the builder's string is: written unquoted.
#[littleboss::main(name = "svc", listener("admin-http" = "tcp::9000"))]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
