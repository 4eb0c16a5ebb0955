//! Ports on 127.0.0.1: one that is free, and waiting until a server started by a test listens.

use std::time::Duration;

/// A TCP port that was free on 127.0.0.1 a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// Waits up to 20 s for something to listen on 127.0.0.1:`port`; `what` names it in the panic.
pub fn wait_listening(port: u16, what: &str) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} does not listen on 127.0.0.1:{port}");
}
