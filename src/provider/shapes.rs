//! Secrets known by their form, wherever they stand: a key in a URL path, a token in a
//! JSON field with an innocent name, a key the provider echoes in its own error
//! message. Names say where a secret is expected; forms catch the ones no name marks.
//!
//! Implementation notes: one pass over the text, by runs of the characters tokens are
//! made of, each run checked against the published forms: Stripe's secret, restricted
//! and webhook-signing keys (`sk_`, `rk_`, `whsec_`, live and test), JWTs, GitHub's
//! tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`), Slack's (`xox?-`), AWS
//! access key ids (`AKIA`, `ASIA`), Google API keys (`AIza`); and PEM private keys,
//! whose base64 lines are collected one by one, so they are scrubbed however the
//! block's line breaks were written (raw, or `\n` inside a JSON string). Publishable
//! keys (`pk_`) are public by design and left alone.

/// Prefixes of tokens that are secret by form, with the shortest such token.
const PREFIXED: [(&str, usize); 16] = [
    ("sk_live_", 24),
    ("sk_test_", 24),
    ("rk_live_", 24),
    ("rk_test_", 24),
    ("whsec_", 22),
    ("ghp_", 30),
    ("gho_", 30),
    ("ghu_", 30),
    ("ghs_", 30),
    ("ghr_", 30),
    ("github_pat_", 30),
    ("xoxb-", 15),
    ("xoxp-", 15),
    ("xoxa-", 15),
    ("xoxr-", 15),
    ("xoxs-", 15),
];

/// Every value in `text` that is secret by its form.
///
/// ```
/// # use badgateway::journal::shaped_secrets;
/// let text = r#"{"data":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U","note":"use sk_live_51HqLyjWDarjtT1zdp7dc9 now."}"#;
/// assert_eq!(shaped_secrets(text), [
///     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
///     "sk_live_51HqLyjWDarjtT1zdp7dc9",
/// ]);
/// assert!(shaped_secrets("pk_live_51HqLyjWDarjtT1zdp7dc9 ch_3PqR8sKs3cR3tV4l cvcResult").is_empty());
/// ```
pub fn shaped_secrets(text: &str) -> Vec<String> {
    // Where a token may start: every prefix a form begins with, found in one pass.
    static STARTS: std::sync::LazyLock<aho_corasick::AhoCorasick> =
        std::sync::LazyLock::new(|| {
            let starts = PREFIXED
                .iter()
                .map(|(prefix, _)| *prefix)
                .chain(["AKIA", "ASIA", "AIza", "eyJ"]);
            aho_corasick::AhoCorasick::new(starts).expect("the prefixes build a searcher")
        });
    let mut found = Vec::new();
    private_keys(text, &mut found);
    let bytes = text.as_bytes();
    let mut after = 0;
    for start in STARTS.find_iter(text).map(|m| m.start()) {
        if start < after {
            continue;
        }
        // The token starts here: at a boundary, or right after a percent escape
        // (`%3Dsk_live_…`).
        let boundary = match start.checked_sub(1).map(|p| bytes[p]) {
            None => true,
            Some(b) if !is_token_byte(b) => true,
            Some(_) => {
                start >= 3
                    && bytes[start - 3] == b'%'
                    && bytes[start - 2..start].iter().all(u8::is_ascii_hexdigit)
            }
        };
        if !boundary {
            continue;
        }
        let end = start
            + bytes[start..]
                .iter()
                .take_while(|b| is_token_byte(**b))
                .count();
        after = end;
        let token = text[start..end].trim_end_matches(['.', '-']);
        if is_shaped(token) {
            found.push(token.to_owned());
        }
    }
    found
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

fn is_base64url(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn is_shaped(token: &str) -> bool {
    let prefixed = PREFIXED.iter().any(|(prefix, shortest)| {
        token.len() >= *shortest
            && token.starts_with(prefix)
            && is_base64url(&token[prefix.len()..])
    });
    let aws = token.len() == 20
        && (token.starts_with("AKIA") || token.starts_with("ASIA"))
        && token[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    let google = token.len() == 39 && token.starts_with("AIza") && is_base64url(&token[4..]);
    prefixed || aws || google || is_jwt(token)
}

/// A JSON Web Token: three base64url parts, the first a JSON object (`eyJ`).
fn is_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts[1].len() >= 8
        && parts.iter().all(|p| is_base64url(p))
        && parts[0].len() >= 10
        && parts[2].len() >= 8
}

/// The lines of every PEM private key in `text`, its line breaks raw or escaped.
fn private_keys(text: &str, found: &mut Vec<String>) {
    let mut rest = text;
    while let Some(begin) = rest.find("-----BEGIN ") {
        let after = &rest[begin..];
        let Some(head_end) = after.find("-----").and_then(|_| after[5..].find("-----")) else {
            return;
        };
        let head = &after[..head_end + 10];
        let body = &after[head.len()..];
        let end = body.find("-----END ").unwrap_or(body.len());
        if head.contains("PRIVATE KEY") {
            let block = &body[..end];
            for line in block.split(['\n', '\r']).flat_map(|l| l.split("\\n")) {
                let line = line.trim().trim_end_matches('\\');
                if line.len() >= 16 {
                    found.push(line.to_owned());
                }
            }
        }
        rest = &body[end..];
        if end == body.len() {
            return;
        }
        rest = &rest["-----END ".len()..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_published_form_is_found_and_lookalikes_are_not() {
        let secrets = [
            "sk_live_51HqLyjWDarjtT1zdp7dc9xZ",
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "rk_live_51HqLyjWDarjtT1zdp7dc9xZ",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGH",
            "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
            "AKIAIOSFODNN7EXAMPLE",
            "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        ];
        for secret in secrets {
            for text in [
                format!("/v1/things/{secret}"),
                format!(r#"{{"data":"{secret}"}}"#),
                format!("key={secret}&x=1"),
                format!("key%3D{secret}"),
                format!("Invalid API key provided: {secret}."),
            ] {
                assert_eq!(shaped_secrets(&text), [secret], "{text}");
            }
        }
        for harmless in [
            "pk_live_51HqLyjWDarjtT1zdp7dc9xZ",
            "ch_3PqR8sKs3cR3tV4l",
            "sk_live_",
            "task_live_51HqLyjWDarjtT1zdp7dc9xZ",
            "AKIA",
            "eyJhbGciOiJIUzI1NiJ9",
            "cvcResult authCode idempotency_key",
        ] {
            assert!(shaped_secrets(harmless).is_empty(), "{harmless}");
        }
    }

    #[test]
    fn a_private_keys_lines_are_found_raw_or_escaped() {
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onL\n-----END RSA PRIVATE KEY-----";
        let lines = [
            "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo",
            "4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onL",
        ];
        assert_eq!(shaped_secrets(key), lines);
        let escaped = serde_json::to_string(&serde_json::json!({ "pem": key })).unwrap();
        assert_eq!(shaped_secrets(&escaped), lines);
        let public = key.replace("RSA PRIVATE KEY", "CERTIFICATE");
        assert!(shaped_secrets(&public).is_empty());
    }
}
