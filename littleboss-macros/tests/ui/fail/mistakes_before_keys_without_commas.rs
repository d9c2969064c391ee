// A key after one that cannot be read, with no comma between, is read
// all the same (`name`, `persist`: no "missing" error for either); an
// unknown key after a missing comma is said with what it may mean; a key
// written quoted is told to drop the quotes.
#[littleboss::main(lameduck: "5s" name = "svc", grace = 5 s persist, restart_limit = "5 in 60s", "flavor" = "current_thread", listener(http = "tcp::8080") nmae = "x")]
async fn main(ctx: littleboss::Context) {
    let _ = ctx;
}
