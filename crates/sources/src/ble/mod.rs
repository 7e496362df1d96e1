//! Bluetooth LE: what a radio hears, decoded into readings.
//!
//! A [`Radio`] is anything that hears BLE: btleplug on a real adapter ([`BtleplugRadio`]), or the
//! demo home. It only reports raw advertisements, GATT values and link changes; decoding, replay
//! checks, device health (the advertising interval learned per device) and storage are done
//! here, once, for every radio.
//!
//! The source owns a [`BleFleet`] — the user's devices, with their bindkeys — that the engine
//! replaces when the user adds, renames or removes one; the radio sees the same fleet to know
//! which devices to connect to.

mod btle;
mod interval;
mod nearby;
mod replay;

pub use btle::BtleplugRadio;
pub use interval::LearnedInterval;
pub use nearby::Nearby;
use replay::{CounterGuard, Verdict};

use crate::board::SourceBoard;
use crate::task::TaskHandle;
use nearby::Heard;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use telltale_decode::{DecodeError, Decoded, Value};
use telltale_model::ble::NearbyDevice;
use telltale_model::{
    Device, DeviceId, Quality, Reading, SourceState, Transport, STALE_AFTER_INTERVALS,
};
use telltale_store::{Ingest, ReplayMark};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// What a radio hears.
#[derive(Debug, Clone, PartialEq)]
pub enum BleEvent {
    /// A passive advertisement. Payloads are the bytes after their UUID or company id.
    Advertisement {
        address: String,
        /// The advertised local name, when this advertisement (or an earlier one) carried it.
        name: Option<String>,
        rssi: Option<i16>,
        /// (16-bit service UUID, data)
        service_data: Vec<(u16, Vec<u8>)>,
        /// (company id, data)
        manufacturer_data: Vec<(u16, Vec<u8>)>,
        /// 16-bit service UUIDs the device advertises (what it offers over GATT).
        services: Vec<u16>,
    },
    /// A GATT characteristic value, pushed by a connected device or read from it.
    Notification {
        address: String,
        characteristic: u16,
        value: Vec<u8>,
    },
    /// A GATT link to a device changed.
    Link { address: String, link: Link },
}

/// The state of a GATT connection, as the device list shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    Connecting,
    Connected,
    /// Lost or failed; the next attempt is due after the backoff.
    Waiting {
        retry_in: Duration,
        reason: String,
    },
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Link::Connecting => f.write_str("connecting"),
            Link::Connected => f.write_str("connected"),
            Link::Waiting { retry_in, reason } => write!(
                f,
                "reconnecting in {} s ({reason})",
                retry_in.as_secs_f64().ceil()
            ),
        }
    }
}

/// The radio's state, as the UI shows it ("Bluetooth unavailable" rather than a hang).
#[derive(Debug, Clone, PartialEq)]
pub enum RadioState {
    Scanning(String),
    Unavailable(String),
}

pub type RadioFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Something that hears BLE devices: a real adapter behind btleplug, or a simulation.
pub trait Radio: Send + 'static {
    /// Streams events into `events` and state changes into `state` until `cancel` fires.
    /// `fleet` says which devices to hold GATT connections to (those with `connect`).
    fn listen(
        self: Box<Self>,
        fleet: watch::Receiver<Arc<BleFleet>>,
        events: mpsc::Sender<BleEvent>,
        state: mpsc::Sender<RadioState>,
        cancel: CancellationToken,
    ) -> RadioFuture;
}

/// A radio fed by its owner: what is sent into its channel is heard as if from an adapter.
/// Tests and benchmarks drive the source with it, and so could a platform whose scanning lives
/// outside Rust.
pub struct ChannelRadio(pub mpsc::Receiver<BleEvent>);

impl Radio for ChannelRadio {
    fn listen(
        self: Box<Self>,
        _fleet: watch::Receiver<Arc<BleFleet>>,
        events: mpsc::Sender<BleEvent>,
        state: mpsc::Sender<RadioState>,
        cancel: CancellationToken,
    ) -> RadioFuture {
        let mut from_owner = self.0;
        Box::pin(async move {
            let _ = state
                .send(RadioState::Scanning("fed by its owner".into()))
                .await;
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    event = from_owner.recv() => {
                        let Some(event) = event else { return };
                        if events.send(event).await.is_err() {
                            return;
                        }
                    }
                }
            }
        })
    }
}

