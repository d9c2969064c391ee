//! Not a littleboss program: sends one line to a unix socket and prints
//! what comes back (a control client that skips every client-side check).

use std::io::{Read, Write};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut conn = std::os::unix::net::UnixStream::connect(&args[1]).expect("connect");
    conn.write_all(format!("{}\n", args[2]).as_bytes())
        .expect("write");
    conn.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let mut reply = Vec::new();
    let read = conn.read_to_end(&mut reply);
    print!("{}", String::from_utf8_lossy(&reply));
    if let Err(e) = read {
        eprintln!("read: {e}");
    }
}
