//! Bypass fixture (Go's `hello_program`): runs main directly; the
//! supervisor init must never run outside a supervisor.

fn not_in_bypass() {
    panic!("supervisor_init called in bypass");
}

#[littleboss::main(name = "hello_program", listener(addr = "tcp:127.0.0.1:0"), supervisor_init = not_in_bypass)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    drop(listener);
    println!("hello, from littleboss.");
}