/// A 128-bit AES key for encrypted advertisements. Its `Debug` never shows it (fleets are
/// logged), it has no `Serialize`, and its bytes are zeroed when it is dropped.
#[derive(Clone, PartialEq, Eq, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
pub struct Bindkey(pub [u8; 16]);

impl fmt::Debug for Bindkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bindkey(<redacted>)")
    }
}

/// A device the user added (or the demo ships), keyed by its address.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownDevice {
    /// `AA:BB:CC:DD:EE:FF`, upper case.
    pub address: String,
    pub name: String,
    pub kind: String,
    pub site: String,
    /// What to expect before anything was learned; replaced by the learned interval.
    pub expected_interval_ms: i64,
    pub tags: Vec<String>,
    /// Hold a GATT connection to it (Heart Rate, Health Thermometer...).
    pub connect: bool,
    pub bindkey: Option<Bindkey>,
}

/// The devices a BLE source stores readings for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BleFleet {
    pub devices: Vec<KnownDevice>,
}

impl BleFleet {
    pub fn get(&self, address: &str) -> Option<&KnownDevice> {
        self.devices.iter().find(|d| d.address == address)
    }
}

/// A device's health as the source judges it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceHealth {
    pub rssi: Option<i16>,
    pub last_seen_ms: Option<i64>,
    pub learned_interval_ms: Option<i64>,
    pub link: Option<String>,
    pub stale: bool,
    /// Its newest battery level (%), from its advertisements or the Battery service.
    pub battery_pct: Option<f64>,
    /// Its newest event (a button press, a dimmer turn) and when: events are not series, so
    /// this is where they show.
    pub last_event: Option<(String, i64)>,
    /// Why its last refused frame was refused, for the user (see [`problem_of`]); cleared by
    /// the next frame that decodes.
    pub problem: Option<String>,
    /// How often its encrypted counter was accepted as restarted (a reboot, or a replay that
    /// waited for it to fall silent: see `ble/replay.rs`) since the source started.
    pub restarts: u32,
    /// When the last of those restarts was accepted.
    pub last_restart_ms: Option<i64>,
}

/// A running BLE source: owns its task, its fleet, and what it heard.
pub struct BleSource {
    task: TaskHandle,
    fleet: watch::Sender<Arc<BleFleet>>,
    nearby: Nearby,
    health: Arc<Mutex<HashMap<String, DeviceHealth>>>,
}

impl BleSource {
    /// Replaces the devices listened to (added, renamed, removed, new bindkey).
    pub fn set_fleet(&self, fleet: BleFleet) {
        for d in &fleet.devices {
            self.nearby.set_added(&d.address, true);
        }
        for old in &self.fleet.borrow().devices {
            if fleet.get(&old.address).is_none() {
                self.nearby.set_added(&old.address, false);
            }
        }
        self.fleet.send_replace(Arc::new(fleet));
    }

    /// What the scanner heard recently, added or not.
    pub fn nearby(&self, now_ms: i64) -> Vec<NearbyDevice> {
        self.nearby.snapshot(now_ms)
    }

    /// The health of one of the fleet's devices (default when never heard).
    pub fn health(&self, address: &str) -> DeviceHealth {
        let map = self.health.lock().unwrap_or_else(|p| p.into_inner());
        map.get(address).cloned().unwrap_or_default()
    }

    pub async fn stop(self) {
        self.task.stop().await;
    }
}

/// Decodes one event into readings stamped `now_ms`. Unknown formats and malformed payloads are
/// errors for the caller to count; they never stop the stream.
pub fn readings_of(event: &BleEvent, now_ms: i64) -> Result<Vec<Reading>, String> {
    match event {
        BleEvent::Advertisement {
            address,
            name,
            rssi,
            service_data,
            manufacturer_data,
            ..
        } => {
            let decoded = decode_advertisement(
                address,
                name.as_deref(),
                service_data,
                manufacturer_data,
                None,
            )
            .map_err(|e| e.to_string())?;
            Ok(readings_of_decoded(address, &decoded, *rssi, now_ms))
        }
        BleEvent::Notification {
            address,
            characteristic,
            value,
        } => {
            let decoded =
                telltale_decode::gatt(*characteristic, value).map_err(|e| e.to_string())?;
            Ok(readings_of_decoded(address, &decoded, None, now_ms))
        }
        BleEvent::Link { .. } => Ok(Vec::new()),
    }
}

