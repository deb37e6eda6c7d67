//! Requests that once broke the provider, each sent over a real socket: the provider
//! answers them with an error status, or refuses them, and goes on serving.
// See: issue "nothing secret is written, and no input breaks the harness", item 2.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use badgateway::{Baseline, Scenario};

use crate::support::{exchange, hello_baseline, start, Ending, GET_HELLO_AND_CLOSE};

const QUIET: Duration = Duration::from_secs(5);

fn still_serves(addr: SocketAddr) {
    let (bytes, _, _) = exchange(addr, GET_HELLO_AND_CLOSE, QUIET);
    assert!(
        bytes.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "the provider stopped serving: {}",
        String::from_utf8_lossy(&bytes)
    );
}

fn status_of(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes.get(9..12).unwrap_or_default()).unwrap_or("?")
}

#[test]
fn a_chunk_size_that_overflows_is_a_413_and_the_provider_goes_on() {
    let running = start(hello_baseline(), Scenario::new());
    let addr = running.provider.addr();
    let request =
        b"POST /hello HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nffffffffffffffff\r\nabc";
    let (bytes, ending, _) = exchange(addr, request, QUIET);
    assert_eq!(
        status_of(&bytes),
        "413",
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(ending, Ending::Closed);
    still_serves(addr);
}

#[test]
fn a_header_line_past_the_head_limit_is_a_431_before_it_ends() {
    let running = start(hello_baseline(), Scenario::new());
    let addr = running.provider.addr();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nx-long: ")
        .unwrap();
    // A 16 MiB line was the input; the answer must come long before that, so the
    // client stops at the first write that fails (the provider closed).
    let kib = [b'a'; 1024];
    let mut sent = 0;
    while sent < 16 * 1024 && stream.write_all(&kib).is_ok() {
        sent += 1;
    }
    stream.set_read_timeout(Some(QUIET)).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert_eq!(
        status_of(&answer),
        "431",
        "{}",
        String::from_utf8_lossy(&answer)
    );
    still_serves(addr);
}

#[test]
fn a_body_of_many_one_byte_chunks_is_read_in_linear_time() {
    // 64 Ki chunks of one byte each, written a few bytes at a time: re-parsing the
    // body from its start on every read made this quadratic.
    let running = start(hello_baseline(), Scenario::new());
    let addr = running.provider.addr();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"POST /hello HTTP/1.1\r\nhost: x\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n")
        .unwrap();
    let body: Vec<u8> = (0..64 * 1024).flat_map(|_| *b"1\r\nx\r\n").collect();
    for piece in body.chunks(7) {
        stream.write_all(piece).unwrap();
    }
    stream.write_all(b"0\r\n\r\n").unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    // Read whole: the baseline's answer to an undeclared POST, not a parse error.
    assert_eq!(
        status_of(&answer),
        "404",
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let journal = running.provider.journal();
    assert_eq!(journal.requests[0].body.len(), 64 * 1024);
}

/// A listener that counts the connections it is offered, standing for another host.
fn bystander() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (addr, hits)
}

