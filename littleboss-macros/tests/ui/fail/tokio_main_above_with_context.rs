// `#[tokio::main]` above littleboss's attribute, on a `main` that takes the
// `Context`: tokio reports its own error but still generates its body, so
// littleboss's error comes first, with the fix.
#[tokio::main]
#[littleboss::main(name = "svc")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