/// Numeric readings of a decoded payload, plus the signal strength it arrived with.
fn readings_of_decoded(
    address: &str,
    decoded: &Decoded,
    rssi: Option<i16>,
    now_ms: i64,
) -> Vec<Reading> {
    let device = device_id(address);
    let mut out: Vec<Reading> = decoded
        .readings
        .iter()
        .filter_map(|r| {
            let value = match &r.value {
                Value::Number(v) => *v,
                Value::Bool(b) => f64::from(u8::from(*b)),
                // Events (button presses) and texts are not series.
                Value::Event(_) | Value::Text(_) => return None,
            };
            Some(Reading {
                device: device.clone(),
                metric: r.metric.clone(),
                unit: r.unit.map(str::to_owned),
                ts_ms: now_ms,
                value,
                quality: Quality::Good,
            })
        })
        .collect();
    dedupe_same_instant(&mut out);
    if let Some(rssi) = rssi {
        out.push(Reading {
            device,
            metric: "rssi".into(),
            unit: Some("dBm".into()),
            ts_ms: now_ms,
            value: f64::from(rssi),
            quality: Quality::Good,
        });
    }
    out
}

/// Several RR intervals in one notification share the receipt instant; a series holds one value
/// per ms, so later ones move forward a millisecond each instead of being dropped as duplicates.
fn dedupe_same_instant(readings: &mut [Reading]) {
    let mut last: HashMap<String, i64> = HashMap::new();
    for r in readings.iter_mut() {
        if let Some(prev) = last.get(&r.metric) {
            if r.ts_ms <= *prev {
                r.ts_ms = prev + 1;
            }
        }
        last.insert(r.metric.clone(), r.ts_ms);
    }
}

/// Detects the format from what is in the advertisement, as a scanner must.
pub fn decode_advertisement(
    address: &str,
    name: Option<&str>,
    service_data: &[(u16, Vec<u8>)],
    manufacturer_data: &[(u16, Vec<u8>)],
    bindkey: Option<&Bindkey>,
) -> Result<Decoded, DecodeError> {
    let address = telltale_decode::parse_address(address)?;
    telltale_decode::advertisement(&telltale_decode::Advertisement {
        address,
        local_name: name,
        service_data,
        manufacturer_data,
        bindkey: bindkey.map(|k| &k.0),
    })
}

/// What a refusal means to the person holding the device, when it is something they can fix;
/// other refusals show the decoder's own reason.
fn problem_of(e: &DecodeError) -> Option<String> {
    match e {
        DecodeError::Encrypted(_) => Some("encrypted: enter its bindkey".into()),
        DecodeError::DecryptionFailed(_) => Some("cannot decrypt: check the bindkey".into()),
        // Plain frames from a device with a key could come from anyone: refused, and said so.
        DecodeError::NotEncrypted(_) => Some(
            "sends unencrypted data but has a bindkey: refused (clear the bindkey if it does \
             not encrypt)"
                .into(),
        ),
        _ => None,
    }
}

/// GATT profiles Telltale reads over a connection, by the 16-bit service UUID they advertise.
pub fn profile_name(service: u16) -> Option<&'static str> {
    match service {
        0x180D => Some("heart_rate"),
        0x1809 => Some("health_thermometer"),
        0x181A => Some("environmental_sensing"),
        0x180F => Some("battery"),
        _ => None,
    }
}

pub fn device_id(address: &str) -> DeviceId {
    DeviceId::new(format!("ble:{}", address.to_ascii_uppercase()))
}

/// The 16-bit form of a UUID on the Bluetooth base (`0000xxxx-0000-1000-8000-00805f9b34fb`).
pub fn short_uuid(uuid: u128) -> Option<u16> {
    const BASE: u128 = 0x0000_0000_0000_1000_8000_0080_5f9b_34fb;
    const MASK: u128 = !(0xFFFF_u128 << 96);
    (uuid & MASK == BASE && (uuid >> 112) == 0).then_some((uuid >> 96) as u16)
}

