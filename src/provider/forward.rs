//! Forwarding: a baseline that is another server (a wiremock `MockServer`, a sandbox),
//! reached only at its own origin.

use crate::provider::baseline;
use crate::scenario::response::Response;

use super::request::Request;

/// The baseline's answer to `request`, from the server at `base`.
pub(super) async fn forward(client: &reqwest::Client, base: &str, request: &Request) -> Response {
    let Some(url) = forwarded_url(base, &request.target) else {
        return Response::json(
            400,
            &serde_json::json!({"error": "badgateway forwards only origin-form request targets (`/path?query`) to the baseline"}),
        );
    };
    let method =
        reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut builder = client.request(method, url);
    for (name, value) in &request.headers {
        let skip = ["host", "content-length", "transfer-encoding", "connection"];
        if !skip.iter().any(|s| name.eq_ignore_ascii_case(s)) {
            builder = builder.header(name.as_str(), value.as_slice());
        }
    }
    match builder.body(request.body.clone()).send().await {
        Ok(response) => baseline::from_forwarded(response, base).await,
        Err(e) => Response::json(
            502,
            &serde_json::json!({"error": format!("badgateway could not forward to the baseline at {base}: {e}")}),
        ),
    }
}

/// The upstream URL for a request target: the base URL with the target's path and
/// query, or `None` unless the target is origin-form (`/path?query`) and the result
/// still names the base's host and port. A target such as `@127.0.0.2:80/x` or
/// `//evil/x` would otherwise make the forwarder an open proxy.
fn forwarded_url(base: &str, target: &str) -> Option<reqwest::Url> {
    if !target.starts_with('/') || target.starts_with("//") {
        return None;
    }
    let base_url = reqwest::Url::parse(base).ok()?;
    let url = reqwest::Url::parse(&format!("{}{target}", base.trim_end_matches('/'))).ok()?;
    let same_origin = url.scheme() == base_url.scheme()
        && url.host_str() == base_url.host_str()
        && url.port_or_known_default() == base_url.port_or_known_default()
        && url.username().is_empty()
        && url.password().is_none();
    same_origin.then_some(url)
}

#[cfg(test)]
mod tests {
    use super::forwarded_url;

    #[test]
    fn only_origin_form_targets_are_forwarded_and_only_to_the_base() {
        let base = "http://127.0.0.1:4000";
        let url = |t| forwarded_url(base, t).map(|u| u.to_string());
        assert_eq!(
            url("/v1/charges?limit=3").as_deref(),
            Some("http://127.0.0.1:4000/v1/charges?limit=3")
        );
        for hostile in [
            "@127.0.0.2:80/x",
            "//127.0.0.2/x",
            "http://127.0.0.2/x",
            "*",
            "",
            "/@x",
        ] {
            let forwarded = url(hostile);
            assert!(
                forwarded.is_none()
                    || forwarded
                        .as_deref()
                        .is_some_and(|u| u.starts_with("http://127.0.0.1:4000/")),
                "{hostile:?} forwarded to {forwarded:?}"
            );
        }
        assert_eq!(url("@127.0.0.2:80/x"), None);
        assert_eq!(url("//127.0.0.2/x"), None);
        assert_eq!(
            forwarded_url("http://127.0.0.1:4000/api", "/x")
                .map(|u| u.to_string())
                .as_deref(),
            Some("http://127.0.0.1:4000/api/x")
        );
    }
}
