// Items of the program's named `ctx` leave the context's parameter alone.
#[allow(non_upper_case_globals)]
static ctx: u8 = 7;

#[littleboss::main(name = "svc")]
fn main(context: littleboss::Context) {
    let _ = context;
    assert_eq!(ctx, 7);
}
