// On an associated function without `self`: the error says where the
// attribute goes. An attribute cannot tell an `impl` block from a module,
// and on a free function it brings in a `main` by a module and a glob
// import (lest rustc add "`main` function not found"), which an `impl`
// refuses with two errors of rustc's own: pinned here, with ours last.
struct Server;

impl Server {
    #[littleboss::main(name = "svc")]
    async fn start() {}
}

fn main() {
    let _ = Server;
}
