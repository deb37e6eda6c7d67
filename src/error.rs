//! The library's one error type.

use std::fmt;
use std::path::{Path, PathBuf};

/// An error of the harness itself: a bad file, a socket that would not bind, a
/// baseline the client cannot use.
///
/// Failures of *your* code under test (panics, hangs, wrong acceptance) are never
/// errors: they are [`crate::Outcome`]s.
///
/// ```
/// let err = badgateway::Baseline::from_file("no/such/file.json").unwrap_err();
/// assert_eq!(err.kind(), badgateway::ErrorKind::Io);
/// assert!(err.to_string().starts_with("cannot read baseline file no/such/file.json"));
/// ```
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    path: Option<PathBuf>,
}

/// What kind of thing went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading a file or opening a socket failed.
    Io,
    /// A file was read but its contents are not valid.
    InvalidFile,
    /// The client under test does not succeed against the unmodified baseline, so no
    /// finding could be told apart from a broken setup.
    Baseline,
    /// A configuration value (from code or the environment) is not valid.
    Config,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            path: None,
        }
    }

    pub(crate) fn with_path(mut self, path: &Path) -> Self {
        self.path = Some(path.to_owned());
        self
    }

    /// What kind of error this is.
    ///
    /// ```
    /// # let err = badgateway::Baseline::from_file("missing.json").unwrap_err();
    /// assert_eq!(err.kind(), badgateway::ErrorKind::Io);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file the error is about, if any.
    ///
    /// ```
    /// # let err = badgateway::Baseline::from_file("missing.json").unwrap_err();
    /// assert_eq!(err.path().unwrap().to_str(), Some("missing.json"));
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
