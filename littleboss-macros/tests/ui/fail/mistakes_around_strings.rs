// A string after a key with no comma between: the comma said missing,
// the key kept, the string taken for the name given alone. A key whose
// brackets hold a token left over, then no comma: the next key is read.
#[littleboss::main(listener(http = "tcp::8080") "svc", lameduck = NAMES[0 1] grace = "1s")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
