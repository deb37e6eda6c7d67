//! `badgateway`: the command-line tool that turns what `cargo fuzz` finds into ordinary
//! regression fixtures.
//!
//! ```text
//! badgateway promote <artifact> --suite <name> [--target <name>] [--fuzz-dir <dir>]
//! badgateway show <fixture>
//! ```
//!
//! Exit codes: 0 clean, 1 findings, 2 usage or harness error.
//!
//! `promote` runs the fuzz target on the artifact again (`cargo fuzz run --sanitizer
//! none`), where `badgateway::fuzz::run` confirms the finding, shrinks it and keeps it
//! in the campaign's fixture store; it exits 1 with the finding's report once it is
//! kept (or already was: promoting a bug twice keeps one fixture), 0 when the artifact
//! runs clean now. `show` prints the report of a kept fixture and exits 1 (a fixture is
//! a finding).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{value_parser, Arg, ArgMatches, Command};

use badgateway::fuzz::{Promoted, PROMOTE_OUT_VAR, PROMOTE_SUITE_VAR};
use badgateway::Fixture;

/// The command line, as clap parses it (exit code 2 and the usage on a mistake).
fn cli() -> Command {
    Command::new("badgateway")
        .about("Turns what `cargo fuzz` finds into regression fixtures, and shows them.")
        .after_help("Exit codes: 0 clean, 1 findings, 2 usage or harness error.")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("promote")
                .about("Runs a cargo-fuzz artifact again in its fuzz target, confirms the finding, shrinks it and keeps it as a regression fixture of <suite>")
                .arg(
                    Arg::new("artifact")
                        .required(true)
                        .value_parser(value_parser!(PathBuf))
                        .help("The file libFuzzer named on its `Test unit written to` line"),
                )
                .arg(
                    Arg::new("suite")
                        .long("suite")
                        .required(true)
                        .value_name("name")
                        .help("The fixture suite the replay test reads (paygate.create_charge)"),
                )
                .arg(
                    Arg::new("target")
                        .long("target")
                        .value_name("name")
                        .help("The fuzz target (default: from artifacts/<target>/)"),
                )
                .arg(
                    Arg::new("fuzz-dir")
                        .long("fuzz-dir")
                        .value_name("dir")
                        .value_parser(value_parser!(PathBuf))
                        .help("The cargo-fuzz project (default: the first folder above the artifact with a Cargo.toml)"),
                ),
        )
        .subcommand(
            Command::new("show")
                .about("Prints the report of a kept fixture (fixtures/regressions/<suite>/<id>.json)")
                .arg(
                    Arg::new("fixture")
                        .required(true)
                        .value_parser(value_parser!(PathBuf)),
                ),
        )
}

/// What went wrong before any verdict: exit code 2.
struct Failure(String);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("badgateway: {}", terminal_safe(message.trim_end()));
            ExitCode::from(2)
        }
    }
}

/// The arguments parsed, or what clap said of them: help asked for is printed and is
/// no failure.
fn parsed(command: Command, args: &[String]) -> Result<Result<ArgMatches, ExitCode>, Failure> {
    match command
        .try_get_matches_from(std::iter::once("badgateway").chain(args.iter().map(String::as_str)))
    {
        Ok(matches) => Ok(Ok(matches)),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            print!("{}", e.render());
            Ok(Err(ExitCode::SUCCESS))
        }
        Err(e) => Err(Failure(e.render().to_string())),
    }
}

fn run(args: &[String]) -> Result<ExitCode, Failure> {
    let matches = match parsed(cli(), args)? {
        Ok(matches) => matches,
        Err(code) => return Ok(code),
    };
    match matches.subcommand() {
        Some(("promote", m)) => promote(&Promote::from_matches(m)?),
        Some(("show", m)) => show(m.get_one::<PathBuf>("fixture").expect("required")),
        _ => unreachable!("clap requires a known subcommand"),
    }
}

/// `promote`'s arguments.
#[derive(Debug, PartialEq, Eq)]
struct Promote {
    artifact: PathBuf,
    suite: String,
    target: String,
    fuzz_dir: PathBuf,
}

