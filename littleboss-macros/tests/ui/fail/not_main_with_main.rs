// The attribute on the wrong function of a program that has a `main`.
#[littleboss::main(name = "svc")]
async fn serve(ctx: littleboss::Context) {
    let _ = ctx;
}

fn main() {}
