//! The settings a campaign runs with, after the environment had its say.

use std::time::Duration;

use crate::error::Error;
use crate::runner::settings::{
    case_limit, config_error, deadline_and_concurrency, env_number, isolation,
};
use crate::scenario::hash::fnv1a;

use super::campaign::Campaign;

/// A campaign's settings with every override applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) cases: u32,
    pub(crate) seed: u64,
    pub(crate) deadline: Duration,
    pub(crate) concurrency: usize,
    pub(crate) case_limit: Option<Duration>,
    pub(crate) isolated: bool,
    pub(crate) memory_cap: u64,
}

impl Campaign {
    /// The settings: `BADGATEWAY_CASES`, `BADGATEWAY_SEED`, `BADGATEWAY_DEADLINE_MS`
    /// and `BADGATEWAY_CONCURRENCY` win over the code, which wins over the defaults.
    pub(crate) fn settings(&self) -> Result<Settings, Error> {
        if let Some(why) = crate::report::report_setting_error() {
            return Err(Error::new(crate::error::ErrorKind::Config, why));
        }
        let cases = match env_number("BADGATEWAY_CASES")? {
            Some(n) => {
                u32::try_from(n).map_err(|_| config_error("BADGATEWAY_CASES", &n.to_string()))?
            }
            None => self
                .cases
                .unwrap_or_else(|| proptest::test_runner::Config::default().cases),
        };
        let seed = env_number("BADGATEWAY_SEED")?
            .or(self.seed)
            .unwrap_or_else(|| fnv1a(self.suite.as_bytes()));
        let (deadline, concurrency) = deadline_and_concurrency(self.deadline, self.concurrency)?;
        let (isolated, memory_cap) = isolation(self.isolated, self.memory_cap)?;
        Ok(Settings {
            isolated,
            memory_cap,
            cases,
            seed,
            deadline,
            concurrency,
            case_limit: case_limit(self.case_limit)?,
        })
    }
}
