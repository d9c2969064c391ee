// A name with a leading dash and its value left out after `=`: the dash
// is named, not a suggestion of `-admin = "..."`.
#[littleboss::main(name = "svc", listener(-admin =))]
async fn main() {}