impl Promote {
    /// `promote`'s arguments (what follows `promote`), checked.
    #[cfg(test)]
    fn parse(args: &[String]) -> Result<Promote, Failure> {
        let mut all = vec!["promote".to_owned()];
        all.extend_from_slice(args);
        let matches = match parsed(cli(), &all)? {
            Ok(matches) => matches,
            Err(_) => return Err(Failure("help asked for".into())),
        };
        let (_, m) = matches.subcommand().expect("promote");
        Promote::from_matches(m)
    }

    fn from_matches(m: &ArgMatches) -> Result<Promote, Failure> {
        let artifact = m.get_one::<PathBuf>("artifact").expect("required").clone();
        let suite = m.get_one::<String>("suite").expect("required").clone();
        check_suite(&suite)?;
        if !artifact.is_file() {
            return Err(Failure(format!(
                "no artifact at {}: give the file libFuzzer named on its `Test unit written to` line (fuzz/artifacts/<target>/crash-...)",
                artifact.display()
            )));
        }
        let artifact = artifact.canonicalize().map_err(|e| {
            Failure(format!(
                "cannot read the artifact {}: {e}",
                artifact.display()
            ))
        })?;
        let target = match m.get_one::<String>("target") {
            Some(target) => target.clone(),
            None => target_of(&artifact)?,
        };
        let fuzz_dir = match m.get_one::<PathBuf>("fuzz-dir") {
            Some(dir) => dir.clone(),
            None => fuzz_dir_of(&artifact)?,
        };
        if !fuzz_dir.join("Cargo.toml").is_file() {
            return Err(Failure(format!(
                "{} holds no Cargo.toml: pass `--fuzz-dir` the folder `cargo fuzz init` made",
                fuzz_dir.display()
            )));
        }
        Ok(Promote {
            artifact,
            suite,
            target,
            fuzz_dir,
        })
    }
}

/// The target an artifact belongs to: cargo fuzz writes `artifacts/<target>/...`.
fn target_of(artifact: &Path) -> Result<String, Failure> {
    let parent = artifact.parent();
    let under_artifacts = parent
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .is_some_and(|n| n == "artifacts");
    match parent.and_then(Path::file_name) {
        Some(name) if under_artifacts => Ok(name.to_string_lossy().into_owned()),
        _ => Err(Failure(format!(
            "cannot tell the fuzz target of {}: it is not under artifacts/<target>/; pass `--target <name>`",
            artifact.display()
        ))),
    }
}

/// The cargo-fuzz project an artifact belongs to: the first folder above it that holds a
/// `Cargo.toml` (cargo fuzz writes `<fuzz dir>/artifacts/<target>/...`), else `fuzz` here.
fn fuzz_dir_of(artifact: &Path) -> Result<PathBuf, Failure> {
    let found = artifact
        .ancestors()
        .skip(1)
        .find(|dir| dir.join("Cargo.toml").is_file());
    match found {
        Some(dir) => Ok(dir.to_path_buf()),
        None if Path::new("fuzz/Cargo.toml").is_file() => Ok(PathBuf::from("fuzz")),
        None => Err(Failure(format!(
            "no cargo-fuzz project above {} and no fuzz/ here: pass `--fuzz-dir <dir>`",
            artifact.display()
        ))),
    }
}

/// A suite name a replay test can read: not empty, no surrounding spaces, no control
/// characters (it names a folder and is printed).
fn check_suite(suite: &str) -> Result<(), Failure> {
    let fine = !suite.is_empty() && suite.trim() == suite && !suite.chars().any(unsafe_char);
    if fine {
        return Ok(());
    }
    Err(Failure(format!(
        "`--suite {}` is no suite name: give the name the replay test reads, such as `paygate.create_charge` (not empty, no surrounding spaces, no control characters)",
        terminal_safe(&format!("{suite:?}"))
    )))
}

/// Characters a terminal acts on rather than shows: control characters (escape
/// sequences clear the screen, retitle the window, plant links) and the invisible
/// direction marks that reorder what is shown.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` as a terminal may show it: every character it would act on, escaped.
fn terminal_safe(text: &str) -> String {
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        if unsafe_char(c) {
            safe.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            safe.push(c);
        }
    }
    safe
}

/// A folder of this process's own for the target's answer: made anew (never one that
/// already exists), readable by this user only, so no other process can plant or read
/// the promotion.
fn private_dir() -> Result<PathBuf, Failure> {
    use std::hash::{BuildHasher, Hasher};
    use std::os::unix::fs::DirBuilderExt;
    for _ in 0..16 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        let dir = std::env::temp_dir().join(format!("badgateway-promote-{:016x}", hasher.finish()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Failure(format!(
                    "cannot make a folder for the promotion in {}: {e}; set TMPDIR to a writable folder",
                    std::env::temp_dir().display()
                )))
            }
        }
    }
    Err(Failure("cannot make a fresh folder for the promotion in the temporary folder: set TMPDIR to another".into()))
}

