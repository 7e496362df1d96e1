//! The dashboard as the engine last described it, kept current by what the engine pushes
//! (`api::live`) rather than by polling: one full read when the app opens (and when the picture
//! is incomplete), then committed readings and source changes as they happen.

use crate::api;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;
use telltale_model::alert::{ActiveAlert, Forecast};
use telltale_model::ble::{BleDeviceStatus, NearbyDevice};
use telltale_model::upkeep::ServiceStatus;
use telltale_model::{ApiError, Dashboard, LiveEvent, LiveTopic, Reading};

/// Freshness is a matter of the clock: judged again this often, on the screen, with no IPC.
const JUDGE_EVERY: Duration = Duration::from_secs(1);

/// Full reads asked for by pushed readings of unknown devices start at least this far apart: a
/// flood of new devices (a hostile gateway) must not turn into reading every series
/// back-to-back.
const MIN_REFETCH_GAP_MS: f64 = 5_000.0;

/// The app-wide live dashboard (a context): every page that shows devices reads it.
#[derive(Clone, Copy)]
pub struct Live {
    pub dashboard: RwSignal<Option<Result<Dashboard, ApiError>>>,
    /// The alerts needing attention: read once, then as the engine says they change.
    pub alerts: RwSignal<Option<Vec<ActiveAlert>>>,
    /// The user's BLE devices and what the scanners hear, as the engine last pushed them.
    pub bluetooth: RwSignal<Option<Bluetooth>>,
    /// Forecasts and service plans, as the last upkeep pass computed them.
    pub upkeep: RwSignal<Option<Upkeep>>,
    /// While a full read is in flight: readings pushed meanwhile, applied again on its answer
    /// (the answer may predate them, and applying never moves a value backwards).
    fetching: StoredValue<Option<Vec<Reading>>>,
    /// A full read was asked for while one was in flight.
    again: StoredValue<bool>,
    /// When the dashboard was last updated (ms, the screen's clock).
    last_update: StoredValue<f64>,
    /// When the last full read started (ms, the screen's clock), and whether a later one is
    /// already scheduled.
    last_fetch: StoredValue<f64>,
    scheduled: StoredValue<bool>,
}

/// The Bluetooth page's two lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Bluetooth {
    pub devices: Vec<BleDeviceStatus>,
    pub nearby: Vec<NearbyDevice>,
}

/// The Upkeep page's forecasts and service plans.
#[derive(Debug, Clone, PartialEq)]
pub struct Upkeep {
    pub forecasts: Vec<Forecast>,
    pub plans: Vec<ServiceStatus>,
}

/// Starts the stream and provides the live dashboard to every page.
pub fn provide() -> Live {
    let live = Live {
        dashboard: RwSignal::new(None),
        alerts: RwSignal::new(None),
        bluetooth: RwSignal::new(None),
        upkeep: RwSignal::new(None),
        fetching: StoredValue::new(None),
        again: StoredValue::new(false),
        last_update: StoredValue::new(f64::NEG_INFINITY),
        last_fetch: StoredValue::new(f64::NEG_INFINITY),
        scheduled: StoredValue::new(false),
    };
    provide_context(live);
    live.refetch();
    spawn_local(async move {
        if let Ok(overview) = api::alerts().await {
            // A change pushed meanwhile is newer than this answer.
            if live.alerts.try_with_untracked(Option::is_none) == Some(true) {
                let _ = live.alerts.try_set(Some(overview.active));
            }
        }
    });
    spawn_local(async move {
        if let Err(e) = api::live(move |event| live.on_event(event)).await {
            // Without the stream the screen would silently freeze: say so.
            live.dashboard.set(Some(Err(e)));
        }
    });
    if let Ok(handle) = set_interval_with_handle(
        move || {
            // Pushed readings judge as they land; the clock alone only when none did lately
            // (each update is a repaint).
            if now_ms() as f64 - live.last_update.get_value()
                >= JUDGE_EVERY.as_millis() as f64 * 0.9
            {
                live.update(|_| {});
            }
        },
        JUDGE_EVERY,
    ) {
        on_cleanup(move || handle.clear());
    }
    live
}

pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

impl Live {
    /// Asks the stream for `topic` while the calling component is on screen.
    /// `unpushed` runs when the stream will not push it (its first word has not come, and
    /// will not): the page then reads once for itself.
    pub fn watch(self, topic: LiveTopic, unpushed: impl FnOnce() + 'static) {
        spawn_local(async move {
            match api::watch(topic, true).await {
                Ok(true) => {}
                Ok(false) => unpushed(),
                Err(e) => {
                    leptos::logging::warn!("watching {topic:?}: {}", e.message);
                    unpushed();
                }
            }
        });
        on_cleanup(move || {
            spawn_local(async move {
                let _ = api::watch(topic, false).await;
            })
        });
    }

    /// The live dashboard of the running app.
    pub fn get() -> Live {
        expect_context::<Live>()
    }

    fn on_event(self, event: LiveEvent) {
        match event {
            LiveEvent::Readings { readings } => {
                self.fetching.update_value(|f| {
                    if let Some(kept) = f {
                        kept.extend(readings.iter().cloned());
                    }
                });
                let mut complete = true;
                self.update(|d| complete = d.apply(&readings));
                if !complete {
                    // A new device: only a full read knows its name, kind and site.
                    self.refetch_soon();
                }
            }
            LiveEvent::Sources { sources } => self.update(|d| d.sources = sources),
            LiveEvent::Alerts { active } => self.alerts.set(Some(active)),
            LiveEvent::Bluetooth { devices, nearby } => {
                self.bluetooth.set(Some(Bluetooth { devices, nearby }))
            }
            LiveEvent::Upkeep { forecasts, plans } => {
                self.upkeep.set(Some(Upkeep { forecasts, plans }))
            }
            LiveEvent::Historian { devices } => self.update(|d| {
                // Other sites' devices: those this store has not heard.
                d.historian = devices
                    .into_iter()
                    .filter(|h| !d.devices.iter().any(|s| s.device.id == h.device.id))
                    .collect();
            }),
            LiveEvent::Resync => self.refetch_soon(),
        }
    }

    /// Changes the dashboard and judges freshness in the same update: one repaint.
    fn update(self, change: impl FnOnce(&mut Dashboard)) {
        self.last_update.set_value(js_sys::Date::now());
        self.dashboard.update(|d| {
            if let Some(Ok(d)) = d {
                change(d);
                d.judge(now_ms());
            }
        });
    }

    /// [`Live::refetch`], but no sooner than [`MIN_REFETCH_GAP_MS`] after the last one started.
    fn refetch_soon(self) {
        let wait = self.last_fetch.get_value() + MIN_REFETCH_GAP_MS - js_sys::Date::now();
        if wait <= 0.0 {
            self.refetch();
        } else if !self.scheduled.get_value() {
            self.scheduled.set_value(true);
            set_timeout(
                move || {
                    // None: set, so the app is still there.
                    if self.scheduled.try_set_value(false).is_none() {
                        self.refetch();
                    }
                },
                Duration::from_millis(wait as u64),
            );
        }
    }

    /// Reads the whole dashboard again (one at a time; a request during one makes one more).
    pub fn refetch(self) {
        if self.fetching.with_value(Option::is_some) {
            self.again.set_value(true);
            return;
        }
        self.last_fetch.set_value(js_sys::Date::now());
        self.fetching.set_value(Some(Vec::new()));
        spawn_local(async move {
            let mut answer = api::dashboard().await;
            let meanwhile = self.fetching.try_update_value(Option::take).flatten();
            if let (Ok(d), Some(meanwhile)) = (&mut answer, meanwhile) {
                d.apply(&meanwhile);
                d.judge(now_ms());
            }
            // The app may be closing.
            let _ = self.dashboard.try_set(Some(answer));
            if self.again.try_update_value(std::mem::take) == Some(true) {
                self.refetch();
            }
        });
    }
}
