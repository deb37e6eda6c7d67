//! How long a response asks its client to wait, and by which header: `Retry-After`
//! on a 429 or 503, or a rate limit that says nothing remains until a reset, on any
//! status. One reader for the provider (which must not call honouring it a hang) and
//! the oracle (which names the header a client waited on).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest wait any header is read as asking for: a day.
const LONGEST: Duration = Duration::from_secs(86_400);

/// What a response asked the client to wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    /// How long, from when it was read (a day at most).
    pub wait: Duration,
    /// The headers that asked, as served: `retry-after: 86400`, or
    /// `x-ratelimit-remaining: 0, x-ratelimit-reset: 1764115200`.
    pub asked: String,
}

/// The wait a response with this status and these headers asks for, if any: its
/// `Retry-After` (whole or decimal seconds, or an HTTP date) on a 429 or 503; else,
/// on any status, a rate limit whose remaining count is 0 and that names its reset:
///
/// | provider convention | remaining | reset |
/// |---|---|---|
/// | GitHub, Shopify, Twitter/X | `x-ratelimit-remaining` | `x-ratelimit-reset` (epoch seconds, or delta seconds when small) |
/// | IETF draft, older revisions | `ratelimit-remaining` | `ratelimit-reset` (delta seconds) |
/// | IETF draft, current | `ratelimit: "default";r=0;t=50` | its `t` (delta seconds) |
/// | OpenAI | `x-ratelimit-remaining-requests` | `x-ratelimit-reset-requests` (`6m0s`, `1s`, `20ms`) |
///
/// A reset in the past, or one no rule reads, asks for no wait.
///
/// ```
/// use std::time::Duration;
/// use badgateway::journal::asked_wait;
/// let h = |pairs: &[(&str, &str)]| pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect::<Vec<_>>();
/// let wait = asked_wait(429, &h(&[("retry-after", "2")])).unwrap();
/// assert_eq!((wait.wait, wait.asked.as_str()), (Duration::from_secs(2), "retry-after: 2"));
/// let openai = asked_wait(200, &h(&[("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "6m0s")])).unwrap();
/// assert_eq!(openai.wait, Duration::from_secs(360));
/// assert_eq!(openai.asked, "x-ratelimit-remaining-requests: 0, x-ratelimit-reset-requests: 6m0s");
/// let ietf = asked_wait(200, &h(&[("ratelimit", "\"default\";r=0;t=50")])).unwrap();
/// assert_eq!(ietf.wait, Duration::from_secs(50));
/// assert_eq!(asked_wait(200, &h(&[("x-ratelimit-remaining", "7"), ("x-ratelimit-reset", "60")])), None);
/// assert_eq!(asked_wait(200, &h(&[("retry-after", "60")])), None);
/// ```
pub fn asked_wait(status: u16, headers: &[(String, String)]) -> Option<Wait> {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.trim()))
    };
    if matches!(status, 429 | 503) {
        if let Some((name, value)) = get("retry-after") {
            return retry_after(value).map(|wait| Wait {
                wait,
                asked: format!("{name}: {value}"),
            });
        }
    }
    for (remaining, reset) in [
        ("x-ratelimit-remaining", "x-ratelimit-reset"),
        ("ratelimit-remaining", "ratelimit-reset"),
        ("x-rate-limit-remaining", "x-rate-limit-reset"),
        (
            "x-ratelimit-remaining-requests",
            "x-ratelimit-reset-requests",
        ),
        ("x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"),
    ] {
        let (Some((remaining, left)), Some((reset, when))) = (get(remaining), get(reset)) else {
            continue;
        };
        if left.parse::<f64>().ok() != Some(0.0) {
            continue;
        }
        if let Some(wait) = reset_in(when) {
            return Some(Wait {
                wait,
                asked: format!("{remaining}: {left}, {reset}: {when}"),
            });
        }
    }
    let (name, value) = get("ratelimit")?;
    let field = |key: &str| {
        value
            .split([';', ','])
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.trim().parse::<f64>().ok())
    };
    let left = field("r").or_else(|| field("remaining"))?;
    let reset = field("t").or_else(|| field("reset"))?;
    (left == 0.0 && reset > 0.0).then(|| Wait {
        wait: Duration::from_secs_f64(reset.min(LONGEST.as_secs_f64())),
        asked: format!("{name}: {value}"),
    })
}

/// `Retry-After` as whole or decimal seconds, or an HTTP date from now.
fn retry_after(value: &str) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds > 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(LONGEST.as_secs_f64())));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    date.duration_since(SystemTime::now())
        .ok()
        .map(|wait| wait.min(LONGEST))
}

/// A rate limit's reset: epoch seconds (or milliseconds) from now, delta seconds
/// when smaller than any epoch, an HTTP date, or a duration such as `6m0s`, `1.5s`,
/// `20ms`.
fn reset_in(value: &str) -> Option<Duration> {
    if let Ok(n) = value.parse::<f64>() {
        if !n.is_finite() || n <= 0.0 {
            return None;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_secs_f64();
        let seconds = match n {
            n if n >= 1e12 => n / 1000.0 - now,
            n if n >= 1e9 => n - now,
            n => n,
        };
        return (seconds > 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(LONGEST.as_secs_f64())));
    }
    if let Ok(date) = httpdate::parse_http_date(value) {
        return date
            .duration_since(SystemTime::now())
            .ok()
            .map(|w| w.min(LONGEST));
    }
    let wait = duration(value)?;
    (!wait.is_zero()).then(|| wait.min(LONGEST))
}

/// A duration as Go and OpenAI write it: `1h2m3s`, `6m0s`, `1.5s`, `20ms`.
fn duration(text: &str) -> Option<Duration> {
    let mut rest = text;
    let mut total = 0.0_f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&i| i > 0)?;
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return None,
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    Some(Duration::from_secs_f64(total.min(LONGEST.as_secs_f64())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn an_epoch_reset_is_read_from_now_and_a_past_one_asks_nothing() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let ahead = (now + 100).to_string();
        let wait = asked_wait(
            429,
            &headers(&[
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", &ahead),
            ]),
        )
        .unwrap();
        assert!(wait.wait > Duration::from_secs(95) && wait.wait <= Duration::from_secs(100));
        assert_eq!(
            wait.asked,
            format!("x-ratelimit-remaining: 0, x-ratelimit-reset: {ahead}")
        );
        let past = (now - 100).to_string();
        let none = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &past)]);
        assert_eq!(asked_wait(200, &none), None);
    }

    #[test]
    fn durations_read_as_go_writes_them() {
        assert_eq!(duration("1h2m3s"), Some(Duration::from_secs(3723)));
        assert_eq!(duration("20ms"), Some(Duration::from_millis(20)));
        assert_eq!(duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(duration("soon"), None);
        assert_eq!(duration("5"), None);
    }

    #[test]
    fn a_date_ahead_is_a_wait_and_a_past_one_is_none() {
        let ahead = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let wait = asked_wait(503, &headers(&[("retry-after", &ahead)])).unwrap();
        assert!(wait.wait > Duration::from_secs(25));
        let past = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]);
        assert_eq!(asked_wait(503, &past), None);
    }
}
