//! A replay verdict asserted against its insta snapshot.

use super::verdict::Verdict;

/// Asserts a verdict against its insta snapshot; insta's complaint when it differs.
pub(crate) fn snapshot(dir: &std::path::Path, label: &str, verdict: &Verdict) -> Option<String> {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(&verdict.path);
    settings.set_description(format!(
        "badgateway replay `{label}` of fixture {}",
        verdict.fixture.id
    ));
    let name = format!("{label}__{}", verdict.fixture.id);
    let text = verdict.snapshot_text();
    let asserted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name, text));
    }));
    asserted.err().map(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "the snapshot differs".into())
    })
}
