use littleboss as lb;

#[littleboss::main(name = "a")]
#[lb::main(name = "b")]
async fn main() {}
