//! Line echo fixture (Go's `echo_server`): prints its address, echoes one
//! line per connection, says when it enters lameduck, and then finishes the
//! connections it has accepted before returning.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn init() {
    println!("SupervisorInit called");
    // What supervisor_init starts must not take itself for a child, nor
    // see what littleboss keeps for itself.
    for (name, value) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("LITTLEBOSS_") && name != "LITTLEBOSS_DIR" {
            println!("supervisor_init sees {name}={value:?}");
        }
    }
    if let Some(value) = std::env::var_os("GLIBC_TUNABLES") {
        println!("supervisor_init GLIBC_TUNABLES={}", value.to_string_lossy());
    }
    let cache = if thread_cache_on() { "on" } else { "off" };
    println!("supervisor_init: glibc's thread cache is {cache}");
}

/// Whether glibc's per-thread cache is on in this process. It frees 256
/// 24-byte chunks: with the cache, it keeps up to seven and the rest reach
/// the fastbins that `mallinfo2` counts; without it all of them do. So many
/// that taking them also empties the fastbins, which would otherwise refill
/// the cache as they are taken.
fn thread_cache_on() -> bool {
    use nix::libc::{free, mallinfo2, malloc};
    const CHUNKS: usize = 256;
    let mut chunks = [std::ptr::null_mut(); CHUNKS];
    // SAFETY: each chunk is freed exactly once, after it was allocated
    // here; mallinfo2 only reads the allocator's counters.
    unsafe {
        for chunk in &mut chunks {
            *chunk = malloc(24);
        }
        let before = mallinfo2().fsmblks;
        for chunk in chunks {
            free(chunk);
        }
        mallinfo2().fsmblks - before < CHUNKS * 32
    }
}

#[littleboss::main(name = "echo_server", listener(addr = "tcp:127.0.0.1:0"), supervisor_init = init)]
async fn main(ctx: littleboss::Context) {
    let listener = ctx.tcp("addr").expect("addr listener");
    println!(
        "addr={} pid={}",
        listener.local_addr().unwrap(),
        std::process::id()
    );
    let lameduck = ctx.lameduck();
    tokio::pin!(lameduck);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut lameduck => {
                println!("entering lameduck mode");
                drop(listener);
                connections.join_all().await;
                return;
            }
            accepted = listener.accept() => {
                let Ok((conn, _)) = accepted else { continue };
                connections.spawn(async move {
                    let (read, mut write) = conn.into_split();
                    let mut line = String::new();
                    if BufReader::new(read).read_line(&mut line).await.is_ok() {
                        let _ = write.write_all(line.as_bytes()).await;
                    }
                });
            }
        }
    }
}
