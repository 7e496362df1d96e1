//! The engine: the store, the sources feeding it, and the queries the UI and CLI ask.

use crate::alerting::{Alerter, Alerts, Notifier, DEFAULT_RULES};
use crate::error::{EngineError, Result};
use crate::queries::Queries;
use crate::secret::{ExposeSecret, Secret, SecretStore};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use telltale_demo::DemoFleet;
use telltale_model::ble::{
    bindkey_hex, parse_bindkey, BleDeviceConfig, BleDeviceStatus, NearbyDevice,
};
use telltale_model::broker::parse_url;
use telltale_model::{
    Dashboard, DeviceId, History, HistoryQuery, Reading, RetentionSetting, SourceState,
    SourceStatus, Transport,
};
use telltale_sources::ble::{Bindkey, BleFleet, BleSource, BtleplugRadio, KnownDevice};
use telltale_sources::mqtt::BrokerConfig;
use telltale_sources::SourceBoard;
use telltale_sources::TaskHandle;
use telltale_store::{Ingest, Retention, SeriesKey, SourceConfigChange, Store, Writer};
use tokio::sync::{broadcast, watch};

/// How often data past its retention is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Everything that runs behind the UI or the headless collector: a cheap `Clone` handle (one
/// `Arc`), so the app's state and its commands each hold one without a lock around it.
///
/// What it started is kept behind a short lock that is never held across an `.await`.
/// [`Engine::shutdown`] stops it all and closes the store's writer; from then on writes fail
/// (`StoreError::WriterStopped`), nothing starts again, and reads still answer.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    board: SourceBoard,
    died: watch::Receiver<Option<String>>,
    parts: Mutex<Parts>,
}

/// What the engine started, and the writer; emptied by [`Engine::shutdown`].
struct Parts {
    /// None once shut down.
    writer: Option<Writer>,
    demo: Option<DemoFleet>,
    maintenance: Option<TaskHandle>,
    brokers: BTreeMap<String, TaskHandle>,
    alerter: Option<Alerter>,
    bluetooth: Option<BleSource>,
    /// The user's BLE devices as last loaded (bindkeys included), so the device list is answered
    /// without a keyring round trip per device on every refresh.
    ble_fleet: BleFleet,
}

impl Parts {
    fn ble_sources(&self) -> impl Iterator<Item = &BleSource> {
        self.demo
            .as_ref()
            .map(DemoFleet::home)
            .into_iter()
            .chain(self.bluetooth.as_ref())
    }
}

// The app's state and its commands share the handle across threads.
const _: fn() = || {
    fn shared<T: Send + Sync + Clone + 'static>() {}
    shared::<Engine>();
};

/// The store's name for configured MQTT brokers.
const MQTT_KIND: &str = "mqtt";
/// The store's name for the demo's own settings.
const DEMO_KIND: &str = "demo";
const FILTER_INSTALLED: &str = "filter-installed-ms";
/// The store's name for the user's BLE devices.
const BLE_KIND: &str = "ble_device";
/// The status strip's name for the real Bluetooth adapter.
pub const BLUETOOTH_SOURCE: &str = "bluetooth";
/// What a BLE device is expected to do before its own interval is learned.
const BLE_DEFAULT_INTERVAL_MS: i64 = 10_000;

impl Engine {
    /// Opens the database; starts nothing yet.
    pub fn open(db: &Path) -> Result<Self> {
        let (store, writer) = telltale_store::open(db)?;
        Ok(Self {
            inner: Arc::new(Inner {
                store: Arc::new(store),
                board: SourceBoard::default(),
                died: writer.died(),
                parts: Mutex::new(Parts {
                    writer: Some(writer),
                    demo: None,
                    maintenance: None,
                    brokers: BTreeMap::new(),
                    alerter: None,
                    bluetooth: None,
                    ble_fleet: BleFleet::default(),
                }),
            }),
        })
    }

