//! How a response's bytes travel: timing and connection faults.

use serde::{Deserialize, Serialize};

/// How the bytes of a response travel, with Toxiproxy's and WireMock's names where
/// they have one.
///
/// ```
/// use badgateway::Transport;
/// assert_eq!(serde_json::to_string(&Transport::ResetPeer { after_bytes: 0 }).unwrap(),
///            r#"{"reset_peer":{"after_bytes":0}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Transport {
    /// The whole response in one write.
    #[default]
    Normal,
    /// Close the connection without replying ("empty reply from server"; WireMock's
    /// `EMPTY_RESPONSE`).
    EmptyResponse,
    /// Send `after_bytes` bytes of the response, then reset the connection (RST)
    /// (Toxiproxy's `reset_peer`, WireMock's `CONNECTION_RESET_BY_PEER`).
    ResetPeer {
        /// Bytes sent before the reset; 0 resets before replying.
        after_bytes: usize,
    },
    /// Send `bytes` bytes of the response, then close the connection cleanly
    /// (Toxiproxy's `limit_data`).
    LimitData {
        /// Bytes sent before closing.
        bytes: usize,
    },
    /// Send `after_bytes` bytes, then nothing, ever; the connection stays open
    /// (Toxiproxy's `timeout` with no timeout).
    Timeout {
        /// Bytes sent before stalling.
        after_bytes: usize,
    },
    /// Drip the response `bytes` bytes at a time, `delay_ms` between writes
    /// (Toxiproxy's `slicer`).
    Slicer {
        /// Bytes per write (at least 1).
        bytes: usize,
        /// Milliseconds between writes.
        delay_ms: u64,
    },
    /// Wait `ms` milliseconds, then send the whole response (Toxiproxy's `latency`).
    Latency {
        /// Milliseconds of delay.
        ms: u64,
    },
}

impl Transport {
    pub(crate) fn is_default(&self) -> bool {
        *self == Self::default()
    }
}
