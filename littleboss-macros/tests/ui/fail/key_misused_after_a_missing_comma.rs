// A key written with `:` after a missing comma: read as a key, and said
// so, not skipped as part of the value before it (nor then "missing").
// The restart window quoted back stops at the next key.
#[littleboss::main(lameduck = "5s" name: "svc", persist, restart_limit = 5 in 10m grace = "1s")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
