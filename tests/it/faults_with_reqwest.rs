//! What each fault does to a real client (reqwest on hyper): the errors a payment
//! integration must be ready for.

use std::time::Duration;

use badgateway::{faults, ChunkFault, Framing, Scenario, Step, Transport};

use crate::support::{hello_baseline, start};

/// What reqwest made of a response: the body, or the error's kind and whole chain.
#[derive(Debug)]
enum Seen {
    Body(u16, String),
    Error {
        timeout: bool,
        body: bool,
        request: bool,
        chain: String,
    },
}

fn fetch(step: Step, patience: Duration) -> Seen {
    let running = start(hello_baseline(), Scenario::new().then(step));
    let url = format!("{}/hello", running.provider.url());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .timeout(patience)
            .build()
            .unwrap();
        let result = async {
            let response = client.get(url).send().await?;
            let status = response.status().as_u16();
            Ok::<_, reqwest::Error>((status, response.text().await?))
        }
        .await;
        match result {
            Ok((status, body)) => Seen::Body(status, body),
            Err(e) => {
                let mut chain = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    chain.push_str(": ");
                    chain.push_str(&cause.to_string());
                    source = cause.source();
                }
                Seen::Error {
                    timeout: e.is_timeout(),
                    body: e.is_body() || e.is_decode(),
                    request: e.is_request(),
                    chain,
                }
            }
        }
    })
}

/// A body error whose chain ends in this hyper message.
fn body_error(fragment: &str) -> impl Fn(&Seen) -> bool + '_ {
    move |seen| matches!(seen, Seen::Error { body: true, timeout: false, chain, .. } if chain.ends_with(fragment))
}

/// A request error (no usable response head) whose chain ends in this message.
fn request_error(fragment: &str) -> impl Fn(&Seen) -> bool + '_ {
    move |seen| matches!(seen, Seen::Error { request: true, timeout: false, chain, .. } if chain.ends_with(fragment))
}

fn timeout(seen: &Seen) -> bool {
    matches!(seen, Seen::Error { timeout: true, .. })
}

fn body(expected: &'static str) -> impl Fn(&Seen) -> bool {
    move |seen| matches!(seen, Seen::Body(200, b) if b == expected)
}

/// The client's timeout where the fault must end in it: short, since it always elapses.
const SHORT: Duration = Duration::from_millis(400);
/// The client's timeout where the response must arrive: long, so a busy machine
/// never turns it into a timeout.
const LONG: Duration = Duration::from_secs(20);

fn check(step: Step, expectation: impl Fn(&Seen) -> bool) {
    let seen = fetch(step.clone(), LONG);
    assert!(expectation(&seen), "{step:?} gave {seen:?}");
}

fn check_times_out(step: Step) {
    let seen = fetch(step.clone(), SHORT);
    assert!(timeout(&seen), "{step:?} gave {seen:?}");
}

#[test]
fn a_content_length_too_long_leaves_the_client_waiting_until_its_timeout() {
    check_times_out(faults::content_length_too_long(3));
}

#[test]
fn a_content_length_too_short_is_silently_truncated() {
    check(
        faults::framing(Framing::ContentLengthTooShort { by: 2 }),
        body("hel"),
    );
}

#[test]
fn valid_alternative_framings_are_read_whole() {
    check(faults::framing(Framing::CloseDelimited), body("hello"));
    check(faults::framing(Framing::Chunked { size: 2 }), body("hello"));
    // hyper lets Transfer-Encoding win over Content-Length, as RFC 9112 says a
    // recipient may; other clients (Node) reject the response instead.
    check(faults::framing(Framing::BothLengths), body("hello"));
}

#[test]
fn broken_chunked_encoding_is_a_body_error() {
    check(
        faults::malformed_chunk(ChunkFault::InvalidSize),
        body_error("Invalid chunk size line: missing size digit"),
    );
    check(
        faults::malformed_chunk(ChunkFault::ShortChunk),
        body_error("end of file before message length reached"),
    );
    check(
        faults::malformed_chunk(ChunkFault::MissingLastChunk),
        body_error("unexpected EOF during chunk size line"),
    );
}

#[test]
fn an_empty_response_is_connection_closed_before_message_completed() {
    check(
        faults::empty_response(),
        request_error("connection closed before message completed"),
    );
    check(
        faults::transport(Transport::LimitData { bytes: 30 }),
        request_error("connection closed before message completed"),
    );
}

#[test]
fn a_reset_is_connection_reset_by_peer_before_or_in_the_head() {
    check(
        faults::reset_peer_after(0),
        request_error("Connection reset by peer (os error 104)"),
    );
    check(
        faults::reset_peer_after(30),
        request_error("Connection reset by peer (os error 104)"),
    );
}

#[test]
fn a_cut_in_the_middle_of_the_body_is_a_body_error() {
    // The head is 64 bytes; 66 leaves the body cut after "he".
    check(
        faults::reset_peer_after(66),
        body_error("Connection reset by peer (os error 104)"),
    );
    check(
        faults::transport(Transport::LimitData { bytes: 66 }),
        body_error("end of file before message length reached"),
    );
}

#[test]
fn stalls_slow_drips_and_long_latency_end_in_the_clients_timeout() {
    check_times_out(faults::stall_after(0));
    check_times_out(faults::stall_after(66));
    check_times_out(faults::drip(1, 20));
    check_times_out(faults::transport(Transport::Latency { ms: 600 }));
}

#[test]
fn a_drip_that_finishes_in_time_is_read_whole() {
    check(faults::drip(16, 20), body("hello"));
}

#[test]
fn a_control_byte_in_a_header_value_fails_the_whole_response() {
    // See: hyper #2879, httparse #61 (a WAF's cookie with \x01).
    let step = Step::baseline().with(badgateway::Mutation::InvalidHeaderBytes {
        name: "set-cookie".into(),
    });
    check(step, request_error("invalid HTTP header parsed"));
}
