/// On the wrong function: it is kept as it is, and a `main` comes in
/// through a glob import so that rustc does not add an error of its own.
#[littleboss::main(name = "svc")]
async fn serve(ctx: littleboss::Context) {
    let _ = ctx;
}
