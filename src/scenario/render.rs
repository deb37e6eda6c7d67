//! Showing bytes to people: escapes for what is not printable, the wire as served.

use std::fmt::Write;

use crate::scenario::Transport;

/// Bodies longer than this many characters are shown with their middle elided.
const MAX_BODY_CHARS: usize = 2_000;

/// Bytes as text: UTF-8 shown as is, control characters and invalid bytes escaped
/// (`\x01`, `\xFF`), so that malformed bytes stand out.
///
/// ```
/// assert_eq!(badgateway::render::escape_bytes(b"ok\x01\xFF\xFEend"), r"ok\x01\xFF\xFEend");
/// ```
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() && c != '\t' {
                let _ = write!(out, "\\x{:02X}", c as u32);
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
    out
}

/// The response as it went on the wire: head lines, body lines, and a last line for
/// what the transport did. Every line starts with `indent`.
///
/// ```
/// use badgateway::{render, wire, Framing, Response, Transport};
/// let w = wire::render(&Response::new(200).body("hello"), &Framing::ContentLength);
/// let text = render::served(&w.bytes, w.head_len, &Transport::ResetPeer { after_bytes: 40 }, "");
/// assert_eq!(text, "HTTP/1.1 200 OK\ncontent-length: 5\n\nhe⟂\n⟂ connection reset (RST) after 40 of 43 bytes\n");
/// ```
pub fn served(bytes: &[u8], head_len: usize, transport: &Transport, indent: &str) -> String {
    let sent = match transport {
        Transport::EmptyResponse => 0,
        Transport::ResetPeer { after_bytes: n }
        | Transport::LimitData { bytes: n }
        | Transport::Timeout { after_bytes: n } => (*n).min(bytes.len()),
        _ => bytes.len(),
    };
    let cut = sent < bytes.len();
    let head_len = head_len.min(bytes.len());
    let mut out = String::new();
    let head = &bytes[..head_len.min(sent)];
    let mut lines: Vec<&[u8]> = head.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let _ = writeln!(out, "{indent}{}", escape_bytes(line));
    }
    if sent > head_len {
        let raw = &bytes[head_len..sent];
        let body = exact_json(raw).unwrap_or_else(|| escape_bytes(raw));
        let body = elide_middle(&body, MAX_BODY_CHARS);
        for line in body
            .replace("\\x0D\\x0A", "\n")
            .replace("\\x0A", "\n")
            .lines()
        {
            let _ = writeln!(out, "{indent}{line}");
        }
    }
    if cut && out.ends_with('\n') {
        out.pop();
        out.push_str("⟂\n");
    }
    if let Some(note) = transport_note(transport, sent, bytes.len()) {
        let _ = writeln!(out, "{indent}{note}");
    }
    out
}

/// A JSON body, pretty-printed, when that shows exactly what was sent: the body must
/// be the compact form of what it parses to, so duplicate keys, odd spacing, numbers
/// out of range or any malformation are shown raw instead.
fn exact_json(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if !(value.is_object() || value.is_array()) || serde_json::to_vec(&value).ok()? != body {
        return None;
    }
    serde_json::to_string_pretty(&value)
        .ok()
        .map(|text| escape_bytes(text.as_bytes()))
}

fn transport_note(transport: &Transport, sent: usize, total: usize) -> Option<String> {
    Some(match transport {
        Transport::Normal => return None,
        Transport::EmptyResponse => "⟂ connection closed without a reply".to_owned(),
        Transport::ResetPeer { .. } => {
            format!("⟂ connection reset (RST) after {sent} of {total} bytes")
        }
        Transport::LimitData { .. } => {
            format!("⟂ connection closed (FIN) after {sent} of {total} bytes")
        }
        Transport::Timeout { .. } => {
            format!("⟂ stalled forever after {sent} of {total} bytes, connection left open")
        }
        Transport::Slicer { bytes, delay_ms } => {
            let writes = total.div_ceil((*bytes).max(1));
            let ms = writes.saturating_sub(1) as u64 * delay_ms;
            format!(
                "(dripped {bytes} bytes every {delay_ms} ms: {total} bytes over {:.1} s)",
                ms as f64 / 1000.0
            )
        }
        Transport::Latency { ms } => format!("(sent after a {ms} ms delay)"),
    })
}

/// The text with its middle replaced by a marker when longer than `max` characters.
///
/// ```
/// let long = "a".repeat(30) + &"b".repeat(30);
/// assert_eq!(badgateway::render::elide_middle(&long, 20), "aaaaaaaaaa…⟨40 characters elided⟩…bbbbbbbbbb");
/// ```
pub fn elide_middle(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_owned();
    }
    let keep = max / 2;
    let head: String = text.chars().take(keep).collect();
    let tail: String = text.chars().skip(count - keep).collect();
    format!("{head}…⟨{} characters elided⟩…{tail}", count - 2 * keep)
}
