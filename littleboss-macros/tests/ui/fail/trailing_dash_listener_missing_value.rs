// A listener name ending in a dash, its value left out: the value is what
// is missing, said as for any other name, under the whole name.
#[littleboss::main(name = "svc", listener(admin-))]
async fn main() {}
