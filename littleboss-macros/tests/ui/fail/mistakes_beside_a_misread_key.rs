// A key that cannot be read (no `=`, a dash, a spaced duration, a missing
// value) hides none of the other mistakes, and makes no "missing" error
// of its own.
#[littleboss::main(name "svc", lameduck = "soon", worker-threads = 4, grace = 5 s, ready = , colour = "red")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
