// A bare key after a missing comma is read (`persist` counts, so
// `restart_limit` is no error); a token left over within a value's
// brackets, a key with no value after its `=`, and the name given alone
// but not first are each said, none hiding the others.
#[littleboss::main(listener(http = "tcp::8080") persist, restart_limit = "5 in 60s", lameduck = NAMES[0 1], grace =, "svc", colour = "red")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
