// An address written without its quotes: the whole of it underlined, and
// told how to write it.
#[littleboss::main(name = "svc", listener(http = tcp::8080))]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
