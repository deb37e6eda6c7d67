//! The link between the parent and a worker: one end of a socket pair, handed to the
//! worker as its standard input, so no one else can reach it; lines of JSON; every
//! result sealed with a token the parent drew for that worker; every line the parent
//! reads bounded in length and in time.
//!
//! Implementation notes: the link was a TCP listener on 127.0.0.1 whose address was
//! in the worker's environment, with no authentication and no timeout after accept: a
//! local process that read the address won the race in 0.4–1.8 s and forged verdicts
//! (a crash downgraded to "flaky 1 of 3"), or left the campaign waiting for ever. A
//! socket pair has no address at all. The token is for the code under test itself,
//! which runs in the worker and can write to the link: a result it forges is refused
//! (it would have to read the token out of the harness's memory).

use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::error::{Error, ErrorKind};
use crate::runner::case::CaseResult;
use crate::scenario::Scenario;

/// Set in a worker's environment: the link is its standard input.
pub(crate) const WORKER_VAR: &str = "BADGATEWAY_WORKER";
/// Which isolated entry of its test the worker serves.
pub(super) const ENTRY_VAR: &str = "BADGATEWAY_WORKER_ENTRY";
/// The worker's memory cap in bytes.
pub(super) const MEMORY_VAR: &str = "BADGATEWAY_WORKER_MEMORY";

/// The longest line the parent reads from a worker: a result with its journal.
pub(super) const LINE_CAP: usize = 64 << 20;

/// A message from the worker.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum ToParent {
    /// The worker's test reached this isolated entry, of this kind and name.
    Hello { entry: usize, key: String },
    /// A case ran.
    Done { id: u64, result: Box<CaseResult> },
    /// A case could not run: the harness's own failure (a provider that cannot bind).
    Failed { id: u64, error: String },
    /// The worker is done with its entry and waits, idle, to be resumed.
    Parked,
}

/// A message to the worker.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum ToWorker {
    /// The result of an entry the parent already ran: return it and go on.
    Result { json: String },
    /// This is the entry to serve: run the scenarios that follow, and seal every
    /// result with this token.
    Serve { token: String },
    /// Run one scenario.
    Run { id: u64, scenario: Scenario },
    /// The entry is done and this is its result: stop serving, say `Parked`, and wait
    /// for `Resume` (or the end of the link) before going on with the test.
    Park { json: String },
    /// Go on with the test, to its next isolated entry.
    Resume,
}

/// A message with the token of the worker that sent it.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Sealed<T> {
    pub(super) token: String,
    pub(super) message: T,
}

/// One line of JSON, newline-terminated.
pub(super) fn line<T: Serialize>(message: &T) -> String {
    let mut line = serde_json::to_string(message).expect("messages always serialise");
    line.push('\n');
    line
}

/// A token no other process can guess: 128 bits from the standard library's
/// per-process random hash keys.
pub(super) fn token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut token = String::new();
    for _ in 0..2 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        token.push_str(&format!("{:016x}", hasher.finish()));
    }
    token
}

/// The worker's end of the link (its standard input), opened at its first entry.
pub(super) fn worker_end() -> Result<UnixStream, Error> {
    static LINK: Mutex<Option<UnixStream>> = Mutex::new(None);
    let mut link = LINK.lock().unwrap_or_else(|e| e.into_inner());
    if link.is_none() {
        let fd = std::io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .map_err(io_error)?;
        *link = Some(UnixStream::from(fd));
    }
    link.as_ref()
        .expect("opened above")
        .try_clone()
        .map_err(io_error)
}

/// One line from the parent, read a byte at a time: a buffered reader would swallow
/// the scenarios the parent sends right after it.
pub(super) fn read_line(stream: &mut UnixStream) -> Result<Option<String>, Error> {
    use std::io::Read;
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match stream.read(&mut byte).map_err(io_error)? {
            0 => return Ok(None),
            _ if byte[0] == b'\n' => return Ok(Some(String::from_utf8_lossy(&line).into_owned())),
            _ => line.push(byte[0]),
        }
    }
}

/// The worker's side of parking: the link back to blocking, `Parked` said (sealed),
/// and a wait for `Resume`. An error or the end of the link: the parent is done.
pub(super) fn park(token: &str) -> Result<(), Error> {
    let mut stream = worker_end()?;
    stream.set_nonblocking(false).map_err(io_error)?;
    send_line(
        &mut stream,
        &Sealed {
            token: token.to_owned(),
            message: ToParent::Parked,
        },
    )?;
    match read_line(&mut stream)? {
        Some(line) if matches!(serde_json::from_str(&line), Ok(ToWorker::Resume)) => Ok(()),
        _ => Err(Error::new(
            ErrorKind::Io,
            "the parent did not resume this worker",
        )),
    }
}

/// The link as two streams of this runtime, one read and one written, each on a
/// descriptor of its own. Not `into_split`: its write half shuts the socket's writing
/// down when dropped, for every descriptor, and a worker parked between two entries
/// outlives the runtime of the one it served.
pub(super) fn halves(
    link: &UnixStream,
) -> Result<(tokio::net::UnixStream, tokio::net::UnixStream), Error> {
    let half = || {
        let half = link.try_clone().map_err(io_error)?;
        half.set_nonblocking(true).map_err(io_error)?;
        tokio::net::UnixStream::from_std(half).map_err(io_error)
    };
    Ok((half()?, half()?))
}

pub(super) fn send_line<T: Serialize>(stream: &mut UnixStream, message: &T) -> Result<(), Error> {
    stream.write_all(line(message).as_bytes()).map_err(io_error)
}

pub(super) fn io_error(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("badgateway isolation: {e}"))
}

/// The next line, at most `cap` bytes: a longer one is an error, never memory without
/// bound. `None` at the end of the stream.
pub(super) async fn next_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    cap: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            // Every message ends with its newline: a line cut off by the end of the
            // link is the writer dying mid-message (another case in the same worker
            // overflowed its stack), never a message to read.
            return Ok(None);
        }
        let (taken, ended) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        line.extend_from_slice(&available[..taken - usize::from(ended)]);
        reader.consume(taken);
        if line.len() > cap {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a line longer than {cap} bytes"),
            ));
        }
        if ended {
            return Ok(Some(line));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_line_cut_off_by_the_end_of_the_link_is_the_end_not_a_message() {
        let mut reader = tokio::io::BufReader::with_capacity(4, &b"whole\n{\"cut\":"[..]);
        assert_eq!(
            next_line(&mut reader, 50).await.unwrap(),
            Some(b"whole".to_vec())
        );
        assert_eq!(next_line(&mut reader, 50).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_line_past_the_cap_is_an_error_not_memory() {
        let text = format!("short\n{}\nnever read\n", "x".repeat(100));
        let mut reader = tokio::io::BufReader::with_capacity(7, text.as_bytes());
        assert_eq!(
            next_line(&mut reader, 50).await.unwrap(),
            Some(b"short".to_vec())
        );
        let error = next_line(&mut reader, 50).await.unwrap_err();
        assert!(
            error.to_string().contains("longer than 50 bytes"),
            "{error}"
        );
    }

    #[test]
    fn tokens_differ() {
        assert_ne!(token(), token());
        assert_eq!(token().len(), 32);
    }
}