    /// The running parts, for a moment: never held across an `.await`.
    fn parts(&self) -> MutexGuard<'_, Parts> {
        self.inner
            .parts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether [`Engine::shutdown`] has begun.
    pub fn is_shut_down(&self) -> bool {
        self.parts().writer.is_none()
    }

    /// Starts scanning with the first Bluetooth adapter (retrying while there is none) for the
    /// user's devices, with their bindkeys from `secrets`. Must be called inside a tokio runtime.
    pub fn start_bluetooth(&self, secrets: &dyn SecretStore) -> Result<()> {
        let devices = self.ble_device_configs()?;
        self.start_bluetooth_with(devices, secrets)
    }

    /// As [`Engine::start_bluetooth`], for the given devices rather than those saved in the
    /// store: the headless collector's come from its config file.
    pub fn start_bluetooth_with(
        &self,
        devices: Vec<BleDeviceConfig>,
        secrets: &dyn SecretStore,
    ) -> Result<()> {
        if self.parts().bluetooth.is_some() {
            return Ok(());
        }
        // The keyring is asked outside the lock.
        let fleet = fleet_of(devices, secrets, |a| self.learned_interval_ms(a));
        let mut parts = self.parts();
        let Some(writer) = &parts.writer else {
            return Ok(());
        };
        if parts.bluetooth.is_some() {
            return Ok(());
        }
        let bluetooth = telltale_sources::ble::start(
            BLUETOOTH_SOURCE,
            Box::new(BtleplugRadio),
            fleet.clone(),
            writer.ingest(),
            self.inner.board.clone(),
        );
        parts.bluetooth = Some(bluetooth);
        if let Some(demo) = &parts.demo {
            demo.home().set_fleet(DemoFleet::home_fleet(fleet.clone()));
        }
        parts.ble_fleet = fleet;
        Ok(())
    }

    /// The interval a BLE device was last learned at, as its device row keeps it: a restart
    /// judges staleness by it from the first minute instead of relearning from a default.
    fn learned_interval_ms(&self, address: &str) -> Option<i64> {
        self.inner
            .store
            .device(&telltale_sources::ble::device_id(address))
            .ok()
            .map(|d| d.expected_interval_ms)
    }

    /// The user's BLE devices as sources follow them: settings from the store, bindkeys from
    /// the keyring (see [`fleet_of`]).
    pub fn ble_fleet(&self, secrets: &dyn SecretStore) -> Result<BleFleet> {
        Ok(fleet_of(self.ble_device_configs()?, secrets, |a| {
            self.learned_interval_ms(a)
        }))
    }

    /// Hands the saved BLE devices to the running sources (after an add, rename or removal).
    pub fn reload_ble_fleet(&self, secrets: &dyn SecretStore) -> Result<()> {
        let fleet = self.ble_fleet(secrets)?;
        let mut parts = self.parts();
        if let Some(demo) = &parts.demo {
            demo.home().set_fleet(DemoFleet::home_fleet(fleet.clone()));
        }
        if let Some(bluetooth) = &parts.bluetooth {
            bluetooth.set_fleet(fleet.clone());
        }
        parts.ble_fleet = fleet;
        Ok(())
    }

    /// The user's BLE devices as saved.
    pub fn ble_device_configs(&self) -> Result<Vec<BleDeviceConfig>> {
        let mut out = Vec::new();
        for (id, json) in self.inner.store.source_configs(BLE_KIND)? {
            match serde_json::from_str::<BleDeviceConfig>(&json) {
                Ok(config) => out.push(config),
                Err(e) => {
                    tracing::error!(address = %id, error = %e, "unreadable BLE device settings")
                }
            }
        }
        Ok(out)
    }

