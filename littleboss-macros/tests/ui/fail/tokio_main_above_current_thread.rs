// `#[tokio::main(flavor = "current_thread")]` above littleboss's
// attribute: tokio's current-thread body is told apart as its multi-thread
// one is.
#[tokio::main(flavor = "current_thread")]
#[littleboss::main(name = "svc")]
async fn main() {
    println!("hello");
}
