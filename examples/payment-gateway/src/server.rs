//! A small HTTP/1.1 server for webhook handlers: hyper on `127.0.0.1:0`, each
//! connection a task on the current tokio runtime (so a test's runtime ends it).

use std::future::Future;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// One request as a handler sees it: headers (names lowercase) and the raw body.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Header names (lowercase) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The raw body, as signed.
    pub body: Vec<u8>,
}

impl Delivery {
    /// The first value of a header, by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Serves `handle` on `127.0.0.1:0` until the runtime ends; returns the base URL.
/// A handler's answer is a status and a body.
///
/// # Panics
/// When no loopback port can be bound.
pub async fn serve<F, Fut>(handle: F) -> String
where
    F: Fn(Delivery) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = (u16, String)> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port binds");
    let url = format!("http://{}", listener.local_addr().expect("a bound address"));
    let handle = Arc::new(handle);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handle = handle.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<Incoming>| {
                    let handle = handle.clone();
                    async move {
                        let headers = request
                            .headers()
                            .iter()
                            .map(|(n, v)| {
                                (
                                    n.as_str().to_owned(),
                                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                )
                            })
                            .collect();
                        let body = request.into_body().collect().await?.to_bytes().to_vec();
                        let (status, text) = handle(Delivery { headers, body }).await;
                        let mut response = hyper::Response::new(Full::new(Bytes::from(text)));
                        *response.status_mut() = hyper::StatusCode::from_u16(status)
                            .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
                        Ok::<_, hyper::Error>(response)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    url
}
