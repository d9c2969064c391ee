// `#[tokio::main]` under littleboss's attribute: littleboss sees it still
// there and asks for it to go, instead of tokio's "the `async` keyword is
// missing" on the `fn main` littleboss generates.
#[littleboss::main(name = "svc")]
#[tokio::main]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