    /// Everything the scanners heard recently (the real adapter's and the demo home's).
    pub fn nearby(&self, now_ms: i64) -> Vec<NearbyDevice> {
        let parts = self.parts();
        let mut out: Vec<NearbyDevice> = Vec::new();
        for source in parts.ble_sources() {
            for d in source.nearby(now_ms) {
                if !out.iter().any(|o| o.address == d.address) {
                    out.push(d);
                }
            }
        }
        out.sort_by(|a, b| b.rssi.cmp(&a.rssi).then_with(|| a.address.cmp(&b.address)));
        out
    }

    /// The user's BLE devices (as last loaded by [`Engine::start_bluetooth`] or
    /// [`Engine::reload_ble_fleet`]) with their live health, and while the demo runs, its
    /// home's own devices (marked `demo`: they come back with the demo, so they are renamed,
    /// not removed).
    pub fn ble_devices(&self) -> Vec<BleDeviceStatus> {
        let parts = self.parts();
        let fleet = match &parts.demo {
            Some(_) => DemoFleet::home_fleet(parts.ble_fleet.clone()),
            None => parts.ble_fleet.clone(),
        };
        fleet
            .devices
            .iter()
            .map(|d| {
                let health = parts
                    .ble_sources()
                    .map(|s| s.health(&d.address))
                    .max_by_key(|h| h.last_seen_ms)
                    .unwrap_or_default();
                BleDeviceStatus {
                    config: BleDeviceConfig {
                        address: d.address.clone(),
                        name: d.name.clone(),
                        kind: d.kind.clone(),
                        connect: d.connect,
                    },
                    has_bindkey: d.bindkey.is_some(),
                    rssi: health.rssi,
                    last_seen_ms: health.last_seen_ms,
                    learned_interval_ms: health.learned_interval_ms,
                    link: health.link,
                    stale: health.stale,
                    battery_pct: health.battery_pct,
                    last_event: health.last_event,
                    demo: parts.ble_fleet.get(&d.address).is_none(),
                    problem: health.problem,
                    restarts: health.restarts,
                    last_restart_ms: health.last_restart_ms,
                }
            })
            .collect()
    }

    /// Starts the built-in demo fleet. Must be called inside a tokio runtime.
    pub fn start_demo(&self) {
        if self.parts().demo.is_some() {
            return;
        }
        // When the demo plant's filter was installed: remembered in the store, so its history
        // stays one curve across launches.
        let saved = self
            .inner
            .store
            .source_configs(DEMO_KIND)
            .ok()
            .and_then(|rows| {
                rows.into_iter()
                    .find(|(id, _)| id == FILTER_INSTALLED)
                    .and_then(|(_, ms)| ms.parse::<i64>().ok())
            });
        let mut parts = self.parts();
        let Some(writer) = &parts.writer else {
            return;
        };
        if parts.demo.is_some() {
            return;
        }
        let installed =
            saved.unwrap_or_else(|| telltale_sources::now_ms() - telltale_demo::FILTER_HISTORY_MS);
        if saved.is_none() {
            let ingest = writer.ingest();
            tokio::spawn(async move {
                let change = SourceConfigChange {
                    kind: DEMO_KIND.into(),
                    id: FILTER_INSTALLED.into(),
                    config: Some(installed.to_string()),
                    now_ms: telltale_sources::now_ms(),
                };
                if let Err(e) = ingest.save_source_config(change).await {
                    tracing::error!(error = %e, "demo: filter installation time not saved");
                }
            });
        }
        let demo = DemoFleet::start(writer.ingest(), self.inner.board.clone(), installed);
        parts.demo = Some(demo);
    }