/// One device of the fleet as the source follows it.
struct Tracked {
    device: KnownDevice,
    interval: LearnedInterval,
    /// The interval last written to the device row (what the dashboard judges freshness by).
    registered_interval_ms: i64,
    offline: bool,
    last_packet_id: Option<u8>,
    /// Loaded from the store when the device's first encrypted frame arrives.
    counter: Option<CounterGuard>,
    rssi: Option<i16>,
    link: Option<String>,
    problem: Option<String>,
    battery_pct: Option<f64>,
    last_event: Option<(String, i64)>,
}

impl Tracked {
    fn new(device: KnownDevice) -> Self {
        Tracked {
            registered_interval_ms: device.expected_interval_ms,
            device,
            interval: LearnedInterval::default(),
            offline: false,
            last_packet_id: None,
            counter: None,
            rssi: None,
            link: None,
            problem: None,
            battery_pct: None,
            last_event: None,
        }
    }

    /// A frame was decoded and accepted: whatever was wrong is over, and its last event (if
    /// any) is the device's newest: "button double press", "dimmer rotate left 3 steps".
    fn accepted(&mut self, decoded: &Decoded, now_ms: i64) {
        self.problem = None;
        let event = decoded.readings.iter().rev().find_map(|r| match &r.value {
            Value::Event(name) => Some(match r.steps {
                Some(steps) => format!("{} {} {steps} steps", r.metric, name.replace('_', " ")),
                None => format!("{} {}", r.metric, name.replace('_', " ")),
            }),
            _ => None,
        });
        if let Some(event) = event {
            self.last_event = Some((event, now_ms));
        }
    }

    /// Keeps the newest battery level for the device list (a percentage: some formats also
    /// send a voltage, which is not one).
    fn note_battery(&mut self, readings: &[Reading]) {
        if let Some(r) = readings
            .iter()
            .rev()
            .find(|r| r.metric == "battery" && r.unit.as_deref() == Some("%"))
        {
            self.battery_pct = Some(r.value);
        }
    }

    /// Silence longer than this makes the device stale: a few of its own intervals, and never
    /// under a second (a scheduler hiccup is not a dead sensor).
    fn allowed_silence_ms(&self) -> i64 {
        let interval = self
            .interval
            .interval_ms()
            .unwrap_or(self.device.expected_interval_ms);
        (interval * STALE_AFTER_INTERVALS).max(MIN_SILENCE_MS)
    }

    fn health(&self) -> DeviceHealth {
        let (restarts, last_restart_ms) = self
            .counter
            .as_ref()
            .map_or((0, None), CounterGuard::restarts);
        DeviceHealth {
            rssi: self.rssi,
            last_seen_ms: self.interval.last_heard_ms(),
            learned_interval_ms: self.interval.interval_ms(),
            link: self.link.clone(),
            stale: self.offline,
            battery_pct: self.battery_pct,
            last_event: self.last_event.clone(),
            problem: self.problem.clone(),
            restarts,
            last_restart_ms,
        }
    }

    fn as_device(&self, interval_ms: i64) -> Device {
        Device {
            id: device_id(&self.device.address),
            name: self.device.name.clone(),
            kind: self.device.kind.clone(),
            transport: Transport::Ble,
            site: self.device.site.clone(),
            expected_interval_ms: interval_ms,
            tags: self.device.tags.clone(),
        }
    }
}

/// The shortest silence that makes a device stale, however fast it advertises.
const MIN_SILENCE_MS: i64 = 1_000;
/// How often silences are judged: a fraction of the shortest allowed silence.
const JUDGE_EVERY: Duration = Duration::from_millis(250);
/// A learned interval this much off the stored one is written to the device row.
const INTERVAL_CHANGE: f64 = 0.25;

