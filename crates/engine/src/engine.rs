//! The engine: the store, the sources feeding it, and the queries the UI and CLI ask.

mod usecases;

use crate::alerting::{Alerter, Alerts, Notifier, DEFAULT_RULES};
use crate::error::{EngineError, Result};
use crate::historian::HistorianLink;
use crate::queries::Queries;
use crate::secret::{ExposeSecret, OsKeyring, Secret, SecretStore};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use telltale_demo::DemoFleet;
use telltale_model::ble::{parse_bindkey, BleDeviceConfig, BleDeviceStatus, NearbyDevice};
use telltale_model::{
    Dashboard, History, HistoryQuery, Reading, SourceState, SourceStatus, Transport,
};
use telltale_sources::ble::{Bindkey, BleFleet, BleSource, BtleplugRadio, KnownDevice};
use telltale_sources::mqtt::BrokerConfig;
use telltale_sources::SourceBoard;
use telltale_sources::TaskHandle;
use telltale_store::{Ingest, SourceConfigChange, Store, Writer};
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
    /// Where passwords and bindkeys are kept (the OS keyring outside tests); asked on blocking
    /// threads only.
    secrets: Arc<dyn SecretStore>,
    died: watch::Receiver<Option<String>>,
    parts: Mutex<Parts>,
}

/// What the engine started, and the writer; emptied by [`Engine::shutdown`].
struct Parts {
    /// None once shut down.
    writer: Option<Writer>,
    demo: Option<DemoFleet>,
    pruning: Option<TaskHandle>,
    brokers: BTreeMap<String, TaskHandle>,
    alerter: Option<Alerter>,
    bluetooth: Option<BleSource>,
    /// The user's BLE devices as last loaded (bindkeys included), so the device list is answered
    /// without a keyring round trip per device on every refresh.
    ble_fleet: BleFleet,
    /// The plant historian charts fill from, if one is set, and the task reading its device
    /// list every minute.
    historian: Option<(Arc<HistorianLink>, TaskHandle)>,
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
    /// Opens the database, with secrets kept in the OS keyring; starts nothing yet.
    pub fn open(db: &Path) -> Result<Self> {
        Self::open_with_secrets(db, Arc::new(OsKeyring))
    }

    /// As [`Engine::open`], with secrets kept in `secrets` (tests keep them in memory).
    pub fn open_with_secrets(db: &Path, secrets: Arc<dyn SecretStore>) -> Result<Self> {
        let (store, writer) = telltale_store::open(db)?;
        Ok(Self {
            inner: Arc::new(Inner {
                store: Arc::new(store),
                board: SourceBoard::default(),
                secrets,
                died: writer.died(),
                parts: Mutex::new(Parts {
                    writer: Some(writer),
                    demo: None,
                    pruning: None,
                    brokers: BTreeMap::new(),
                    alerter: None,
                    bluetooth: None,
                    ble_fleet: BleFleet::default(),
                    historian: None,
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
    /// user's devices, with their bindkeys from the keyring. Must be called inside a tokio
    /// runtime; asks the keyring, so not on an async worker.
    pub fn start_bluetooth(&self) -> Result<()> {
        let devices = self.ble_device_configs()?;
        self.start_bluetooth_with(devices)
    }

    /// As [`Engine::start_bluetooth`], for the given devices rather than those saved in the
    /// store: the headless collector's come from its config file.
    pub fn start_bluetooth_with(&self, devices: Vec<BleDeviceConfig>) -> Result<()> {
        if self.parts().bluetooth.is_some() {
            return Ok(());
        }
        // The keyring is asked outside the lock.
        let fleet = fleet_of(devices, &*self.inner.secrets, |a| {
            self.learned_interval_ms(a)
        });
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
    /// the keyring (see [`fleet_of`]). Asks the keyring: not on an async worker.
    pub fn ble_fleet(&self) -> Result<BleFleet> {
        Ok(fleet_of(
            self.ble_device_configs()?,
            &*self.inner.secrets,
            |a| self.learned_interval_ms(a),
        ))
    }

    /// Hands the saved BLE devices to the running sources (after an add, rename or removal).
    /// Asks the keyring: not on an async worker.
    fn reload_ble_fleet(&self) -> Result<()> {
        let fleet = self.ble_fleet()?;
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

    /// The user's BLE devices (as last loaded by [`Engine::start_bluetooth`] or after a change) with their live health, and while the demo runs, its
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

    /// Opens the link to the plant historian the stored settings describe (or none), in place
    /// of the current one, and reads its device list every minute. Must be called inside a
    /// tokio runtime; asks the keyring, so not on an async worker.
    pub fn start_historian(&self) {
        let link = match HistorianLink::open(&self.inner.store, &*self.inner.secrets) {
            Ok(link) => link,
            Err(e) => {
                tracing::error!(error = %e, "the plant historian's settings cannot be used");
                None
            }
        };
        let next = link.map(|link| {
            let refreshing = Arc::clone(&link);
            let task = TaskHandle::spawn("historian-devices", move |cancel| async move {
                loop {
                    if let Err(e) = refreshing.refresh().await {
                        tracing::debug!(error = %e, "historian devices not read");
                    }
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                    }
                }
            });
            (link, task)
        });
        let mut parts = self.parts();
        if parts.writer.is_none() {
            return;
        }
        // The previous link's task is cancelled as its handle drops.
        parts.historian = next;
    }

    /// The plant historian charts fill from, if one is set.
    pub fn historian(&self) -> Option<Arc<HistorianLink>> {
        self.parts()
            .historian
            .as_ref()
            .map(|(link, _)| Arc::clone(link))
    }

    /// Connects to an MQTT broker, with its password (if it has a username) from the keyring.
    /// Must be called inside a tokio runtime; asks the keyring, so not on an async worker.
    pub fn start_broker(&self, config: BrokerConfig) -> Result<()> {
        config.validate().map_err(EngineError::Config)?;
        let password = match &config.username {
            Some(user) => {
                let password = self.inner.secrets.get(&config.secret_key())?;
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
        self.run_broker(config, password)
    }

    /// (Re)connects a broker whose settings were checked, with `password`.
    fn run_broker(&self, config: BrokerConfig, password: Option<Secret>) -> Result<()> {
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
    /// on the status strip; the others still start. Must be called inside a tokio runtime;
    /// asks the keyring, so not on an async worker.
    pub fn start_configured_brokers(&self) -> Result<()> {
        for config in self.configured_brokers()? {
            let id = config.id.clone();
            if let Err(e) = self.start_broker(config) {
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

    /// Starts background upkeep: pruning data past its retention, in small steps so ingest
    /// never waits. Must be called inside a tokio runtime.
    pub fn start_pruning(&self) {
        let mut parts = self.parts();
        let Some(writer) = &parts.writer else {
            return;
        };
        if parts.pruning.is_some() {
            return;
        }
        let ingest = writer.ingest();
        parts.pruning = Some(TaskHandle::spawn(
            "store-pruning",
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
        let (writer, demo, bluetooth, brokers, alerter, pruning, historian) = {
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
                parts.pruning.take(),
                parts.historian.take(),
            )
        };
        if let Some((_, refresh)) = historian {
            refresh.stop().await;
        }
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
        if let Some(m) = pruning {
            m.stop().await;
        }
        // The writer drains its queue on close; it blocks, so keep it off the async workers.
        let _ = tokio::task::spawn_blocking(move || writer.close()).await;
    }
}

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
