//! The fixture store: `fixtures/regressions/<suite>/<id>.json`, written atomically.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind};
use crate::store::fixture::Fixture;

use super::files::{anchored, io_error, safe_name, write_atomically, FolderLock};

/// Where regression fixtures live, one folder per suite.
///
/// Every write goes to a temporary file in the suite's folder, is flushed to disk,
/// and is renamed over its final name, so a process killed at any moment leaves
/// either no fixture or a whole one. Findings are kept one per signature: a bug found
/// a hundred times is one fixture, replaced only by a smaller scenario for it.
///
/// ```
/// use badgateway::{faults, Fixture, Saved, Scenario, Store};
/// let root = std::env::temp_dir().join(format!("bg-store-doc-{}", std::process::id()));
/// let store = Store::new(&root);
/// let big = Fixture::by_hand("charges/../create", Scenario::new().then(faults::status(500)).then(faults::status(502)), "hang");
/// let Saved::New(path) = store.save(&big).unwrap() else { panic!() };
/// assert!(path.starts_with(store.suite_dir("charges/../create")) && path.starts_with(&root), "{}", path.display());
/// let small = Fixture::by_hand("charges/../create", Scenario::new().then(faults::status(500)), "hang");
/// assert!(matches!(store.save(&small).unwrap(), Saved::Replaced { .. }));
/// assert!(matches!(store.save(&big).unwrap(), Saved::Known(_)));
/// assert_eq!(store.load("charges/../create").len(), 1);
/// # std::fs::remove_dir_all(&root).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    root: PathBuf,
}

/// What [`Store::save`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Saved {
    /// A new fixture, at this path.
    New(PathBuf),
    /// A smaller scenario for a known signature replaced the fixture at `old`.
    Replaced {
        /// The new fixture.
        path: PathBuf,
        /// The fixture it replaced, now removed.
        old: PathBuf,
    },
    /// The signature already has a fixture at least as small, at this path.
    Known(PathBuf),
}

impl Saved {
    /// The path of the fixture that holds the finding now.
    pub fn path(&self) -> &Path {
        match self {
            Saved::New(path) | Saved::Replaced { path, .. } | Saved::Known(path) => path,
        }
    }
}

impl Store {
    /// A store rooted at this folder (created on the first write). A relative folder
    /// is relative to the crate under test (`CARGO_MANIFEST_DIR`, set by cargo for
    /// tests and examples), else to the current folder.
    pub fn new(root: impl Into<PathBuf>) -> Store {
        Store {
            root: anchored(root.into()),
        }
    }

    /// `$BADGATEWAY_FIXTURES` if set, else `fixtures/regressions` in the package under
    /// test (`$CARGO_MANIFEST_DIR`, which cargo sets for tests), else in the current
    /// folder.
    pub fn default_root() -> PathBuf {
        if let Some(dir) = std::env::var_os("BADGATEWAY_FIXTURES") {
            return dir.into();
        }
        let package = std::env::var_os("CARGO_MANIFEST_DIR")
            .map_or_else(|| PathBuf::from("."), PathBuf::from);
        package.join("fixtures").join("regressions")
    }

    /// The store's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of a suite. A name of letters, digits, `.`, `_` and `-` (not
    /// starting with a dot, at most 80 characters) is the folder's name. Any other name
    /// has every other character replaced by `_`, is cut to 80 characters, and gets a
    /// hash of the whole name as a suffix, so that no name can leave the store or hide
    /// in it, and two names never share a folder.
    ///
    /// ```
    /// let store = badgateway::Store::new("/r");
    /// assert_eq!(store.suite_dir("paygate.create_charge"), std::path::Path::new("/r/paygate.create_charge"));
    /// let escaping = store.suite_dir("../../etc/passwd");
    /// assert!(escaping.starts_with("/r") && escaping.file_name().unwrap().to_str().unwrap().starts_with("_.._.._etc_passwd-"));
    /// assert_ne!(store.suite_dir("a/b"), store.suite_dir("a b"));
    /// ```
    pub fn suite_dir(&self, suite: &str) -> PathBuf {
        self.root.join(safe_name(suite))
    }

