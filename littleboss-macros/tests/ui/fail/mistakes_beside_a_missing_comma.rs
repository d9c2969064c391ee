// A comma left out before a key: said so, and that key read all the
// same. A mistake within brackets, or words after a value, leave the
// other keys read, and a key unread makes no "duplicate" of the key it
// looks like.
#[littleboss::main(lameduck = "5s" name = "my blog", grace = f(1 2), service-name = "x", persist = yes please, colour = 1)]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