/// An upstream that answers every request with a redirect to `to`.
fn redirecting_upstream(to: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let answer = format!(
                "HTTP/1.1 302 Found\r\nlocation: http://{to}/stolen\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    addr
}

#[test]
fn the_forwarder_is_no_open_proxy_and_follows_no_redirect() {
    let (other, hits) = bystander();
    let upstream = redirecting_upstream(other);
    let running = start(
        Baseline::forward_to(&format!("http://{upstream}")),
        Scenario::new(),
    );
    let addr = running.provider.addr();

    let hostile = format!("GET @{other}/x HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    let (bytes, _, _) = exchange(addr, hostile.as_bytes(), QUIET);
    assert_eq!(
        status_of(&bytes),
        "400",
        "{}",
        String::from_utf8_lossy(&bytes)
    );

    let (bytes, _, _) = exchange(
        addr,
        b"GET /pay HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        QUIET,
    );
    assert_eq!(
        status_of(&bytes),
        "302",
        "the upstream's redirect is served as it is"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the provider reached another host"
    );
}

/// How much CPU this process has used, from `/proc/self/stat` (utime + stime), read
/// through a file opened before the descriptors ran out.
fn cpu_time(stat: &mut std::fs::File) -> Duration {
    use std::io::Seek;
    let mut stat_text = String::new();
    stat.rewind().unwrap();
    stat.read_to_string(&mut stat_text).unwrap();
    let stat = stat_text;
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<u64> = after_name
        .split(' ')
        .skip(11)
        .take(2)
        .map(|f| f.parse().unwrap())
        .collect();
    // Linux reports clock ticks of 1/100 s on every platform Rust supports.
    Duration::from_millis((fields[0] + fields[1]) * 10)
}

const CHILD: &str = "BADGATEWAY_TEST_ACCEPT_CHILD";

#[test]
fn accept_errors_back_off_instead_of_spinning() {
    if std::env::var_os(CHILD).is_some() {
        // In the child, with 64 file descriptors: connect until the provider can no
        // longer accept, then watch how much CPU one idle second costs.
        let running = start(hello_baseline(), Scenario::new());
        let mut stat = std::fs::File::open("/proc/self/stat").unwrap();
        let mut open = Vec::new();
        while let Ok(stream) = TcpStream::connect(running.provider.addr()) {
            open.push(stream);
            if open.len() > 200 {
                break;
            }
        }
        let before = cpu_time(&mut stat);
        std::thread::sleep(Duration::from_secs(1));
        println!(
            "cpu_ms={} open={}",
            (cpu_time(&mut stat) - before).as_millis(),
            open.len()
        );
        return;
    }
    let output = std::process::Command::new("prlimit")
        .arg("--nofile=64:64")
        .arg(std::env::current_exe().unwrap())
        .args([
            "hostile_requests::accept_errors_back_off_instead_of_spinning",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .expect("prlimit (util-linux) runs the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let cpu_ms: u64 = stdout
        .split("cpu_ms=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "the child said nothing useful:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    // A spinning accept loop burns most of that second (about 920 ms measured); a
    // busy machine can only lower the figure, never raise it past a backoff's.
    assert!(
        cpu_ms < 300,
        "one idle second with exhausted descriptors cost {cpu_ms} ms of CPU: {stdout}"
    );
}

/// A small seeded generator (SplitMix64): the same seed, the same inputs.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Request-shaped bytes: one to three pipelined requests built from pieces of real
/// ones (request lines, framing headers, chunk sizes, hostile numbers, secrets), with
/// random bytes spliced in now and then.
fn request_bytes(rng: &mut Seeded) -> Vec<u8> {
    const LINES: [&[u8]; 4] = [
        b"GET /hello HTTP/1.1\r\n",
        b"POST /v1/charges?api_key=sk_1&x=%41 HTTP/1.1\r\n",
        b"GET @127.0.0.2:80/x HTTP/1.0\r\n",
        b"PUT /a%zz HTTP/1.1\r\n",
    ];
    const HEADERS: [&[u8]; 11] = [
        b"host: x\r\n",
        b"transfer-encoding: chunked\r\n",
        b"content-length: 5\r\n",
        b"content-length: -1\r\n",
        b"content-length: 18446744073709551616\r\n",
        b"expect: 100-continue\r\n",
        b"authorization: Basic bWVyY2hhbnQ6cGFzcw==\r\n",
        b"authorization: Basic ====\r\n",
        b"x-api-key: k%5F1\r\n",
        b"content-type: application/json\r\n",
        b"x-bad header\r\n",
    ];
    const BODIES: [&[u8]; 9] = [
        b"hello",
        b"5\r\nhello\r\n",
        b"0\r\n\r\n",
        b"ffffffffffffffff\r\n",
        b"10000000000000000\r\n",
        b"1;ext=\"a\"\r\nx\r\n",
        b"{\"card\":{\"number\":\"4242\",\"cvc\":\"1\"},\"a\":[[[[]]]]}",
        b"password=p%zz&client_secret=%",
        b"0\r\nx-trailer: 1\r\n\r\n",
    ];
    let mut out = Vec::new();
    let piece = |rng: &mut Seeded, out: &mut Vec<u8>, from: &[&[u8]]| {
        if rng.below(12) == 0 {
            let n = rng.below(8);
            out.extend((0..n).map(|_| rng.next() as u8));
        } else {
            out.extend_from_slice(from[rng.below(from.len())]);
        }
    };
    for _ in 0..1 + rng.below(3) {
        piece(rng, &mut out, &LINES);
        for _ in 0..rng.below(5) {
            piece(rng, &mut out, &HEADERS);
        }
        out.extend_from_slice(b"\r\n");
        for _ in 0..rng.below(3) {
            piece(rng, &mut out, &BODIES);
        }
    }
    out
}

#[test]
fn a_hundred_thousand_seeded_request_inputs_never_panic_the_parser() {
    let mut rng = Seeded(0x0bad_9a7e);
    let mut complete = 0;
    for _ in 0..100_000 {
        let input = request_bytes(&mut rng);
        let slice = 1 + rng.below(64);
        complete += badgateway::fuzzing::read_stream(&input, slice);
    }
    eprintln!("seeded parser run: {complete} whole requests in 100000 inputs");
    // The inputs reach past the first parse: many are whole requests.
    assert!(
        complete > 10_000,
        "only {complete} whole requests: the generator is too weak"
    );
}

#[test]
fn seeded_request_inputs_over_real_sockets_leave_the_provider_serving() {
    let running = start(hello_baseline(), Scenario::new());
    let addr = running.provider.addr();
    let mut rng = Seeded(0x5eed);
    for _ in 0..1_000 {
        let input = request_bytes(&mut rng);
        let Ok(mut stream) = TcpStream::connect(addr) else {
            continue;
        };
        let _ = stream.write_all(&input);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    }
    still_serves(addr);
    assert_eq!(running.provider.internal_panics(), 0);
}
