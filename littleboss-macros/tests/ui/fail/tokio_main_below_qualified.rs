// `#[::tokio::main(flavor = "current_thread")]` under littleboss's
// attribute, written from the root and with arguments: still asked to go.
#[littleboss::main(name = "svc")]
#[::tokio::main(flavor = "current_thread")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
