use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use telltale_model::{SourceState, SourceStatus, Transport};

/// The live state of every source, for the UI's status strip and the collector's log.
#[derive(Clone, Default)]
pub struct SourceBoard {
    inner: Arc<Mutex<BTreeMap<String, SourceStatus>>>,
}

impl SourceBoard {
    /// Records a source's state; a change of state is logged, a repeat only refreshes the detail.
    pub fn set(
        &self,
        id: &str,
        transport: Transport,
        state: SourceState,
        detail: impl Into<String>,
    ) {
        let detail = detail.into();
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let changed = map.get(id).is_none_or(|s| s.state != state);
        if changed {
            tracing::info!(source = id, ?state, %detail, "source state");
        }
        let since_ms = match map.get(id) {
            Some(s) if !changed => s.since_ms,
            _ => crate::now_ms(),
        };
        map.insert(
            id.to_owned(),
            SourceStatus {
                id: id.to_owned(),
                transport,
                state,
                detail,
                since_ms,
            },
        );
    }

    pub fn snapshot(&self) -> Vec<SourceStatus> {
        let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.values().cloned().collect()
    }
}
