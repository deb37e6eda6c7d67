//! Writing files that are meant to be committed or uploaded: atomically, never
//! through a planted link, one writer at a time per folder, under names that are
//! safe, bounded and distinct.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, ErrorKind};
use crate::scenario::hash::fnv1a;

/// File and folder names made from user text keep at most this many characters of it.
const MAX_NAME_CHARS: usize = 80;
/// Temporary files end with this.
const TMP_SUFFIX: &str = ".tmp";
/// Numbers the temporary files of this process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A safe, bounded, distinct file or folder name for `text`.
///
/// A name made only of letters, digits, `.`, `_` and `-`, not starting with a dot and
/// at most 80 characters long, is kept as it is, so existing folders keep their
/// names. Any other name has every other character replaced by `_`, is cut to 80
/// characters, and gets a hash of the whole original text as a suffix: `a/b` and
/// `a b` become `a_b-…` with different hashes, and a 300-character name fits a file
/// system's limit.
pub(crate) fn safe_name(text: &str) -> String {
    let is_plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let unchanged = !text.is_empty()
        && !text.starts_with('.')
        && text.chars().count() <= MAX_NAME_CHARS
        && text.chars().all(is_plain);
    if unchanged {
        return text.to_owned();
    }
    let cleaned: String = text
        .chars()
        .take(MAX_NAME_CHARS)
        .map(|c| if is_plain(c) { c } else { '_' })
        .collect();
    let cleaned = if cleaned.starts_with('.') {
        format!("_{cleaned}")
    } else {
        cleaned
    };
    format!("{cleaned}-{:016x}", fnv1a(text.as_bytes()))
}

/// An error writing `path`, naming it.
pub(crate) fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("cannot write {what} {}: {e}", path.display()),
    )
    .with_path(path)
}

/// Writes `bytes` to `path` so that it is either absent or whole: into a new
/// temporary file beside it, created exclusively (`O_EXCL`, so a link planted at the
/// temporary name is refused, never followed), flushed to disk, renamed over `path`
/// (which replaces a link there rather than writing through it), and the folder
/// flushed.
pub(crate) fn write_atomically(what: &str, path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| io_error(what, dir, e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let (tmp, mut file) = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}.{n}{TMP_SUFFIX}", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => break (tmp, file),
            // Taken (by a planted file or link, or a stale one): try the next name.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1 << 20 => {}
            Err(e) => return Err(io_error(what, path, e)),
        }
    };
    let written = (|| {
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    written.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_error(what, path, e)
    })
}

/// An exclusive lock on a folder, held until dropped: writers of one folder in any
/// number of processes take turns. The kernel releases it when the process dies, so
/// a killed run never leaves a folder locked.
#[derive(Debug)]
pub(crate) struct FolderLock {
    _file: File,
}

impl FolderLock {
    /// Waits for the lock on `dir` (created if need be), then removes temporary files
    /// a killed writer left there: with the lock held, no live writer has one.
    pub(crate) fn acquire(dir: &Path) -> Result<FolderLock, Error> {
        fs::create_dir_all(dir).map_err(|e| io_error("folder", dir, e))?;
        // The folder itself is locked where the platform allows it (Linux and macOS
        // lock a directory's descriptor), so no lock file litters the user's fixtures;
        // elsewhere, a `.lock` file in it.
        let file = match File::open(dir).and_then(|d| d.lock().map(|()| d)) {
            Ok(locked) => locked,
            Err(_) => {
                let path = dir.join(".lock");
                let file = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .map_err(|e| io_error("lock file", &path, e))?;
                file.lock().map_err(|e| io_error("lock file", &path, e))?;
                file
            }
        };
        remove_stale_temporaries(dir);
        Ok(FolderLock { _file: file })
    }
}

/// Removes `.*.tmp` files in `dir`; call only with the folder's lock held.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') && name.ends_with(TMP_SUFFIX) && path.is_file() {
            let _ = fs::remove_file(&path);
        }
    }
}

/// `path` made absolute: a relative path is relative to the crate under test
/// (`CARGO_MANIFEST_DIR`, which cargo sets when it runs tests and examples), else to
/// the current folder. Never relative to badgateway's own source, where insta would
/// otherwise resolve it.
pub(crate) fn anchored(path: PathBuf) -> PathBuf {
    if path.is_absolute() {
        return path;
    }
    let base = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    base.join(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_stay_and_others_get_distinct_bounded_names() {
        assert_eq!(safe_name("paygate.create_charge"), "paygate.create_charge");
        let (slash, space) = (safe_name("a/b"), safe_name("a b"));
        assert_ne!(slash, space);
        assert!(slash.starts_with("a_b-") && space.starts_with("a_b-"));
        let long = safe_name(&"x".repeat(300));
        assert!(long.len() <= MAX_NAME_CHARS + 17, "{long}");
        assert_ne!(long, safe_name(&"x".repeat(299)));
        assert!(safe_name("../../etc").starts_with("_.._.._etc-"));
        assert!(!safe_name("").is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn links_planted_at_the_next_temporary_names_are_refused_not_followed() {
        let dir = std::env::temp_dir().join(format!("bg-files-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        fs::write(&victim, "precious").unwrap();
        let next = COUNTER.load(Ordering::Relaxed);
        for n in next..next + 64 {
            let tmp = dir.join(format!(".out.xml.{}.{n}{TMP_SUFFIX}", std::process::id()));
            std::os::unix::fs::symlink(&victim, tmp).unwrap();
        }
        write_atomically("test file", &dir.join("out.xml"), b"<ok/>").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(fs::read_to_string(dir.join("out.xml")).unwrap(), "<ok/>");
        let _ = fs::remove_dir_all(&dir);
    }
}