fn promote(promote: &Promote) -> Result<ExitCode, Failure> {
    let private = private_dir()?;
    let out = private.join("promoted.json");
    let answer = run_target(promote, &out);
    let _ = std::fs::remove_dir_all(&private);
    answer
}

fn run_target(promote: &Promote, out: &Path) -> Result<ExitCode, Failure> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!(
        "badgateway: running {} on {} to confirm its finding (cargo fuzz run --sanitizer none)",
        promote.target,
        promote.artifact.display()
    );
    let status = std::process::Command::new(&cargo)
        .args(["fuzz", "run", "--sanitizer", "none", "--fuzz-dir"])
        .arg(&promote.fuzz_dir)
        .arg(&promote.target)
        .arg(&promote.artifact)
        .env(PROMOTE_SUITE_VAR, &promote.suite)
        .env(PROMOTE_OUT_VAR, out)
        .status()
        .map_err(|e| Failure(format!("cannot run `{cargo} fuzz`: {e}; install it with `cargo install cargo-fuzz --locked`")))?;
    let written = std::fs::read_to_string(out);
    let written = written.ok().filter(|_| status.success());
    let Some(written) = written else {
        return Err(Failure(format!(
            "`cargo fuzz run {}` ended ({status}) without promoting anything: does the target call badgateway::fuzz::run, and does it build? Its output is above",
            promote.target
        )));
    };
    let promoted: Promoted = serde_json::from_str(&written)
        .map_err(|e| Failure(format!("the fuzz target wrote a promotion this tool cannot read ({e}): are badgateway and badgateway-cli the same version?")))?;
    match promoted {
        Promoted::Kept {
            suite,
            fixture,
            saved,
            report,
            ..
        } => {
            println!("{}", terminal_safe(&report));
            let what = match saved.as_str() {
                "known" => "already kept, as small or smaller: nothing duplicated",
                "replaced" => "kept, replacing a larger scenario of the same bug",
                _ => "kept",
            };
            let fixture = std::env::current_dir()
                .ok()
                .and_then(|here| {
                    Path::new(&fixture)
                        .strip_prefix(here)
                        .ok()
                        .map(Path::to_path_buf)
                })
                .unwrap_or_else(|| PathBuf::from(&fixture));
            println!(
                "fixture: {} ({what})",
                terminal_safe(&fixture.display().to_string())
            );
            println!("next: run the replay test of suite `{suite}` (cargo test), review its new snapshot (cargo insta review), and commit both");
            Ok(ExitCode::from(1))
        }
        Promoted::Clean { outcome } => {
            println!(
                "the artifact runs clean now, nothing kept: {}",
                terminal_safe(&outcome)
            );
            Ok(ExitCode::SUCCESS)
        }
        Promoted::Failed { error } => Err(Failure(error)),
    }
}

fn show(path: &Path) -> Result<ExitCode, Failure> {
    print!("{}", shown(path)?);
    Ok(ExitCode::from(1))
}

