//! The exact bytes each fault puts on the wire, read with a raw TCP client.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use badgateway::{faults, ChunkFault, Framing, Mutation, Scenario, Step, Transport};

use crate::support::{
    exchange, hello_baseline, read_all, start, Ending, GET_HELLO, GET_HELLO_AND_CLOSE,
};

/// Long enough that a close or reset always arrives first; only a stall waits it out.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long "nothing more arrives" is watched for in the stall tests.
const QUIET: Duration = Duration::from_millis(300);

const HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n";

fn served(step: Step) -> (Vec<u8>, Ending) {
    let running = start(hello_baseline(), Scenario::new().then(step));
    let (bytes, ending, _) = exchange(running.provider.addr(), GET_HELLO_AND_CLOSE, PATIENCE);
    (bytes, ending)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_baseline_goes_out_with_a_correct_content_length() {
    let (bytes, ending) = served(Step::baseline());
    assert_eq!(
        text(&bytes),
        format!("{HEAD}content-length: 5\r\n\r\nhello")
    );
    assert_eq!(ending, Ending::Closed);
}

#[test]
fn each_framing_fault_puts_exactly_its_bytes_on_the_wire() {
    let cases: Vec<(Framing, String)> = vec![
        (
            Framing::ContentLengthTooLong { by: 3 },
            "content-length: 8\r\n\r\nhello".into(),
        ),
        (
            Framing::ContentLengthTooShort { by: 2 },
            "content-length: 3\r\n\r\nhello".into(),
        ),
        (
            Framing::CloseDelimited,
            "connection: close\r\n\r\nhello".into(),
        ),
        (
            Framing::Chunked { size: 2 },
            "transfer-encoding: chunked\r\n\r\n2\r\nhe\r\n2\r\nll\r\n1\r\no\r\n0\r\n\r\n".into(),
        ),
        (
            Framing::MalformedChunk(ChunkFault::InvalidSize),
            "transfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n".into(),
        ),
        (
            Framing::MalformedChunk(ChunkFault::ShortChunk),
            "transfer-encoding: chunked\r\n\r\n15\r\nhello".into(),
        ),
        (
            Framing::MalformedChunk(ChunkFault::MissingLastChunk),
            "transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n".into(),
        ),
        (
            Framing::BothLengths,
            "content-length: 5\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".into(),
        ),
    ];
    for (framing, tail) in cases {
        let (bytes, ending) = served(faults::framing(framing.clone()));
        assert_eq!(text(&bytes), format!("{HEAD}{tail}"), "{framing:?}");
        assert_eq!(ending, Ending::Closed, "{framing:?}");
    }
}

#[test]
fn close_delimited_and_broken_chunks_close_even_a_keep_alive_connection() {
    for framing in [
        Framing::CloseDelimited,
        Framing::MalformedChunk(ChunkFault::ShortChunk),
    ] {
        let running = start(
            hello_baseline(),
            Scenario::new().then(faults::framing(framing.clone())),
        );
        let (_, ending, _) = exchange(running.provider.addr(), GET_HELLO, PATIENCE);
        assert_eq!(ending, Ending::Closed, "{framing:?}");
    }
}

#[test]
fn header_and_body_mutations_reach_the_wire_byte_for_byte() {
    let step = Step::baseline()
        .with(Mutation::InvalidHeaderBytes {
            name: "set-cookie".into(),
        })
        .with(Mutation::DuplicateHeader {
            name: "content-type".into(),
        })
        .with(Mutation::InvalidUtf8 { at: 2 })
        .with(Mutation::PrependBom);
    let (bytes, _) = served(step);
    let expected = [
        &b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nset-cookie: bg=\x01value\r\ncontent-type: text/plain\r\n"[..],
        b"content-length: 10\r\n\r\n\xEF\xBB\xBFhe\xFF\xFEllo",
    ]
    .concat();
    assert_eq!(bytes, expected);
}

#[test]
fn empty_response_closes_without_a_byte() {
    let (bytes, ending) = served(faults::empty_response());
    assert!(bytes.is_empty(), "{}", text(&bytes));
    assert_eq!(ending, Ending::Closed);
}

#[test]
fn reset_peer_sends_n_bytes_then_an_rst() {
    let (bytes, ending) = served(faults::reset_peer_after(17));
    assert_eq!(text(&bytes), "HTTP/1.1 200 OK\r\n");
    assert_eq!(ending, Ending::Reset);
    let (bytes, ending) = served(faults::reset_peer_after(0));
    assert!(bytes.is_empty());
    assert_eq!(ending, Ending::Reset);
}

#[test]
fn limit_data_sends_n_bytes_then_closes_cleanly() {
    let (bytes, ending) = served(faults::transport(Transport::LimitData { bytes: 20 }));
    assert_eq!(text(&bytes), "HTTP/1.1 200 OK\r\ncon");
    assert_eq!(ending, Ending::Closed);
}

#[test]
fn timeout_sends_n_bytes_then_stalls_with_the_connection_open_until_the_provider_drops() {
    let running = start(
        hello_baseline(),
        Scenario::new().then(faults::stall_after(12)),
    );
    let mut stream = TcpStream::connect(running.provider.addr()).unwrap();
    stream.write_all(GET_HELLO_AND_CLOSE).unwrap();
    let (bytes, ending, _) = read_all(&mut stream, QUIET);
    assert_eq!(text(&bytes), "HTTP/1.1 200");
    assert_eq!(
        ending,
        Ending::Quiet,
        "the connection must stay open and silent"
    );
    drop(running);
    let (more, ending, _) = read_all(&mut stream, PATIENCE);
    assert!(more.is_empty());
    assert_ne!(
        ending,
        Ending::Quiet,
        "dropping the provider must close stalled connections"
    );
}

#[test]
fn slicer_drips_the_response_in_small_writes_with_pauses() {
    let started = Instant::now();
    let running = start(hello_baseline(), Scenario::new().then(faults::drip(8, 30)));
    let (bytes, ending, reads) = exchange(running.provider.addr(), GET_HELLO_AND_CLOSE, PATIENCE);
    assert_eq!(
        text(&bytes),
        format!("{HEAD}content-length: 5\r\n\r\nhello")
    );
    assert_eq!(ending, Ending::Closed);
    assert!(
        reads.iter().all(|n| *n <= 8),
        "reads larger than a slice: {reads:?}"
    );
    // 70 bytes in 9 slices means 8 pauses of 30 ms: a lower bound, never flaky.
    assert!(
        started.elapsed() >= Duration::from_millis(240),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn latency_delays_the_whole_response() {
    let started = Instant::now();
    let running = start(
        hello_baseline(),
        Scenario::new().then(faults::transport(Transport::Latency { ms: 150 })),
    );
    let (bytes, _, reads) = exchange(running.provider.addr(), GET_HELLO_AND_CLOSE, PATIENCE);
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(reads.len(), 1, "one write, one read: {reads:?}");
    assert!(text(&bytes).ends_with("hello"));
}

#[test]
fn pipelined_requests_on_one_connection_meet_their_own_steps() {
    let running = start(
        hello_baseline(),
        Scenario::new()
            .then(faults::status(503))
            .then(faults::truncate_body_at(2)),
    );
    let two = [GET_HELLO, GET_HELLO_AND_CLOSE].concat();
    let (bytes, ending, _) = exchange(running.provider.addr(), &two, PATIENCE);
    assert_eq!(
        text(&bytes),
        format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello{HEAD}content-length: 2\r\n\r\nhe"
        )
    );
    assert_eq!(ending, Ending::Closed);
    let journal = running.provider.journal();
    assert_eq!(journal.len(), 2);
    assert!(journal.requests.iter().all(|r| r.connection == 0));
}

#[test]
fn steps_count_requests_across_connections_and_the_baseline_follows_the_last_step() {
    let running = start(hello_baseline(), Scenario::new().then(faults::status(500)));
    let (first, _, _) = exchange(running.provider.addr(), GET_HELLO_AND_CLOSE, PATIENCE);
    let (second, _, _) = exchange(running.provider.addr(), GET_HELLO_AND_CLOSE, PATIENCE);
    assert!(text(&first).starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
    assert!(text(&second).starts_with("HTTP/1.1 200 OK\r\n"));
    let journal = running.provider.journal();
    assert_eq!(
        (
            journal.requests[0].connection,
            journal.requests[1].connection
        ),
        (0, 1)
    );
}

#[test]
fn request_bodies_are_read_whether_sized_or_chunked() {
    let running = start(hello_baseline(), Scenario::new());
    let sized = b"POST /hello HTTP/1.1\r\ncontent-length: 7\r\n\r\n{\"a\":1}";
    let chunked = b"POST /hello HTTP/1.1\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n3\r\n{\"b\r\n4\r\n\":2}\r\n0\r\n\r\n";
    let (bytes, _, _) = exchange(
        running.provider.addr(),
        &[&sized[..], &chunked[..]].concat(),
        PATIENCE,
    );
    assert_eq!(
        text(&bytes).matches("HTTP/1.1 404 Not Found").count(),
        2,
        "POST /hello is not declared"
    );
    let journal = running.provider.journal();
    assert_eq!(journal.requests[0].body, b"{\"a\":1}");
    assert_eq!(journal.requests[1].body, b"{\"b\":2}");
}

#[test]
fn expect_100_continue_is_answered_before_the_body_is_read() {
    let running = start(hello_baseline(), Scenario::new());
    let mut stream = TcpStream::connect(running.provider.addr()).unwrap();
    stream
        .write_all(b"POST /hello HTTP/1.1\r\ncontent-length: 2\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut interim = [0u8; 25];
    std::io::Read::read_exact(&mut stream, &mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"hi").unwrap();
    let (bytes, _, _) = read_all(&mut stream, PATIENCE);
    assert!(text(&bytes).starts_with("HTTP/1.1 404"));
}

#[test]
fn a_request_that_cannot_be_parsed_gets_a_400_and_a_close() {
    let running = start(hello_baseline(), Scenario::new());
    let (bytes, ending, _) = exchange(
        running.provider.addr(),
        b"GET /hello HTTP/1.1\r\nbad header\r\n\r\n",
        PATIENCE,
    );
    assert!(
        text(&bytes).starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{}",
        text(&bytes)
    );
    assert_eq!(ending, Ending::Closed);
}

#[test]
fn the_provider_listens_on_loopback_only() {
    let running = start(hello_baseline(), Scenario::new());
    assert!(running.provider.addr().ip().is_loopback());
}

#[test]
fn absurd_and_doubled_content_lengths_reach_the_wire_with_the_real_body() {
    // See: issue "reach", item 4.
    let (bytes, ending) = served(faults::framing(Framing::ContentLengthValue {
        value: "-1".into(),
    }));
    assert_eq!(
        text(&bytes),
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: -1\r\n\r\nhello"
    );
    assert_eq!(ending, Ending::Closed);
    let (bytes, _) = served(faults::framing(Framing::ContentLengthTwice { by: 10 }));
    assert!(
        text(&bytes).contains("content-length: 5\r\ncontent-length: 15\r\n\r\nhello"),
        "{}",
        text(&bytes)
    );
}
