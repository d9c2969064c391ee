// The words a function may begin with, on another item: told where the
// attribute goes, not syn's "expected `fn`".
mod constant {
    #[littleboss::main(name = "svc")]
    const MAIN: () = ();
}

mod unsafe_impl {
    struct Probe;
    #[littleboss::main(name = "svc")]
    unsafe impl Send for Probe {}
}

mod extern_block {
    #[littleboss::main(name = "svc")]
    unsafe extern "C" {
        fn abs(x: i32) -> i32;
    }
}

fn main() {}
