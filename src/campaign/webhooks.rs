//! Webhook campaigns: the provider delivers hostile events to your handler, and
//! answers the handler's own calls, in the same cases.

use std::future::Future;
use std::sync::Arc;

use crate::error::Error;
use crate::report::{Finding, Report};
use crate::runner::CaseResult;
use crate::scenario::Scenario;
use crate::store::ReplayReport;
use crate::webhook::{deliver, Handler, Webhooks};

use super::Campaign;

impl Campaign {
    /// Delivers these webhooks to a handler: run with [`Campaign::check_handler`].
    /// The signing secret is scrubbed from everything the campaign writes.
    ///
    /// ```
    /// use badgateway::{Baseline, Campaign, Event, Signing, Webhooks};
    /// let webhooks = Webhooks::new(Signing::stripe("whsec_test_secret"))
    ///     .event(Event::new("payment.succeeded", serde_json::json!({"id": "evt_1", "type": "payment.succeeded"})));
    /// let campaign = Campaign::new("shop.webhooks", Baseline::new()).webhooks(webhooks);
    /// # let _ = campaign;
    /// ```
    pub fn webhooks(mut self, webhooks: Webhooks) -> Self {
        self.secrets.add_value(webhooks.signing.secret());
        self.webhooks = Some(Arc::new(webhooks));
        self
    }

    /// Runs a webhook campaign and panics with the report if it has findings: for
    /// each case, `start` starts your handler (on `127.0.0.1:0`, any framework,
    /// spawned on the current runtime so the case ends it) with the provider's base
    /// URL for the handler's own calls, and hands back its URL ([`Handler`]); the
    /// provider then delivers the case's events to it, signed or forged, while it
    /// answers the handler's calls. A crash loop, a forged delivery accepted and an
    /// event acted on twice are findings, beside panics, hangs and the behaviour rules.
    ///
    /// ```no_run
    /// # use badgateway::{Baseline, Campaign, Event, Signing, Webhooks};
    /// # async fn start_my_handler(provider: String) -> String { provider }
    /// let webhooks = Webhooks::new(Signing::stripe("whsec_test_secret"))
    ///     .event(Event::new("payment.succeeded", serde_json::json!({"id": "evt_1", "type": "payment.succeeded"})));
    /// Campaign::new("shop.webhooks", Baseline::new())
    ///     .webhooks(webhooks)
    ///     .check_handler(|provider| async move { start_my_handler(provider).await });
    /// ```
    ///
    /// # Panics
    /// On findings, with the report; on a harness error, with the error.
    #[track_caller]
    pub fn check_handler<S, Fut, H>(self, start: S)
    where
        S: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = H> + 'static,
        H: Into<Handler>,
    {
        match self.run_handler(start) {
            Ok(report) if report.findings.is_empty() => {}
            Ok(report) => panic!("{}", report.for_terminal()),
            Err(error) => panic!("badgateway: {error}"),
        }
    }

    /// As [`Campaign::check_handler`], returning the report.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) without webhooks or with ones
    /// that cannot be signed; [`ErrorKind::Baseline`](crate::ErrorKind::Baseline)
    /// when the handler does not accept every declared event, signed validly and
    /// unchanged; as [`Campaign::run`] otherwise.
    pub fn run_handler<S, Fut, H>(self, start: S) -> Result<Report, Error>
    where
        S: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = H> + 'static,
        H: Into<Handler>,
    {
        let code = self.handler_code(start)?;
        self.run(code)
    }

    /// Runs these scenarios (their deliveries, and steps for the handler's own calls)
    /// against your handler, without probing, generating, shrinking or keeping
    /// anything (see [`Campaign::run_scenarios`]).
    ///
    /// # Errors
    /// As [`Campaign::run_scenarios`], and without webhooks.
    pub fn run_handler_scenarios<S, Fut, H>(
        self,
        scenarios: Vec<Scenario>,
        start: S,
    ) -> Result<Vec<CaseResult>, Error>
    where
        S: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = H> + 'static,
        H: Into<Handler>,
    {
        let code = self.handler_code(start)?;
        self.run_scenarios(scenarios, code)
    }

    /// Runs one scenario against your handler and, when it is a finding, shrinks it
    /// across its deliveries and steps (see [`Campaign::minimize`]).
    ///
    /// # Errors
    /// As [`Campaign::minimize`], and without webhooks.
    pub fn minimize_handler<S, Fut, H>(
        self,
        scenario: Scenario,
        start: S,
    ) -> Result<Option<Finding>, Error>
    where
        S: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = H> + 'static,
        H: Into<Handler>,
    {
        let code = self.handler_code(start)?;
        self.minimize(scenario, code)
    }

    /// Replays this campaign's fixtures against your handler (see
    /// [`Campaign::replay`]).
    ///
    /// # Panics
    /// As [`Campaign::replay`], and without webhooks.
    #[track_caller]
    pub fn replay_handler<S, Fut, H>(self, label: &str, start: S)
    where
        S: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = H> + 'static,
        H: Into<Handler>,
    {
        match self.handler_code(start) {
            Ok(code) => self.replay(label, code),
            Err(error) => panic!("badgateway: {error}"),
        }
    }

    /// As [`Campaign::replay_handler`], returning the verdicts.
    ///
    /// # Errors
    /// As [`Campaign::replay_report`], and without webhooks.
    pub fn replay_handler_report<S, Fut, H>(
        self,
        label: &str,
        start: S,
    ) -> Result<ReplayReport, Error>
    where
        S: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = H> + 'static,
        H: Into<Handler>,
    {
        let code = self.handler_code(start)?;
        self.replay_report(label, code)
    }

    /// The code a webhook case runs: start the handler, deliver the case's
    /// deliveries to it, return the answers.
    #[allow(clippy::type_complexity)]
    pub(crate) fn handler_code<S, Fut, H>(
        &self,
        start: S,
    ) -> Result<
        impl Fn(String) -> std::pin::Pin<Box<dyn Future<Output = Result<Vec<String>, String>>>>
            + Send
            + Sync
            + 'static,
        Error,
    >
    where
        S: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = H> + 'static,
        H: Into<Handler>,
    {
        let webhooks = self.webhooks.clone().ok_or_else(|| {
            Error::new(
                crate::error::ErrorKind::Config,
                format!(
                    "campaign `{}` has no webhooks to deliver: give them with Campaign::webhooks(Webhooks::new(Signing::stripe(secret)).event(...))",
                    self.suite
                ),
            )
        })?;
        webhooks.check()?;
        if self.judge.is_some() {
            return Err(Error::new(crate::error::ErrorKind::Config, format!(
                "campaign `{}` has a judge, but a webhook handler returns nothing to judge: the webhook rules judge its answers; remove `.judge(..)`",
                self.suite
            )));
        }
        let start = Arc::new(start);
        Ok(move |url: String| {
            let (start, webhooks) = (start.clone(), webhooks.clone());
            let delivered: std::pin::Pin<Box<dyn Future<Output = _>>> = Box::pin(async move {
                let handler: Handler = start(url.clone()).await.into();
                deliver(&url, handler, &webhooks).await
            });
            delivered
        })
    }
}
