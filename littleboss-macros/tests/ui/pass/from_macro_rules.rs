//! Values passed through `macro_rules!` arrive wrapped in invisible groups.

macro_rules! service {
    ($name:expr, $lameduck:expr, $persist:expr, $threads:expr) => {
        #[littleboss::main(name = $name, lameduck = $lameduck, persist = $persist, worker_threads = $threads)]
        async fn main(ctx: littleboss::Context) {
            let _ = ctx;
        }
    };
}

service!("svc", "250ms", true, 2);
