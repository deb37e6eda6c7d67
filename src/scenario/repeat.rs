//! How many requests in a row one step answers: persistent faults.

use serde::{Deserialize, Serialize};

/// How many requests in a row a [`Step`](crate::Step) answers, from the request it
/// first meets: once (the default), a number of times, or always (from that request on,
/// for the rest of the case: the provider stays down, every page says there is more).
///
/// ```
/// use badgateway::Repeat;
/// assert_eq!(serde_json::to_string(&Repeat::Times(40)).unwrap(), r#"{"times":40}"#);
/// assert_eq!(serde_json::to_string(&Repeat::Always).unwrap(), r#""always""#);
/// assert_eq!(Repeat::Times(3).span(), Some(3));
/// assert_eq!(Repeat::Always.span(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Repeat {
    /// One request.
    #[default]
    Once,
    /// This many requests in a row (0 is read as 1).
    Times(u32),
    /// Every request from the first one it meets on.
    Always,
}

impl Repeat {
    /// How many requests the step answers; `None` for always.
    pub fn span(self) -> Option<usize> {
        match self {
            Repeat::Once => Some(1),
            Repeat::Times(n) => Some(usize::try_from(n).unwrap_or(usize::MAX).max(1)),
            Repeat::Always => None,
        }
    }

    pub(crate) fn is_once(&self) -> bool {
        self.span() == Some(1)
    }
}

/// The count `always` shrinks to first: past every default bound on attempts and
/// pages, so a finding that needs persistence keeps it.
pub(crate) const LONGEST_COUNT: u32 = 64;
