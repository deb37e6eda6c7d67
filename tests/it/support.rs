//! Shared helpers: a small baseline, a raw TCP client that reads the socket.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use badgateway::{Baseline, Provider, Response, Scenario};

/// A plain-text baseline whose bytes on the wire are easy to write down.
pub fn hello_baseline() -> Baseline {
    Baseline::new().endpoint(
        "GET",
        "/hello",
        Response::new(200)
            .header("content-type", "text/plain")
            .body("hello"),
    )
}

/// The Paygate baseline the example uses.
pub fn paygate_baseline() -> Baseline {
    Baseline::from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/baselines/paygate.json"
    ))
    .expect("the bundled baseline loads")
}

/// Paygate's contract as the example integration reads it (unread fields ignored).
pub fn paygate_contract() -> badgateway::Contract {
    let contract = badgateway::Contract::from_file(payment_gateway::CONTRACT_PATH)
        .expect("the bundled contract loads");
    payment_gateway::UNREAD_FIELDS
        .iter()
        .fold(contract, |c, field| c.ignoring(field))
}

/// Starts a provider on a runtime that lives as long as the returned guard.
pub struct Running {
    pub provider: Provider,
    _runtime: tokio::runtime::Runtime,
}

pub fn start(baseline: Baseline, scenario: Scenario) -> Running {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let provider = runtime
        .block_on(Provider::start(baseline, scenario))
        .unwrap();
    Running {
        provider,
        _runtime: runtime,
    }
}

/// What a raw client saw on the socket.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// The provider closed cleanly (FIN).
    Closed,
    /// The connection was reset (RST).
    Reset,
    /// Nothing more arrived within the quiet period, connection still open.
    Quiet,
}

/// Sends raw request bytes and reads until close, reset, or `quiet` without a byte.
pub fn exchange(
    addr: SocketAddr,
    request: &[u8],
    quiet: Duration,
) -> (Vec<u8>, Ending, Vec<usize>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request).unwrap();
    read_all(&mut stream, quiet)
}

/// Reads until close, reset or quiet; also returns the size of every read.
pub fn read_all(stream: &mut TcpStream, quiet: Duration) -> (Vec<u8>, Ending, Vec<usize>) {
    stream.set_read_timeout(Some(quiet)).unwrap();
    let mut bytes = Vec::new();
    let mut reads = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (bytes, Ending::Closed, reads),
            Ok(n) => {
                bytes.extend_from_slice(&buf[..n]);
                reads.push(n);
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                return (bytes, Ending::Reset, reads)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (bytes, Ending::Quiet, reads)
            }
            Err(e) => panic!("unexpected read error: {e}"),
        }
    }
}

pub const GET_HELLO_AND_CLOSE: &[u8] =
    b"GET /hello HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
pub const GET_HELLO: &[u8] = b"GET /hello HTTP/1.1\r\nhost: x\r\n\r\n";

/// A fresh, empty folder for one test, under the system's temporary folder.
pub fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("badgateway-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
