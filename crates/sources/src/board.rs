use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use telltale_model::{
    DeviceId, OfflineDevice, RejectedTopic, SourceState, SourceStatus, Transport,
};

/// The most topics whose rejections are tracked one by one per source; beyond it they share one
/// line, so a gateway spraying garbage over random topics cannot grow memory without bound.
const MAX_REJECTED_TOPICS: usize = 32;
const OTHER_TOPICS: &str = "(other topics)";

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
        let (since_ms, rejected, offline) = match map.remove(id) {
            Some(s) if !changed => (s.since_ms, s.rejected, s.offline),
            Some(s) => (crate::now_ms(), s.rejected, s.offline),
            None => (crate::now_ms(), Vec::new(), Vec::new()),
        };
        map.insert(
            id.to_owned(),
            SourceStatus {
                id: id.to_owned(),
                transport,
                state,
                detail,
                since_ms,
                rejected,
                offline,
            },
        );
    }

    /// Puts a source that was `Failed` back to `state` (its trouble passed by itself); any
    /// other state is left alone (a reconnect in progress says more than "recovered").
    pub fn recover(&self, id: &str, transport: Transport, state: SourceState, detail: &str) {
        let failed = {
            let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            map.get(id).is_some_and(|s| s.state == SourceState::Failed)
        };
        if failed {
            self.set(id, transport, state, detail);
        }
    }

    /// Counts a message that `source` could not use; returns the topic's count so far.
    pub fn count_rejected(&self, source: &str, topic: &str, reason: &str) -> u64 {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let Some(status) = map.get_mut(source) else {
            return 0;
        };
        let list = &mut status.rejected;
        let index = match list.iter().position(|r| r.topic == topic) {
            Some(i) => i,
            None if list.len() < MAX_REJECTED_TOPICS => {
                list.push(RejectedTopic {
                    topic: topic.to_owned(),
                    count: 0,
                    last_reason: String::new(),
                });
                list.len() - 1
            }
            None => match list.iter().position(|r| r.topic == OTHER_TOPICS) {
                Some(i) => i,
                None => {
                    // Make room: the newest slot becomes the shared one.
                    let last = list.len() - 1;
                    list[last].topic = OTHER_TOPICS.to_owned();
                    last
                }
            },
        };
        let entry = &mut list[index];
        entry.count += 1;
        entry.last_reason = reason.chars().take(200).collect();
        entry.count
    }

    /// Records that `source` declared a device offline (or back online).
    pub fn set_offline(&self, source: &str, device: &DeviceId, offline_since: Option<i64>) {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let Some(status) = map.get_mut(source) else {
            return;
        };
        status.offline.retain(|o| &o.device != device);
        if let Some(since_ms) = offline_since {
            tracing::info!(source, %device, "device declared offline");
            status.offline.push(OfflineDevice {
                device: device.clone(),
                since_ms,
            });
        }
    }

    /// Forgets a source that was removed.
    pub fn remove(&self, id: &str) {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id);
    }

    pub fn snapshot(&self) -> Vec<SourceStatus> {
        let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_are_counted_per_topic_and_bounded() {
        let board = SourceBoard::default();
        assert_eq!(board.count_rejected("plant", "a", "x"), 0, "unknown source");
        board.set("plant", Transport::Mqtt, SourceState::Connected, "up");
        assert_eq!(board.count_rejected("plant", "a", "not a number"), 1);
        assert_eq!(board.count_rejected("plant", "a", "not JSON"), 2);
        for i in 0..100 {
            board.count_rejected("plant", &format!("spam/{i}"), "junk");
        }
        board.set("plant", Transport::Mqtt, SourceState::Reconnecting, "down");
        let status = &board.snapshot()[0];
        assert_eq!(status.rejected.len(), MAX_REJECTED_TOPICS);
        assert_eq!(status.rejected[0].count, 2);
        assert_eq!(status.rejected[0].last_reason, "not JSON");
        let total: u64 = status.rejected.iter().map(|r| r.count).sum();
        assert_eq!(total, 102, "nothing is lost from the count");
    }
}
