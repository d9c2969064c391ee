// A unit struct of the program's named `ctx` leaves the context's
// parameter alone.
#[allow(non_camel_case_types, dead_code)]
struct ctx;

#[littleboss::main(name = "svc")]
fn main(context: littleboss::Context) {
    let _ = context;
}
