//! The live stream: what the engine commits and what its sources say, pushed to the UI through
//! a Tauri channel so that no page polls the store to stay current.

use crate::AppState;
use std::collections::HashMap;
use std::time::Duration;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime};
use telltale_model::{LiveEvent, LiveTopic, Reading};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{sleep_until, Instant};

/// Readings committed within this long of the first one pending go in one event.
const GATHER: Duration = Duration::from_millis(20);

/// Events with readings leave at least this far apart: each one costs the webview a repaint
/// (in software, on many machines), so a steady stream is sent four times a second rather than
/// once per commit, and a reading still reaches the screen within a quarter of a second.
const MIN_GAP: Duration = Duration::from_millis(250);

/// How often the sources' state, and the Bluetooth devices and scanner lists, are compared with
/// what the screen last got (in memory, cheap).
const SOURCES_EVERY: Duration = Duration::from_secs(1);

/// The topics the page on screen watches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Watching {
    pub bluetooth: bool,
    pub upkeep: bool,
}

impl Watching {
    pub fn set(&mut self, topic: LiveTopic, on: bool) {
        match topic {
            LiveTopic::Bluetooth => self.bluetooth = on,
            LiveTopic::Upkeep => self.upkeep = on,
        }
    }
}

/// Streams until the webview stops listening (a closed window, a reloaded page whose channel is
/// gone) or the engine shuts down.
pub async fn stream<R: Runtime>(app: AppHandle<R>, channel: Channel<LiveEvent>) {
    let state = app.state::<AppState>();
    let Ok(engine) = state.engine() else {
        return;
    };
    let (mut committed, alerts) = (engine.committed(), engine.alerts());
    // Alert changes, when the alert engine runs: each burst of them sends the list once.
    let mut changes = alerts.as_ref().map(|a| a.subscribe());
    let mut alerts_due: Option<Instant> = None;
    // The newest reading of each series since the last event, in first-seen order.
    let mut pending: Vec<Reading> = Vec::new();
    let mut slot: HashMap<(String, String), usize> = HashMap::new();
    let mut due: Option<Instant> = None;
    let mut last_sent: Option<Instant> = None;
    let mut sources_sent = None;
    let mut bluetooth_sent = None;
    let mut historian_sent = None;
    let mut sources_check = tokio::time::interval(SOURCES_EVERY);
    let mut topics = state.watching.subscribe();
    let mut watching = Watching::default();
    // Upkeep passes, while a page watches them and the alert engine runs: watching makes
    // the passes compute what the page shows.
    let mut upkeep: Option<tokio::sync::watch::Receiver<_>> = None;
    topics.mark_changed();
    loop {
        let event = tokio::select! {
            got = committed.recv() => match got {
                Ok(batch) => {
                    for r in batch.iter() {
                        let key = (r.device.0.clone(), r.metric.clone());
                        match slot.get(&key) {
                            Some(&i) if pending[i].ts_ms <= r.ts_ms => pending[i] = r.clone(),
                            Some(_) => {}
                            None => {
                                slot.insert(key, pending.len());
                                pending.push(r.clone());
                            }
                        }
                    }
                    due.get_or_insert_with(|| {
                        let gathered = Instant::now() + GATHER;
                        last_sent.map_or(gathered, |t| gathered.max(t + MIN_GAP))
                    });
                    None
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "live stream fell behind; the screen resyncs");
                    pending.clear();
                    slot.clear();
                    due = None;
                    Some(LiveEvent::Resync)
                }
                Err(RecvError::Closed) => return,
            },
            () = async { sleep_until(due.unwrap_or_else(Instant::now)).await }, if due.is_some() => {
                due = None;
                last_sent = Some(Instant::now());
                slot.clear();
                Some(LiveEvent::Readings { readings: std::mem::take(&mut pending) })
            }
            changed = async {
                match changes.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                match changed {
                    Ok(_) | Err(RecvError::Lagged(_)) => {
                        alerts_due.get_or_insert_with(|| Instant::now() + GATHER);
                    }
                    Err(RecvError::Closed) => changes = None,
                }
                None
            }
            () = async { sleep_until(alerts_due.unwrap_or_else(Instant::now)).await }, if alerts_due.is_some() => {
                alerts_due = None;
                alerts.as_ref().map(|a| LiveEvent::Alerts { active: a.active() })
            }
            changed = topics.changed() => {
                if changed.is_err() {
                    return;
                }
                let now = *topics.borrow_and_update();
                if now.bluetooth && !watching.bluetooth {
                    // Sent at the next comparison, which comes at once.
                    bluetooth_sent = None;
                    sources_check.reset_immediately();
                }
                if now.upkeep != watching.upkeep {
                    upkeep = now.upkeep.then(|| alerts.as_ref().map(|a| a.watch_upkeep())).flatten();
                }
                watching = now;
                None
            }
            changed = async {
                match upkeep.as_mut() {
                    Some(rx) => rx.changed().await,
                    None => std::future::pending().await,
                }
            } => {
                match changed {
                    Ok(()) => upkeep
                        .as_mut()
                        .and_then(|rx| rx.borrow_and_update().clone())
                        .map(|u| LiveEvent::Upkeep {
                            forecasts: u.forecasts.clone(),
                            plans: u.plans.clone(),
                        }),
                    Err(_) => {
                        upkeep = None;
                        None
                    }
                }
            }
            _ = sources_check.tick() => {
                let Ok(engine) = state.engine() else {
                    return;
                };
                let sources = engine.sources();
                let mut events = Vec::new();
                if sources_sent.as_ref() != Some(&sources) {
                    sources_sent = Some(sources.clone());
                    events.push(LiveEvent::Sources { sources });
                }
                let historian = engine.historian().map(|link| link.devices());
                if historian_sent != historian {
                    historian_sent = historian.clone();
                    events.push(LiveEvent::Historian { devices: historian.unwrap_or_default() });
                }
                let bluetooth = watching
                    .bluetooth
                    .then(|| (engine.ble_devices(), engine.nearby(telltale_sources::now_ms())));
                if let Some(bluetooth) = bluetooth.filter(|b| bluetooth_sent.as_ref() != Some(b)) {
                    bluetooth_sent = Some(bluetooth.clone());
                    let (devices, nearby) = bluetooth;
                    events.push(LiveEvent::Bluetooth { devices, nearby });
                }
                for event in events {
                    if channel.send(event).is_err() {
                        return;
                    }
                }
                None
            }
        };
        if let Some(event) = event {
            if channel.send(event).is_err() {
                return;
            }
        }
    }
}