    /// Starts evaluating alert rules on every committed reading. On a first run the rules are
    /// the defaults (plus the demo's when the demo fleet runs). Must be called inside a tokio
    /// runtime.
    pub fn start_alerts(&self, notifier: Arc<dyn Notifier>) -> Result<()> {
        let mut parts = self.parts();
        let Some(writer) = &parts.writer else {
            return Ok(());
        };
        if parts.alerter.is_some() {
            return Ok(());
        }
        let defaults = if parts.demo.is_some() {
            format!("{DEFAULT_RULES}{}", telltale_demo::RULES)
        } else {
            DEFAULT_RULES.to_owned()
        };
        let alerter = Alerter::start(
            self.inner.store.clone(),
            writer.ingest(),
            writer.subscribe(),
            self.inner.board.clone(),
            notifier,
            &defaults,
        )?;
        parts.alerter = Some(alerter);
        Ok(())
    }

    /// The running alert engine, for acknowledging, shelving and reading active alerts.
    pub fn alerts(&self) -> Option<Alerts> {
        self.parts().alerter.as_ref().map(Alerter::handle)
    }

    /// Connects to an MQTT broker, with its password (if it has a username) from `secrets`.
    /// Must be called inside a tokio runtime.
    pub fn start_broker(&self, config: BrokerConfig, secrets: &dyn SecretStore) -> Result<()> {
        config.validate().map_err(EngineError::Config)?;
        let password = match &config.username {
            Some(user) => {
                let password = secrets.get(&config.secret_key())?;
                if password.is_none() {
                    tracing::warn!(
                        source = %config.id,
                        username = %user,
                        "no password in the keyring for this broker; connecting without one \
                         (set it with `telltale secret set --broker {}`)",
                        config.id
                    );
                }
                password
            }
            None => None,
        };
        let id = config.id.clone();
        if self.is_shut_down() {
            return Ok(());
        }
        self.restore_presence(&id);
        let mut parts = self.parts();
        let Some(writer) = &parts.writer else {
            return Ok(());
        };
        let handle = telltale_sources::mqtt::start(
            config,
            password,
            writer.ingest(),
            self.inner.board.clone(),
        )?;
        // Replacing a running connection drops (and so cancels) the old one.
        parts.brokers.insert(id, handle);
        Ok(())
    }

