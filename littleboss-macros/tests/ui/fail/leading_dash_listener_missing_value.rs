// A name with a leading dash and no value: the dash is named, not a
// suggestion of `-admin = "..."`, which would be refused in turn.
#[littleboss::main(name = "svc", listener(-admin))]
async fn main() {}
