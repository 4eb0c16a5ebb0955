//! Tests' side of an HTTP request on loopback: what the alert channels' tests' receivers read.

use std::io::BufRead;

/// Reads one request from `reader`: its head (request line and headers, each line with its
/// CRLF) and its body of `Content-Length` bytes (empty when the peer closed early).
pub fn read_request(reader: &mut impl BufRead) -> (String, Vec<u8>) {
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        body.clear();
    }
    (head, body)
}