    /// Puts the devices of broker `id` that their gateway declared gone (and never back) on the
    /// status board before the connection starts: after a restart the dashboard and `stale`
    /// rules know at once that a node which died yesterday is still offline, instead of waiting
    /// for a birth or will that a retained-less gateway will not send again.
    fn restore_presence(&self, id: &str) {
        let prefix = format!("mqtt:{id}/");
        let rows = match self.inner.store.presence() {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(source = %id, error = %e, "cannot read the saved device presence");
                return;
            }
        };
        let board = &self.inner.board;
        board.set(id, Transport::Mqtt, SourceState::Starting, "starting");
        for row in rows
            .iter()
            .filter(|r| r.device.as_str().starts_with(&prefix))
        {
            if let Some(since) = row.offline_since_ms {
                board.set_offline(id, &row.device, Some(since));
            }
        }
    }

    /// Starts every broker configured in the app. One that fails to start is shown as failed
    /// on the status strip; the others still start. Must be called inside a tokio runtime.
    pub fn start_configured_brokers(&self, secrets: &dyn SecretStore) -> Result<()> {
        for config in self.configured_brokers()? {
            let id = config.id.clone();
            if let Err(e) = self.start_broker(config, secrets) {
                tracing::error!(source = %id, error = %e, "configured broker not started");
                self.inner
                    .board
                    .set(&id, Transport::Mqtt, SourceState::Failed, e.to_string());
            }
        }
        Ok(())
    }

    /// The brokers configured in the app (never with a password: they hold none).
    pub fn configured_brokers(&self) -> Result<Vec<BrokerConfig>> {
        let mut out = Vec::new();
        for (id, json) in self.inner.store.source_configs(MQTT_KIND)? {
            match serde_json::from_str::<BrokerConfig>(&json) {
                Ok(config) => out.push(config),
                // A row this build cannot read (written by a newer one) is skipped, not fatal.
                Err(e) => tracing::error!(source = %id, error = %e, "unreadable broker settings"),
            }
        }
        Ok(out)
    }

    /// Stops a broker connection and forgets its status; the caller awaits the returned handle
    /// (the engine holds no lock meanwhile).
    pub fn detach_broker(&self, id: &str) -> Option<TaskHandle> {
        self.inner.board.remove(id);
        self.parts().brokers.remove(id)
    }

    /// Starts background upkeep: pruning data past its retention, in small steps so ingest
    /// never waits. Must be called inside a tokio runtime.
    pub fn start_maintenance(&self) {
        let mut parts = self.parts();
        let Some(writer) = &parts.writer else {
            return;
        };
        if parts.maintenance.is_some() {
            return;
        }
        let ingest = writer.ingest();
        parts.maintenance = Some(TaskHandle::spawn(
            "store-maintenance",
            move |cancel| async move {
                let mut tick = tokio::time::interval(PRUNE_EVERY);
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tick.tick() => {}
                    }
                    let mut pruned = 0;
                    loop {
                        match ingest.prune_step(telltale_sources::now_ms()).await {
                            Ok(0) => break,
                            Ok(n) => pruned += n,
                            Err(e) => {
                                tracing::error!(error = %e, "pruning failed");
                                break;
                            }
                        }
                        // Let queued readings in between steps.
                        tokio::task::yield_now().await;
                    }
                    // Every pass says what it did: a box whose clock jumped can be checked.
                    tracing::info!(pruned, "retention pass: pruned data past its retention");
                }
            },
        ));
    }

    /// Why the store's writer died, once it has (a bug): nothing can be stored from then on,
    /// so the collector and the app stop and say so rather than run on without storing.
    pub fn writer_died(&self) -> watch::Receiver<Option<String>> {
        self.inner.died.clone()
    }

    /// A handle for writing, for callers that await a commit. After [`Engine::shutdown`] its
    /// writes fail with `StoreError::WriterStopped`.
    pub fn ingest(&self) -> Ingest {
        self.parts()
            .writer
            .as_ref()
            .map_or_else(Ingest::stopped, Writer::ingest)
    }

    /// The read side, to take away: cheap to clone, each call blocking (run it on a blocking
    /// thread), so no async worker waits while SQLite reads or a trend is fitted.
    pub fn queries(&self) -> Queries {
        Queries::new(
            self.inner.store.clone(),
            self.inner.board.clone(),
            self.alerts(),
        )
    }

    pub fn dashboard(&self, now_ms: i64) -> Result<Dashboard> {
        self.queries().dashboard(now_ms)
    }

    pub fn history(&self, q: &HistoryQuery) -> Result<History> {
        self.queries().history(q)
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }

    /// Readings as they are committed, for live views; closed once the engine shut down.
    pub fn committed(&self) -> broadcast::Receiver<Arc<[Reading]>> {
        match &self.parts().writer {
            Some(writer) => writer.subscribe(),
            None => broadcast::channel(1).1,
        }
    }

    /// What each source says about itself now (in memory: cheap to ask often).
    pub fn sources(&self) -> Vec<SourceStatus> {
        self.inner.board.snapshot()
    }

    /// Stops every source, commits what they handed over, and closes the store's writer. Every
    /// clone of the handle sees it; a second call does nothing.
    pub async fn shutdown(&self) {
        let (writer, demo, bluetooth, brokers, alerter, maintenance) = {
            let mut parts = self.parts();
            let Some(writer) = parts.writer.take() else {
                return;
            };
            (
                writer,
                parts.demo.take(),
                parts.bluetooth.take(),
                std::mem::take(&mut parts.brokers),
                parts.alerter.take(),
                parts.maintenance.take(),
            )
        };
        if let Some(demo) = demo {
            demo.stop().await;
        }
        if let Some(bluetooth) = bluetooth {
            bluetooth.stop().await;
        }
        for (_, broker) in brokers {
            broker.stop().await;
        }
        if let Some(alerter) = alerter {
            alerter.stop().await;
        }
        if let Some(m) = maintenance {
            m.stop().await;
        }
        // The writer drains its queue on close; it blocks, so keep it off the async workers.
        let _ = tokio::task::spawn_blocking(move || writer.close()).await;
    }
}