/// Runs a radio and stores what it hears from the fleet's devices.
pub fn start(
    id: &str,
    radio: Box<dyn Radio>,
    fleet: BleFleet,
    ingest: Ingest,
    board: SourceBoard,
) -> BleSource {
    let id = id.to_owned();
    let nearby = Nearby::default();
    let health: Arc<Mutex<HashMap<String, DeviceHealth>>> = Arc::default();
    let (fleet_tx, fleet_rx) = watch::channel(Arc::new(fleet));
    let task = {
        let nearby = nearby.clone();
        let health = health.clone();
        TaskHandle::spawn(format!("ble:{id}"), move |cancel| async move {
            let mut run = Run {
                id,
                ingest,
                board,
                nearby,
                health,
                tracked: HashMap::new(),
            };
            run.serve(radio, fleet_rx, cancel).await;
        })
    };
    BleSource {
        task,
        fleet: fleet_tx,
        nearby,
        health,
    }
}

struct Run {
    id: String,
    ingest: Ingest,
    board: SourceBoard,
    nearby: Nearby,
    health: Arc<Mutex<HashMap<String, DeviceHealth>>>,
    tracked: HashMap<String, Tracked>,
}

impl Run {
    async fn serve(
        &mut self,
        radio: Box<dyn Radio>,
        mut fleet: watch::Receiver<Arc<BleFleet>>,
        cancel: CancellationToken,
    ) {
        self.board.set(
            &self.id,
            Transport::Ble,
            SourceState::Starting,
            "starting radio",
        );
        let first = fleet.borrow_and_update().clone();
        if let Err(e) = self.apply_fleet(&first).await {
            self.board
                .set(&self.id, Transport::Ble, SourceState::Failed, e);
            return;
        }
        let (events_tx, mut events) = mpsc::channel(256);
        let (state_tx, mut states) = mpsc::channel(8);
        let radio_task =
            tokio::spawn(radio.listen(fleet.clone(), events_tx, state_tx, cancel.clone()));
        let mut judge = tokio::time::interval(JUDGE_EVERY);
        judge.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The radio's last word while scanning, to return to once a store fault passes.
        let mut scanning: Option<String> = None;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                Some(state) = states.recv() => match state {
                    RadioState::Scanning(detail) => {
                        self.board.set(&self.id, Transport::Ble, SourceState::Connected, detail.clone());
                        scanning = Some(detail);
                    }
                    RadioState::Unavailable(detail) => {
                        self.board.set(&self.id, Transport::Ble, SourceState::Failed, detail);
                        scanning = None;
                    }
                },
                changed = fleet.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let next = fleet.borrow_and_update().clone();
                    if let Err(e) = self.apply_fleet(&next).await {
                        self.board.set(&self.id, Transport::Ble, SourceState::Failed, e);
                        break;
                    }
                }
                _ = judge.tick() => self.judge_silences(crate::now_ms()),
                event = events.recv() => {
                    let Some(event) = event else { break };
                    // A frame that could not be stored is lost (the device says it again in a
                    // moment); the source goes on, and says so until a write succeeds again.
                    match self.on_event(event, crate::now_ms()).await {
                        Err(e) => {
                            tracing::warn!(source = %self.id, error = %e, "a BLE frame could not be stored");
                            self.board.set(&self.id, Transport::Ble, SourceState::Failed, format!("store: {e}"));
                        }
                        Ok(()) => {
                            if let Some(detail) = &scanning {
                                self.board.recover(&self.id, Transport::Ble, SourceState::Connected, detail);
                            }
                        }
                    }
                }
            }
        }
        cancel.cancel();
        let _ = radio_task.await;
        for t in self.tracked.values().filter(|t| t.offline) {
            self.board
                .set_offline(&self.id, &device_id(&t.device.address), None);
        }
        self.board
            .set(&self.id, Transport::Ble, SourceState::Stopped, "stopped");
    }

    /// Registers the fleet's devices (a rename shows at once) and forgets removed ones.
    async fn apply_fleet(&mut self, fleet: &BleFleet) -> Result<(), String> {
        self.tracked.retain(|address, t| {
            let keep = fleet.get(address).is_some();
            if !keep && t.offline {
                self.board.set_offline(&self.id, &device_id(address), None);
            }
            keep
        });
        for d in &fleet.devices {
            let t = self
                .tracked
                .entry(d.address.clone())
                .or_insert_with(|| Tracked::new(d.clone()));
            t.device = d.clone();
            let device = t.as_device(t.registered_interval_ms);
            self.ingest
                .register(device)
                .await
                .map_err(|e| e.to_string())?;
        }
        self.publish_health();
        Ok(())
    }

    async fn on_event(&mut self, event: BleEvent, now_ms: i64) -> Result<(), String> {
        match event {
            BleEvent::Advertisement {
                address,
                name,
                rssi,
                service_data,
                manufacturer_data,
                services,
            } => {
                let tracked = self.tracked.get_mut(&address);
                let key = tracked.as_ref().and_then(|t| t.device.bindkey.clone());
                let decoded = decode_advertisement(
                    &address,
                    name.as_deref(),
                    &service_data,
                    &manufacturer_data,
                    key.as_ref(),
                );
                // Advertisements with nothing we decode (a name, a service list, an RSSI update,
                // a vendor's own data) are normal; a known format that fails is counted.
                let known_format_failed =
                    matches!(&decoded, Err(e) if !matches!(e, DecodeError::NoKnownFormat));
                let problem = decoded.as_ref().err().and_then(problem_of);
                let decoded = decoded.map_err(|e| e.to_string());
                self.nearby.heard(Heard {
                    address: &address,
                    name: name.as_deref(),
                    rssi,
                    now_ms,
                    // The scanner shows what to do ("encrypted: enter its bindkey") where
                    // there is something to do.
                    decoded: decoded
                        .as_ref()
                        .map_err(|reason| problem.as_deref().unwrap_or(reason)),
                    profiles: services
                        .iter()
                        .filter_map(|s| profile_name(*s))
                        .map(str::to_owned)
                        .collect(),
                    added: tracked.is_some(),
                });
                let Some(t) = tracked else { return Ok(()) };
                t.interval.heard(now_ms);
                if rssi.is_some() {
                    t.rssi = rssi;
                }
                let mut mark = None;
                let readings = match decoded {
                    Ok(decoded) => {
                        if let Some(counter) = decoded.replay_counter {
                            // Until the counter's own pace is learned, a restart waits for
                            // silence by the device's interval: never shorter than the one
                            // configured, as a flood of replays would make the heard one.
                            let interval_ms = t
                                .interval
                                .interval_ms()
                                .unwrap_or(0)
                                .max(t.device.expected_interval_ms);
                            let guard = match &mut t.counter {
                                Some(guard) => guard,
                                None => {
                                    let stored = self
                                        .ingest
                                        .counter_record(device_id(&address))
                                        .await
                                        .map_err(|e| e.to_string())?;
                                    let (restarts, last) = stored
                                        .map_or((0, None), |r| (r.restarts, r.last_restart_ms));
                                    t.counter.insert(
                                        CounterGuard::new(stored.map(|r| r.counter), now_ms)
                                            .with_restarts(restarts, last),
                                    )
                                }
                            };
                            let bits = decoded.format.replay_counter_bits();
                            match guard.judge(counter, bits, now_ms, interval_ms) {
                                Verdict::Replay => {
                                    let reason =
                                        format!("replayed advertisement (counter {counter})");
                                    self.board.count_rejected(&self.id, &address, &reason);
                                    t.problem = Some(reason);
                                    Vec::new()
                                }
                                verdict => {
                                    if verdict == Verdict::Restarted {
                                        tracing::warn!(source = %self.id, %address, counter,
                                            "encrypted advertisements restarted their counter \
                                             after a silence (a reboot or a battery change); \
                                             accepted");
                                    }
                                    mark = Some(ReplayMark {
                                        device: device_id(&address),
                                        counter,
                                        at_ms: now_ms,
                                        restarted: verdict == Verdict::Restarted,
                                    });
                                    t.accepted(&decoded, now_ms);
                                    readings_of_decoded(&address, &decoded, rssi, now_ms)
                                }
                            }
                        } else if decoded.packet_id.is_some()
                            && decoded.packet_id == t.last_packet_id
                        {
                            // The same measurement sent again (BTHome repeats each packet).
                            Vec::new()
                        } else {
                            t.last_packet_id = decoded.packet_id;
                            t.accepted(&decoded, now_ms);
                            readings_of_decoded(&address, &decoded, rssi, now_ms)
                        }
                    }
                    Err(reason) => {
                        if known_format_failed {
                            self.board.count_rejected(&self.id, &address, &reason);
                            t.problem = problem.or(Some(reason));
                        }
                        Vec::new()
                    }
                };
                t.note_battery(&readings);
                self.after_heard(&address).await?;
                self.write(readings, mark).await
            }
            BleEvent::Notification {
                address,
                characteristic,
                value,
            } => {
                let Some(t) = self.tracked.get_mut(&address) else {
                    return Ok(());
                };
                t.interval.heard(now_ms);
                let readings = match telltale_decode::gatt(characteristic, &value) {
                    Ok(decoded) => readings_of_decoded(&address, &decoded, None, now_ms),
                    Err(e) => {
                        self.board.count_rejected(
                            &self.id,
                            &format!("{address} 0x{characteristic:04X}"),
                            &e.to_string(),
                        );
                        Vec::new()
                    }
                };
                t.note_battery(&readings);
                self.after_heard(&address).await?;
                self.write(readings, None).await
            }
            BleEvent::Link { address, link } => {
                if let Some(t) = self.tracked.get_mut(&address) {
                    tracing::info!(source = %self.id, %address, %link, "BLE link");
                    t.link = Some(link.to_string());
                    self.publish_health();
                }
                Ok(())
            }
        }
    }

    /// A device was heard: it is back if it was stale, and its learned interval may have moved
    /// far enough to be worth storing (the dashboard judges freshness by it).
    async fn after_heard(&mut self, address: &str) -> Result<(), String> {
        let Some(t) = self.tracked.get_mut(address) else {
            return Ok(());
        };
        if t.offline {
            t.offline = false;
            self.board.set_offline(&self.id, &device_id(address), None);
        }
        if let Some(learned) = t.interval.interval_ms() {
            let stored = t.registered_interval_ms.max(1) as f64;
            if (learned as f64 - stored).abs() / stored > INTERVAL_CHANGE {
                t.registered_interval_ms = learned;
                tracing::debug!(source = %self.id, address, learned, "learned advertising interval");
                let device = t.as_device(learned);
                self.ingest
                    .register(device)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        self.publish_health();
        Ok(())
    }

    /// Declares stale every device silent for longer than its own learned interval allows; the
    /// dashboard shows it and stale alert rules fire on it at once.
    fn judge_silences(&mut self, now_ms: i64) {
        let mut changed = false;
        for t in self.tracked.values_mut() {
            let Some(last) = t.interval.last_heard_ms() else {
                continue;
            };
            if !t.offline && now_ms - last > t.allowed_silence_ms() {
                t.offline = true;
                changed = true;
                tracing::info!(
                    source = %self.id,
                    address = %t.device.address,
                    silent_ms = now_ms - last,
                    allowed_ms = t.allowed_silence_ms(),
                    "BLE device stale"
                );
                self.board
                    .set_offline(&self.id, &device_id(&t.device.address), Some(last));
            }
        }
        if changed {
            self.publish_health();
        }
    }

    fn publish_health(&self) {
        let mut map = self.health.lock().unwrap_or_else(|p| p.into_inner());
        map.clear();
        for (address, t) in &self.tracked {
            map.insert(address.clone(), t.health());
        }
    }

    /// Stores a frame's readings; an encrypted frame's counter (`mark`) goes with them, in
    /// one transaction, even when none of its readings could be stored.
    async fn write(&self, readings: Vec<Reading>, mark: Option<ReplayMark>) -> Result<(), String> {
        let written = match mark {
            Some(mark) => self.ingest.write_marked(readings, mark).await,
            None if readings.is_empty() => return Ok(()),
            None => self.ingest.write(readings).await,
        };
        written.map(|_| ()).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uuids_on_the_bluetooth_base_have_a_short_form() {
        assert_eq!(
            short_uuid(0x0000_180d_0000_1000_8000_0080_5f9b_34fb),
            Some(0x180D)
        );
        assert_eq!(
            short_uuid(0x6e40_0001_b5a3_f393_e0a9_e50e_24dc_ca9e),
            None,
            "Nordic UART is vendor-specific"
        );
        assert_eq!(short_uuid(0x0001_180d_0000_1000_8000_0080_5f9b_34fb), None);
    }
}
