//! A `versioned` binary whose configuration has a mistake (a zero ready
//! timeout): a reload to it fails, naming the mistake.

fn main() {
    littleboss::Littleboss::new("versioned")
        .listener("addr", "tcp:127.0.0.1:0")
        .ready_timeout(std::time::Duration::ZERO)
        .run(|ctx: littleboss::Context| async move {
            println!("version mistaken serving");
            ctx.lameduck().await;
        })
}