/// Applies a retention setting; free of the engine so callers need not hold it across the await.
pub async fn set_retention(
    ingest: &Ingest,
    device: DeviceId,
    metric: String,
    setting: RetentionSetting,
) -> Result<()> {
    setting
        .validate()
        .map_err(|e| EngineError::Config(e.message))?;
    ingest
        .set_retention(
            SeriesKey { device, metric },
            Retention {
                raw_ms: setting.raw_ms,
                minute_ms: setting.minute_ms,
            },
        )
        .await?;
    Ok(())
}

/// Saves a broker's settings in the store (and its password, when given, in the keyring).
/// Free of the engine so the caller need not hold it across the awaits; restart the connection
/// afterwards with [`Engine::start_broker`].
pub async fn save_broker(
    ingest: &Ingest,
    secrets: &dyn SecretStore,
    previous: Option<&BrokerConfig>,
    config: &BrokerConfig,
    password: PasswordChange,
) -> Result<()> {
    config.validate().map_err(EngineError::Config)?;
    // The stored password was given for one host: it never follows the settings to another
    // (a typo, or someone pointing the collector at a broker of theirs to collect it).
    if let (Some(previous), PasswordChange::Keep) = (previous, &password) {
        if config.username.is_some()
            && parse_url(&previous.url).ok() != parse_url(&config.url).ok()
            && secrets.get(&config.secret_key())?.is_some()
        {
            return Err(EngineError::Config(
                "the broker's address changed: enter its password again (or clear it); the \
                 stored password is never sent to a different host"
                    .into(),
            ));
        }
    }
    match password {
        PasswordChange::Keep => {}
        PasswordChange::Set(p) => {
            let p = p.expose_secret();
            if p.is_empty() || p.len() > 1024 || p.contains('\n') {
                return Err(EngineError::Config(
                    "a password must be one line of 1 to 1024 characters".into(),
                ));
            }
            secrets.set(&config.secret_key(), p)?
        }
        PasswordChange::Clear => secrets.delete(&config.secret_key())?,
    }
    let json = serde_json::to_string(config)
        .map_err(|e| EngineError::Config(format!("cannot encode the settings: {e}")))?;
    ingest
        .save_source_config(SourceConfigChange {
            kind: MQTT_KIND.into(),
            id: config.id.clone(),
            config: Some(json),
            now_ms: telltale_sources::now_ms(),
        })
        .await?;
    Ok(())
}

/// Forgets a broker: its settings and its password. Its history stays.
pub async fn forget_broker(ingest: &Ingest, secrets: &dyn SecretStore, id: &str) -> Result<()> {
    secrets.delete(&telltale_sources::mqtt::secret_key(id))?;
    ingest
        .save_source_config(SourceConfigChange {
            kind: MQTT_KIND.into(),
            id: id.to_owned(),
            config: None,
            now_ms: telltale_sources::now_ms(),
        })
        .await?;
    Ok(())
}

/// What to do with a broker's stored password when its settings are saved.
#[derive(Debug, Clone)]
pub enum PasswordChange {
    Keep,
    Set(Secret),
    Clear,
}

/// Replaces a device's tags (normalised: trimmed, lower case, no duplicates).
pub async fn set_device_tags(ingest: &Ingest, device: DeviceId, tags: &[String]) -> Result<()> {
    let tags = telltale_model::normalize_tags(tags).map_err(|e| EngineError::Config(e.message))?;
    Ok(ingest.set_tags(device, tags).await?)
}