    /// Every fixture of a suite, in file-name order; a file that cannot be read or
    /// parsed is an error in its place, so the others still replay.
    pub fn load(&self, suite: &str) -> Vec<Result<(PathBuf, Fixture), Error>> {
        let dir = self.suite_dir(suite);
        let Ok(entries) = fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| is_fixture_file(p))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|path| {
                refuse_link(&path)?;
                let text = fs::read_to_string(&path).map_err(|e| {
                    Error::new(
                        ErrorKind::Io,
                        format!("cannot read fixture {}: {e}", path.display()),
                    )
                    .with_path(&path)
                })?;
                let fixture = Fixture::from_json(&text, &path)?;
                check_place(&path, suite, &fixture)?;
                Ok((path, fixture))
            })
            .collect()
    }

    /// Saves a fixture, one per signature: see [`Saved`].
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the folder or file cannot be written.
    pub fn save(&self, fixture: &Fixture) -> Result<Saved, Error> {
        let dir = self.suite_dir(&fixture.suite);
        // Implementation notes: comparing with the fixtures on disk and writing must
        // be one step, or two processes that find one bug both see no fixture for its
        // signature and write two. The folder's lock makes it one; it also makes any
        // temporary file left in the folder a killed writer's, so it is removed.
        let _lock = FolderLock::acquire(&dir)?;
        let known = self
            .load(&fixture.suite)
            .into_iter()
            .filter_map(Result::ok)
            .find(|(_, f)| f.signature == fixture.signature);
        let path = dir.join(format!("{}.json", fixture.id));
        match known {
            Some((old, existing)) if !replaces(fixture, &existing) => Ok(Saved::Known(old)),
            Some((old, _)) => {
                write_atomically("fixture", &path, fixture.to_json().as_bytes())?;
                if old != path {
                    fs::remove_file(&old).map_err(|e| io_error("fixture", &old, e))?;
                }
                Ok(Saved::Replaced { path, old })
            }
            None => {
                write_atomically("fixture", &path, fixture.to_json().as_bytes())?;
                Ok(Saved::New(path))
            }
        }
    }
}

/// A fixture must be a file of its own: a symbolic link could make the store read (and
/// a replay judge, and a save overwrite) a file anywhere.
fn refuse_link(path: &Path) -> Result<(), Error> {
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidFile,
        format!(
            "fixture {} is a symbolic link: fixtures are read only from files of their own; replace the link with a copy of the file it points to, or remove it",
            path.display()
        ),
    )
    .with_path(path))
}

/// A fixture is where its `suite` and `id` say: one whose file is named after another
/// id would share that one's snapshot and overwrite its verdict, and one from another
/// suite would be judged against the wrong baseline.
fn check_place(path: &Path, suite: &str, fixture: &Fixture) -> Result<(), Error> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let wrong = if fixture.suite != suite {
        format!(
            "its `suite` is {:?} but it is in the folder of suite {suite:?}: move it to that suite's folder, or set `suite` to {suite:?}",
            fixture.suite
        )
    } else if fixture.id != stem {
        format!(
            "its `id` is {:?} but its file is named {stem:?}.json: rename the file to {:?}.json, or set `id` to {stem:?} (two fixtures with one id would share one snapshot)",
            fixture.id, fixture.id
        )
    } else {
        return Ok(());
    };
    Err(Error::new(
        ErrorKind::InvalidFile,
        format!("fixture {}: {wrong}", path.display()),
    )
    .with_path(path))
}

/// Whether `new` takes the place of `old`, a fixture of the same signature.
///
/// Implementation notes: a campaign keeps a finding at first sight (nothing lost if
/// the run is killed), then again once shrunk. The first sight is whichever case of
/// the signature finished first, which changes with timing; letting it stand unless
/// the shrunk one was strictly smaller left 7 of 20 of the example's fixtures holding
/// another scenario on each of five same-seed runs. So a shrunk fixture replaces one
/// that was never shrunk (unless a person wrote it), an unshrunk one never replaces a
/// shrunk one, and otherwise the smaller wins: the file kept is the shrunk one, the
/// same on every run of one seed.
fn replaces(new: &Fixture, old: &Fixture) -> bool {
    let shrunk = |f: &Fixture| f.found.shrink.is_some();
    match (shrunk(new), shrunk(old)) {
        (true, false) if old.found.by != "hand" => true,
        (false, true) => false,
        _ => smaller(new, old),
    }
}

fn smaller(new: &Fixture, old: &Fixture) -> bool {
    // Then the shorter persistence: a step answering 2 requests beats one answering
    // every request.
    let answered = |f: &Fixture| {
        f.scenario.steps.iter().fold(0usize, |n, step| {
            n.saturating_add(step.repeat.span().unwrap_or(usize::MAX))
        })
    };
    let size = |f: &Fixture| (f.scenario.complexity(), f.scenario.steps.len(), answered(f));
    size(new) < size(old)
}

fn is_fixture_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".json") && !name.starts_with('.')
}

/// Where a campaign or replay keeps its fixtures, as the code asked; the environment
/// (`BADGATEWAY_FIXTURES`: a folder, or `off`) has the last word in [`Keeping::store`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Keeping {
    /// [`Store::default_root`].
    Default,
    /// This folder.
    In(PathBuf),
    /// No fixtures.
    Off,
}

impl Keeping {
    /// The store findings go to, if any.
    pub(crate) fn store(&self) -> Option<Store> {
        match std::env::var("BADGATEWAY_FIXTURES") {
            Ok(value) if value == "off" => None,
            Ok(value) => Some(Store::new(value)),
            Err(_) => match self {
                Keeping::Default => Some(Store::new(Store::default_root())),
                Keeping::In(dir) => Some(Store::new(dir)),
                Keeping::Off => None,
            },
        }
    }
}
