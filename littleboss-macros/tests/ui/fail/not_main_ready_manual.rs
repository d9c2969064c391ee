// On another function, without a `Context`, under `ready = "manual"`: the
// error says where the attribute goes, not that `main` needs a `Context`.
#[littleboss::main(name = "svc", ready = "manual")]
async fn serve() {}

fn main() {}