/// The keyring entry holding a BLE device's bindkey.
/// BLE devices as sources follow them, with their bindkeys from `secrets` and the interval each
/// was last learned at (`learned`; a device never heard gets a default). A key the keyring
/// cannot give is logged and left out (the device's encrypted advertisements are then refused,
/// not misread).
fn fleet_of(
    configs: Vec<BleDeviceConfig>,
    secrets: &dyn SecretStore,
    learned: impl Fn(&str) -> Option<i64>,
) -> BleFleet {
    let mut devices = Vec::new();
    for config in configs {
        let bindkey = match secrets.get(&bindkey_name(&config.address)) {
            Ok(Some(hex)) => match parse_bindkey(hex.expose_secret()) {
                Ok(key) => Some(Bindkey(key)),
                Err(e) => {
                    tracing::error!(address = %config.address, error = %e.message, "unreadable bindkey in the keyring");
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                tracing::error!(address = %config.address, error = %e, "bindkey not available");
                None
            }
        };
        let expected_interval_ms = learned(&config.address).unwrap_or(BLE_DEFAULT_INTERVAL_MS);
        devices.push(KnownDevice {
            address: config.address,
            name: config.name,
            kind: config.kind,
            site: "Home".into(),
            expected_interval_ms,
            tags: Vec::new(),
            connect: config.connect,
            bindkey,
        });
    }
    BleFleet { devices }
}

/// The keyring entry holding a BLE device's bindkey (`address` normalised, upper case).
pub fn bindkey_name(address: &str) -> String {
    format!("ble:{address}:bindkey")
}

/// What to do with a BLE device's bindkey when its settings are saved.
#[derive(Debug, Clone)]
pub enum BindkeyChange {
    Keep,
    /// 32 hex digits as typed; checked before anything is saved.
    Set(Secret),
    Clear,
}

/// Adds or updates one of the user's BLE devices: its settings in the store, its bindkey in the
/// keyring and nowhere else. Free of the engine so the caller need not hold it across the
/// awaits; hand the result to the sources with [`Engine::reload_ble_fleet`].
pub async fn save_ble_device(
    ingest: &Ingest,
    secrets: &dyn SecretStore,
    config: BleDeviceConfig,
    bindkey: BindkeyChange,
) -> Result<BleDeviceConfig> {
    let config = config
        .normalized()
        .map_err(|e| EngineError::Config(e.message))?;
    match bindkey {
        BindkeyChange::Keep => {}
        BindkeyChange::Set(text) => {
            let key =
                parse_bindkey(text.expose_secret()).map_err(|e| EngineError::Config(e.message))?;
            secrets.set(&bindkey_name(&config.address), &bindkey_hex(&key))?;
        }
        BindkeyChange::Clear => secrets.delete(&bindkey_name(&config.address))?,
    }
    let json = serde_json::to_string(&config)
        .map_err(|e| EngineError::Config(format!("cannot encode the settings: {e}")))?;
    ingest
        .save_source_config(SourceConfigChange {
            kind: BLE_KIND.into(),
            id: config.address.clone(),
            config: Some(json),
            now_ms: telltale_sources::now_ms(),
        })
        .await?;
    Ok(config)
}

/// Removes one of the user's BLE devices: its settings and bindkey, and with `delete_history`
/// every reading it ever sent.
pub async fn remove_ble_device(
    ingest: &Ingest,
    secrets: &dyn SecretStore,
    address: &str,
    delete_history: bool,
) -> Result<()> {
    let address = telltale_model::ble::normalize_address(address)
        .map_err(|e| EngineError::Config(e.message))?;
    secrets.delete(&bindkey_name(&address))?;
    ingest
        .save_source_config(SourceConfigChange {
            kind: BLE_KIND.into(),
            id: address.clone(),
            config: None,
            now_ms: telltale_sources::now_ms(),
        })
        .await?;
    if delete_history {
        match ingest
            .forget_device(telltale_sources::ble::device_id(&address))
            .await
        {
            Ok(()) | Err(telltale_store::StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
