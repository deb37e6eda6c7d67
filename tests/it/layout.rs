//! The source tree reads as the flow of a case, and imports point one way.
//!
//! `src/lib.rs` declares the rooms ground-up (`mod scenario; mod contract; ...`), in
//! the order a case flows through them. A file in a room may name, through `crate::`,
//! only its own room and the rooms declared before it. This test reads every file
//! under `src/` and fails on an upward import, naming the file, the line and the fix.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One import that points up the flow.
#[derive(Debug, PartialEq, Eq)]
struct Upward {
    file: String,
    line: usize,
    text: String,
    why: String,
}

/// The rooms in the order `lib.rs` declares them (`mod x;` lines, private or not).
fn declared_rooms(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("mod ")
                .or_else(|| line.strip_prefix("pub mod "))?;
            Some(rest.strip_suffix(';')?.trim().to_owned())
        })
        .collect()
}

/// Every `crate::...` path in a line of code (comments and doc comments are not code).
fn crate_paths(line: &str) -> Vec<&str> {
    let code = line.trim_start();
    if code.starts_with("//") {
        return Vec::new();
    }
    code.match_indices("crate::")
        .filter(|(at, _)| {
            // `$crate::` in macros and identifiers ending in `crate` are not paths.
            let before = code[..*at].chars().last();
            !matches!(before, Some(c) if c.is_alphanumeric() || c == '_' || c == '$')
        })
        .map(|(at, _)| {
            let rest = &code[at + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '{'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

/// The upward imports in a tree rooted at `src`.
fn upward_imports(src: &Path) -> Vec<Upward> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs is readable");
    let rooms = declared_rooms(&lib);
    let rank: BTreeMap<&str, usize> = rooms
        .iter()
        .enumerate()
        .map(|(i, r)| (r.as_str(), i))
        .collect();
    let mut found = Vec::new();
    for (room, file) in room_files(src) {
        let Some(&own) = rank.get(room.as_str()) else {
            found.push(Upward {
                file: file.display().to_string(),
                line: 0,
                text: String::new(),
                why: format!("`{room}` is not a room: declare it in src/lib.rs, in flow order"),
            });
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("a source file is readable");
        for (n, line) in text.lines().enumerate() {
            for path in crate_paths(line) {
                let why = if path.starts_with('{') {
                    Some("a grouped `crate::{..}` import hides which rooms it uses: import each room on its own line".to_owned())
                } else {
                    match rank.get(path) {
                        Some(&other) if other > own => Some(format!(
                            "room `{room}` imports from `{path}`, which comes later in the flow: move the shared item down to `{room}` or a room before it"
                        )),
                        Some(_) => None,
                        None => Some(format!(
                            "`crate::{path}` is not a room: import from the room that defines it, not from the crate root's re-exports"
                        )),
                    }
                };
                if let Some(why) = why {
                    found.push(Upward {
                        file: file.display().to_string(),
                        line: n + 1,
                        text: line.trim().to_owned(),
                        why,
                    });
                }
            }
        }
    }
    found
}

/// Every `.rs` file in the tree with the room it belongs to: the folder under `src/`,
/// or the file's own name for a file at the top (`error.rs`); `lib.rs` is no room.
fn room_files(src: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("a source folder is readable") {
            let path = entry.expect("a folder entry is readable").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") || path == src.join("lib.rs")
            {
                continue;
            }
            let relative = path.strip_prefix(src).expect("below src");
            let first = relative
                .components()
                .next()
                .expect("a path has a first part");
            let room = first
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            out.push((room, path));
        }
    }
    out.sort();
    out
}

#[test]
fn no_room_imports_from_a_room_later_in_the_flow() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let upward = upward_imports(&src);
    let listed: Vec<String> = upward
        .iter()
        .map(|u| format!("{}:{}: {}\n    {}", u.file, u.line, u.text, u.why))
        .collect();
    assert!(
        upward.is_empty(),
        "imports that point up the flow:\n{}",
        listed.join("\n")
    );
}

#[test]
fn the_rooms_are_declared_in_the_order_of_the_flow() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("src/lib.rs is readable");
    assert_eq!(
        declared_rooms(&lib),
        [
            "error", "scenario", "contract", "provider", "webhook", "generate", "runner", "oracle", "store",
            "report", "campaign", "fuzz"
        ],
        "the README's Layout section and lib.rs's architecture paragraph list this order: change them together"
    );
}

#[test]
fn an_upward_import_a_root_import_and_a_grouped_import_are_each_caught() {
    let dir = std::env::temp_dir().join(format!("badgateway-layout-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for room in ["low", "high"] {
        std::fs::create_dir_all(dir.join(room)).unwrap();
    }
    std::fs::write(dir.join("lib.rs"), "mod low;\nmod high;\n").unwrap();
    std::fs::write(
        dir.join("high/mod.rs"),
        "// crate::high::x in a comment is no import\nuse crate::low::Thing;\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("low/mod.rs"),
        "use crate::high::Other;\nuse crate::Thing;\nuse crate::{low, high};\nlet s = \"$crate::high\";\n",
    )
    .unwrap();
    let found = upward_imports(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let lines: Vec<(usize, &str)> = found
        .iter()
        .map(|u| (u.line, u.why.split(": ").next().unwrap_or("")))
        .collect();
    assert_eq!(
        lines,
        [
            (
                1,
                "room `low` imports from `high`, which comes later in the flow"
            ),
            (2, "`crate::Thing` is not a room"),
            (
                3,
                "a grouped `crate::{..}` import hides which rooms it uses"
            ),
        ],
        "{found:#?}"
    );
}
