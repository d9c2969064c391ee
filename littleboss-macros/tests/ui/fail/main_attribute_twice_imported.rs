use littleboss::main;

#[main(name = "a")]
#[main]
async fn main() {}
