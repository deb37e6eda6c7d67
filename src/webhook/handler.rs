//! The webhook handler under test, as the test hands it over.

use std::sync::Arc;

/// The webhook handler under test: the URL its server listens on (started by your
/// test on `127.0.0.1:0`, any framework), and optionally how many effects it has had
/// (orders fulfilled), so a duplicate delivery acted on twice shows even when the
/// handler never calls the provider.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// let fulfilled = Arc::new(AtomicU64::new(0));
/// let seen = fulfilled.clone();
/// let handler = badgateway::Handler::at("http://127.0.0.1:8080/webhooks")
///     .counting(move || seen.load(Ordering::SeqCst));
/// assert_eq!(handler.url(), "http://127.0.0.1:8080/webhooks");
/// ```
#[derive(Clone)]
pub struct Handler {
    url: String,
    effects: Option<Arc<dyn Fn() -> u64 + Send + Sync>>,
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handler")
            .field("url", &self.url)
            .field("counting", &self.effects.is_some())
            .finish()
    }
}

impl Handler {
    /// The handler listening at this URL (`http://127.0.0.1:PORT/path`).
    pub fn at(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            effects: None,
        }
    }

    /// How many effects the handler has had so far in this case (orders fulfilled,
    /// emails sent): read after each delivery settles.
    pub fn counting(mut self, effects: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.effects = Some(Arc::new(effects));
        self
    }

    /// The URL deliveries are posted to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The handler's own count of effects, 0 when it reports none.
    pub(crate) fn effects(&self) -> u64 {
        self.effects.as_ref().map_or(0, |f| f())
    }
}

impl From<String> for Handler {
    fn from(url: String) -> Self {
        Handler::at(url)
    }
}

impl From<&str> for Handler {
    fn from(url: &str) -> Self {
        Handler::at(url)
    }
}
