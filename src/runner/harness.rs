//! The harness's own runtime, apart from the code under test's.

use std::future::Future;

/// Runs `work` on a fresh multi-threaded runtime on a thread of its own, so that it
/// works whether or not the caller is already inside a runtime. Every public entry
/// (campaign, replay, case) comes through here, so this is where the panic hook is
/// checked, before any case runs.
pub(crate) fn on_harness_runtime<W, Fut, R>(work: W) -> R
where
    W: FnOnce() -> Fut + Send,
    Fut: Future<Output = R>,
    R: Send,
{
    super::call::ensure_panic_hook();
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("badgateway-harness")
                    .enable_all()
                    .build()
                    .expect("the harness runtime builds");
                let result = runtime.block_on(work());
                // Stalled connections of providers still being dropped must not keep
                // this thread waiting.
                runtime.shutdown_background();
                result
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Makes sure the runner's panic hook is installed, for an entry that runs cases on a
/// runtime of its own (fuzzing).
pub(crate) fn check_panic_hook() {
    super::call::ensure_panic_hook();
}
