use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Owns one background task. Dropping the handle cancels it; `stop` cancels and waits, so the
/// task's last writes are committed before the caller goes on.
pub struct TaskHandle {
    name: String,
    cancel: CancellationToken,
    join: Option<JoinHandle<()>>,
}

impl TaskHandle {
    /// Spawns `body`, handing it the token it must watch.
    pub fn spawn<F, Fut>(name: impl Into<String>, body: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let cancel = CancellationToken::new();
        let join = tokio::spawn(body(cancel.clone()));
        Self {
            name: name.into(),
            cancel,
            join: Some(join),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub async fn stop(mut self) {
        self.cancel.cancel();
        if let Some(join) = self.join.take() {
            if let Err(e) = join.await {
                tracing::error!(task = %self.name, error = %e, "task ended abnormally");
            }
        }
    }
}

impl Drop for TaskHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
