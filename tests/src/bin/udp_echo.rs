//! A UDP service: answers each datagram with its pid until draining
//! begins, then stops reading, leaving the datagrams to the new child.

#[littleboss::main(name = "udpecho", listener(dns = "udp4:127.0.0.1:0"))]
async fn main(ctx: littleboss::Context) {
    let socket = ctx.udp("dns").expect("dns listener");
    let pid = std::process::id();
    println!(
        "serving udp pid={pid} addr={}",
        socket.local_addr().unwrap()
    );
    let draining = ctx.draining();
    tokio::pin!(draining);
    let mut datagram = [0u8; 512];
    loop {
        tokio::select! {
            got = socket.recv_from(&mut datagram) => {
                if let Ok((_, from)) = got {
                    let _ = socket.send_to(pid.to_string().as_bytes(), from).await;
                }
            }
            () = &mut draining => break,
        }
    }
    println!("udp pid={pid} drained");
}
