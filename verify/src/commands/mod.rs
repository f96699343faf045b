//! One module per command; shared set-up (trust root, input files) lives here.

pub(crate) mod bundle;
pub(crate) mod check;
pub(crate) mod context;
pub(crate) mod doctor;
pub(crate) mod export;
pub(crate) mod generate;
pub(crate) mod install_shim;
pub(crate) mod installed;
pub(crate) mod targets;
pub(crate) mod trust;

/// The async runtime: one worker per core, because a warm or offline run is CPU-bound
/// (signature checks), and bottle files are hashed on its blocking pool.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Run `work` for every item as its own task, so that checks spread over every worker (a
/// `buffered` stream alone would poll them all on the calling task, on one core), at most
/// `jobs` at once; results come back in the items' order. Must be called on [`runtime`].
pub(crate) fn each_in_parallel<I, T, F, Fut>(
    items: I,
    jobs: usize,
    mut work: F,
) -> impl futures_util::Stream<Item = T>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    use futures_util::StreamExt as _;
    futures_util::stream::iter(items)
        .map(move |item| {
            let task = tokio::spawn(work(item));
            async move {
                match task.await {
                    Ok(done) => done,
                    // A task panicked (a bug, never an input's doing): carry the panic on
                    // rather than report a made-up result. Tasks are never cancelled here.
                    Err(e) => std::panic::resume_unwind(e.into_panic()),
                }
            }
        })
        .buffered(jobs.max(1))
}
