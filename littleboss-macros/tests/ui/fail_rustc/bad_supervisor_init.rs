fn init(verbose: bool) {
    let _ = verbose;
}

#[littleboss::main(name = "svc", supervisor_init = init)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
