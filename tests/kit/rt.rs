//! Running the kit's async work from the blocking API its callers use.

use std::future::Future;

/// Run `future` on `runtime` and wait for it. Inside another runtime (an async test) blocking
/// that runtime's thread is not allowed, so the wait moves to a scoped thread.
pub(crate) fn block_on<F>(runtime: &tokio::runtime::Runtime, future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|scope| {
            scope
                .spawn(|| runtime.block_on(future))
                .join()
                .expect("the kit's worker thread panicked")
        })
    } else {
        runtime.block_on(future)
    }
}
