//! A `versioned` binary whose service name comes out another in a
//! supervisor's image (whose argv has `-littleboss=start`), as a name
//! worked out at run time from what differs between a supervisor and its
//! children would: its children and its control commands are of
//! `versioned`, so a reload to it serves, and the in-place upgrade to it
//! must be refused.

fn main() {
    let supervising = std::env::args().any(|arg| arg == "-littleboss=start");
    let name = match supervising {
        true => "versioned-renamed",
        false => "versioned",
    };
    littleboss::Littleboss::new(name)
        .listener("addr", "tcp:127.0.0.1:0")
        .run(|ctx: littleboss::Context| async move {
            tests::fixture::serve_version(&ctx, "renamed", "renamed").await;
        })
}
