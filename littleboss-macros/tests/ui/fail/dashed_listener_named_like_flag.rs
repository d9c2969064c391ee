// A dashed listener named like the mode flag: the whole name underlined.
#[littleboss::main(name = "svc", flag = "lb-mode", listener(lb-mode = "tcp::80"))]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