/// A fixture's report as `show` prints it: what a terminal would act on, escaped.
fn shown(path: &Path) -> Result<String, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure(format!(
            "cannot read the fixture {}: {e}; fixtures are kept as fixtures/regressions/<suite>/<id>.json",
            path.display()
        ))
    })?;
    let fixture = Fixture::from_json(&text, path).map_err(|e| Failure(e.to_string()))?;
    Ok(terminal_safe(&fixture.report()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(all: &[&str]) -> Vec<String> {
        all.iter().map(|s| (*s).to_owned()).collect()
    }

    fn failure(result: Result<ExitCode, Failure>) -> String {
        match result {
            Err(Failure(message)) => message,
            Ok(code) => panic!("expected a failure, got {code:?}"),
        }
    }

    #[test]
    fn usage_errors_say_what_is_missing() {
        assert!(failure(run(&[])).contains("Usage: badgateway <COMMAND>"));
        let unknown = failure(run(&args(&["frobnicate"])));
        assert!(
            unknown.starts_with("error: unrecognized subcommand 'frobnicate'"),
            "{unknown}"
        );
        let show = failure(run(&args(&["show"])));
        assert!(
            show.contains("required arguments were not provided") && show.contains("<fixture>"),
            "{show}"
        );
        let no_suite = failure(run(&args(&["promote", "x"])));
        assert!(
            no_suite.contains("required arguments were not provided")
                && no_suite.contains("--suite <name>"),
            "{no_suite}"
        );
        let no_value = failure(run(&args(&["promote", "x", "--suite"])));
        assert!(
            no_value.starts_with("error: a value is required for '--suite <name>'"),
            "{no_value}"
        );
        let missing = failure(run(&args(&["promote", "/no/such/crash-1", "--suite", "s"])));
        assert!(
            missing.starts_with("no artifact at /no/such/crash-1: give the file libFuzzer named"),
            "{missing}"
        );
    }

    #[test]
    fn the_target_and_fuzz_dir_come_from_where_cargo_fuzz_writes_artifacts() {
        let root = std::env::temp_dir().join(format!("badgateway-cli-{}", std::process::id()));
        let dir = root.join("fuzz/artifacts/naive_refund");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(root.join("fuzz/Cargo.toml"), "[package]\n").unwrap();
        let artifact = dir.join("crash-abc");
        std::fs::write(&artifact, b"\x01\x02").unwrap();
        let parsed = Promote::parse(
            &args(&[
                "promote",
                artifact.to_str().unwrap(),
                "--suite",
                "paygate.refund",
            ])[1..],
        );
        let parsed = parsed.unwrap_or_else(|Failure(m)| panic!("{m}"));
        assert_eq!(parsed.target, "naive_refund");
        assert_eq!(parsed.fuzz_dir, root.join("fuzz").canonicalize().unwrap());
        assert_eq!(parsed.suite, "paygate.refund");
        // Elsewhere, the target must be named.
        let loose = root.join("crash-def");
        std::fs::write(&loose, b"\x01").unwrap();
        let unnamed = failure(
            Promote::parse(&args(&[loose.to_str().unwrap(), "--suite", "s"]))
                .map(|_| ExitCode::SUCCESS),
        );
        assert!(unnamed.contains("pass `--target <name>`"), "{unnamed}");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn show_prints_a_fixture_and_names_a_broken_one() {
        let root = std::env::temp_dir().join(format!("badgateway-cli-show-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        let broken = root.join("broken.json");
        std::fs::write(&broken, "{\"format\": 1,\n \"id\": 3}").unwrap();
        let message = failure(show(&broken));
        assert!(
            message.starts_with(&format!("invalid fixture {}", broken.display())),
            "{message}"
        );
        let kept = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/regressions/paygate.create_charge/394082f57196fd23.json");
        assert_eq!(show(&kept).ok(), Some(ExitCode::from(1)));
        let _ = std::fs::remove_dir_all(&root);
    }

    /// A fixture is a file anyone may hand over: what it says is shown, never acted on
    /// (escape sequences clear the screen, retitle the terminal, plant hyperlinks).
    #[test]
    fn show_escapes_what_a_terminal_would_act_on() {
        let root =
            std::env::temp_dir().join(format!("badgateway-cli-escapes-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}]8;;http://evil\u{1b}\\here\u{202e}txt";
        let fixture = badgateway::Fixture::by_hand(
            "cli.hostile",
            badgateway::Scenario::new(),
            &format!("panic at {hostile}"),
        );
        let path = root.join(format!("{}.json", fixture.id));
        std::fs::write(&path, fixture.to_json()).unwrap();
        let text = shown(&path).unwrap_or_else(|Failure(e)| panic!("{e}"));
        assert!(!text.chars().any(unsafe_char), "{text:?}");
        assert!(text.contains("\\u{1b}]0;pwned\\u{7}\\u{1b}[2J"), "{text}");
        assert!(text.contains("\\u{202e}txt"), "{text}");
        assert!(text.contains('\n'), "line breaks stay: {text}");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_suite_name_that_is_empty_or_holds_control_characters_is_refused() {
        for suite in ["", " paygate", "pay\u{1b}[2Jgate"] {
            let message = failure(run(&args(&["promote", "x", "--suite", suite])));
            assert!(message.contains("is no suite name"), "{message}");
            assert!(!message.contains('\u{1b}'), "{message:?}");
        }
    }
}
