//! The yardstick for the targets' executions per second: the same reqwest client call
//! as the example's targets make (a new client, one `GET`, the body read), against a
//! plain loopback responder, with the same libFuzzer instrumentation, and no badgateway.
//! Compare its exec/s with a target's on the same machine:
//!
//! ```text
//! cargo fuzz run --sanitizer none bare_round_trip -- -runs=20000
//! ```

#![no_main]

use std::io::{Read, Write};
use std::sync::LazyLock;

/// A plain responder on a thread of its own: reads a request head, writes a fixed
/// response, closes.
static URL: LazyLock<String> = LazyLock::new(|| {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_nodelay(true);
            let mut head = Vec::new();
            let mut chunk = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&chunk[..n]),
                }
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}");
        }
    });
    url
});

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
});

libfuzzer_sys::fuzz_target!(|_data: &[u8]| {
    RUNTIME.block_on(async {
        let client = reqwest::Client::builder().build().unwrap();
        let body = client
            .get(format!("{}/v1/charges/ch_1", *URL))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "{}");
    });
});
