//! [`Input`]: libFuzzer's bytes, shown as the scenario they decode to.
//!
//! Implementation notes: `cargo fuzz fmt` runs a target with `RUST_LIBFUZZER_DEBUG_PATH`
//! set, and libfuzzer-sys writes the `Debug` form of the target's input type there
//! instead of running the body. For `&[u8]` that is raw bytes, which say nothing of a
//! scenario; and decoding needs the campaign (its probe, catalog and contract), which
//! `Arbitrary` cannot be given. So a target takes an [`Input`] (the same bytes) and
//! names its campaign in libfuzzer-sys's `init:` ([`describe_with`]), which runs
//! before any input: `Input`'s `Debug` then decodes through the same code path as
//! [`run`](super::run).

use std::fmt::{Debug, Display};
use std::future::Future;
use std::sync::{Arc, OnceLock};

use arbitrary::{Arbitrary, Unstructured};

use crate::campaign::Campaign;

/// libFuzzer's bytes, as a fuzz target takes them to be shown by `cargo fuzz fmt` as
/// the scenario they decode to (see [`describe_with`]). It derefs to the bytes.
///
/// ```no_run
/// # use std::sync::LazyLock;
/// # use badgateway::{Baseline, Campaign};
/// # static CAMPAIGN: LazyLock<Campaign> = LazyLock::new(|| Campaign::new("balance", Baseline::new()));
/// # async fn balance(url: String) -> Result<String, String> { Ok(url) }
/// # macro_rules! fuzz_target { (init: $i:expr, |$d:ident: $t:ty| $b:block) => { fn init() { $i; } fn target($d: $t) $b }; }
/// fuzz_target!(init: badgateway::fuzz::describe_with(&CAMPAIGN, balance), |input: badgateway::fuzz::Input| {
///     badgateway::fuzz::run(&input, &CAMPAIGN, balance);
/// });
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Input(pub Vec<u8>);

impl std::ops::Deref for Input {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Input(u.bytes(u.len())?.to_vec()))
    }

    fn arbitrary_take_rest(u: Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Input(u.take_rest().to_vec()))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (0, None)
    }
}

/// How this process shows an input: set once by [`describe_with`].
type Describe = dyn Fn(&[u8]) -> String + Send + Sync;
static DESCRIBE: OnceLock<Box<Describe>> = OnceLock::new();

impl Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match DESCRIBE.get() {
            Some(describe) => f.write_str(&describe(&self.0)),
            None => write!(
                f,
                "Input({} bytes: {:?}) (name the target's campaign with badgateway::fuzz::describe_with in fuzz_target!'s `init:` to see the scenario)",
                self.0.len(),
                self.0
            ),
        }
    }
}

/// Shows this process's [`Input`]s as the scenario they decode to under `campaign`
/// with `code` (probing its baseline on first use, as [`run`](super::run) does), as
/// pretty JSON: what `cargo fuzz fmt` prints. Call it in libfuzzer-sys's `init:`.
pub fn describe_with<F, Fut, T, E>(campaign: &'static Campaign, code: F)
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Debug + 'static,
    E: Display + 'static,
{
    let code = Arc::new(code);
    let _ = DESCRIBE.set(Box::new(move |bytes| {
        let code = code.clone();
        match super::decode(bytes, campaign, move |url| code(url)) {
            Ok(scenario) => format!(
                "scenario of campaign `{}` ({} bytes):\n{}",
                campaign.suite,
                bytes.len(),
                serde_json::to_string_pretty(&scenario).expect("a scenario always serialises")
            ),
            Err(error) => format!(
                "{} bytes; cannot decode them under campaign `{}`: {error}",
                bytes.len(),
                campaign.suite
            ),
        }
    }));
}

/// As [`describe_with`], for a webhook campaign's target ([`run_handler`](super::run_handler)).
pub fn describe_handler_with<S, Fut, H>(campaign: &'static Campaign, start: S)
where
    S: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = H> + 'static,
    H: Into<crate::webhook::Handler>,
{
    match campaign.handler_code(start) {
        Ok(code) => describe_with(campaign, code),
        Err(error) => {
            let message = error.to_string();
            let _ = DESCRIBE.set(Box::new(move |bytes| {
                format!("{} bytes; cannot decode them: {message}", bytes.len())
            }));
        }
    }
}
