#[littleboss::main(name = "svc")]
async fn main(args: Vec<String>) {
    let _ = args;
}
