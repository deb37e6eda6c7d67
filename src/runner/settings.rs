//! Settings that the environment can override, so that CI can turn a run up or down
//! without a change to the code.

use std::time::Duration;

use crate::error::{Error, ErrorKind};

/// The deadline and concurrency a run uses: `BADGATEWAY_DEADLINE_MS` and
/// `BADGATEWAY_CONCURRENCY` win over the code's values.
///
/// # Errors
/// [`ErrorKind::Config`] when a variable is not a whole number.
pub(crate) fn deadline_and_concurrency(
    deadline: Duration,
    concurrency: usize,
) -> Result<(Duration, usize), Error> {
    let deadline = env_number("BADGATEWAY_DEADLINE_MS")?
        .map(Duration::from_millis)
        .unwrap_or(deadline);
    let concurrency = env_number("BADGATEWAY_CONCURRENCY")?
        .map(|n| n.max(1) as usize)
        .unwrap_or(concurrency);
    Ok((deadline, concurrency))
}

/// How long a case may run in all: `BADGATEWAY_CASE_LIMIT_MS` wins over the code's.
///
/// # Errors
/// [`ErrorKind::Config`] when the variable is not a whole number.
pub(crate) fn case_limit(limit: Option<Duration>) -> Result<Option<Duration>, Error> {
    Ok(env_number("BADGATEWAY_CASE_LIMIT_MS")?
        .map(Duration::from_millis)
        .or(limit))
}

/// Whether cases run in worker processes, and their memory cap in bytes:
/// `BADGATEWAY_ISOLATION` (`process` or `off`) and `BADGATEWAY_MEMORY_CAP_MB` win over
/// the code's.
///
/// # Errors
/// [`ErrorKind::Config`] when a variable is not one of those values.
pub(crate) fn isolation(isolated: bool, memory_cap: u64) -> Result<(bool, u64), Error> {
    let isolated = match std::env::var("BADGATEWAY_ISOLATION") {
        Err(_) => isolated,
        Ok(value) => match value.trim() {
            "process" | "on" | "1" => true,
            "off" | "0" | "" => false,
            other => {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("invalid BADGATEWAY_ISOLATION={other:?}: expected `process` (cases run in a worker process) or `off`"),
                ))
            }
        },
    };
    let memory_cap = env_number("BADGATEWAY_MEMORY_CAP_MB")?
        .map(|mb| mb.saturating_mul(1 << 20))
        .unwrap_or(memory_cap);
    Ok((isolated, memory_cap))
}

/// A whole number from the environment (decimal, or hex with `0x`), if set.
///
/// # Errors
/// [`ErrorKind::Config`] naming the variable and an example when it is not a number.
pub(crate) fn env_number(name: &str) -> Result<Option<u64>, Error> {
    let Ok(text) = std::env::var(name) else {
        return Ok(None);
    };
    let trimmed = text.trim();
    let parsed = match trimmed.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => trimmed.parse(),
    };
    parsed.map(Some).map_err(|_| config_error(name, &text))
}

/// One of a few words from the environment, if set: `choices` maps each word to its
/// value, and any other word is an error that lists them.
pub(crate) fn env_choice<T: Copy>(name: &str, choices: &[(&str, T)]) -> Result<Option<T>, Error> {
    let Ok(text) = std::env::var(name) else {
        return Ok(None);
    };
    let word = text.trim();
    match choices.iter().find(|(w, _)| *w == word) {
        Some((_, value)) => Ok(Some(*value)),
        None => {
            let words: Vec<String> = choices.iter().map(|(w, _)| format!("`{w}`")).collect();
            Err(Error::new(
                ErrorKind::Config,
                format!("invalid {name}={text:?}: expected {}", words.join(" or ")),
            ))
        }
    }
}

/// The error for a variable that is not a whole number.
pub(crate) fn config_error(name: &str, value: &str) -> Error {
    Error::new(
        ErrorKind::Config,
        format!("invalid {name}={value:?}: expected a whole number (decimal, or hex with 0x), for example {name}=64"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_numbers_are_decimal_or_hex_and_a_bad_one_says_how_to_fix_it() {
        // Names used by this test alone, so no other test reads them meanwhile.
        std::env::set_var("BADGATEWAY_TEST_ONLY_DEC", "64");
        std::env::set_var("BADGATEWAY_TEST_ONLY_HEX", "0x2a");
        std::env::set_var("BADGATEWAY_TEST_ONLY_BAD", "many");
        assert_eq!(env_number("BADGATEWAY_TEST_ONLY_DEC").unwrap(), Some(64));
        assert_eq!(env_number("BADGATEWAY_TEST_ONLY_HEX").unwrap(), Some(42));
        assert_eq!(env_number("BADGATEWAY_TEST_ONLY_UNSET").unwrap(), None);
        let error = env_number("BADGATEWAY_TEST_ONLY_BAD").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        assert_eq!(
            error.to_string(),
            "invalid BADGATEWAY_TEST_ONLY_BAD=\"many\": expected a whole number (decimal, or hex with 0x), for example BADGATEWAY_TEST_ONLY_BAD=64"
        );
    }
}
