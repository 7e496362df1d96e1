//! The vocabulary every part of Telltale speaks: devices, readings, history buckets and the
//! `{code, message}` error that crosses IPC.
//!
//! This crate is shared by the engine (native) and the Leptos UI (wasm32), so it holds plain data
//! and pure functions only: no I/O, no clock, no platform crates.

use serde::{Deserialize, Serialize};
use std::fmt;

pub mod alert;
pub mod ble;
pub mod broker;
pub mod historian;
pub mod ipc;
pub mod secret;
pub mod upkeep;
pub mod view;

/// Milliseconds since the Unix epoch, UTC. Every timestamp in Telltale is one of these.
pub type TimestampMs = i64;

/// A device's stable identity, prefixed by the transport that found it
/// (`ble:A4:C1:38:00:00:01`, `mqtt:plant/press-01`), so two sources never collide.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeviceId(pub String);

impl DeviceId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which transport a device reaches us through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Ble,
    Mqtt,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Ble => "ble",
            Transport::Mqtt => "mqtt",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ble" => Some(Transport::Ble),
            "mqtt" => Some(Transport::Mqtt),
            _ => None,
        }
    }
}

/// What a device is, as far as the UI needs to know (icon, grouping, rule targeting by kind).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: DeviceId,
    pub name: String,
    /// A free-form kind such as `thermometer`, `heart_rate_strap`, `machine`.
    pub kind: String,
    pub transport: Transport,
    /// Where the device lives (`Home`, `Plant`): the dashboard groups by it.
    pub site: String,
    /// How often the device is expected to report, in ms; decides when it counts as stale.
    pub expected_interval_ms: i64,
    /// Labels people give a device (`freezer`, `line-2`); alert rules can target every device
    /// with a tag. Kept across a source re-describing the device.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// The most tags one device may carry.
pub const MAX_TAGS: usize = 16;

/// Normalises tags as people type them ("Freezer, kitchen ") and refuses what is not a tag.
pub fn normalize_tags(tags: &[String]) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim().to_lowercase();
        if t.is_empty() {
            continue;
        }
        if t.len() > 32
            || !t
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(ApiError::invalid(format!(
                "tag {t:?}: up to 32 letters, digits, '-', '_' or '.'"
            )));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(ApiError::invalid(format!("at most {MAX_TAGS} tags")));
    }
    Ok(out)
}

/// How much a reading can be trusted (Sparkplug and OPC UA carry the same three levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    #[default]
    Good,
    Uncertain,
    Bad,
}

impl Quality {
    pub fn as_i64(self) -> i64 {
        match self {
            Quality::Good => 0,
            Quality::Uncertain => 1,
            Quality::Bad => 2,
        }
    }
    pub fn from_i64(v: i64) -> Self {
        match v {
            0 => Quality::Good,
            1 => Quality::Uncertain,
            _ => Quality::Bad,
        }
    }
}

/// One measured value of one metric of one device at one instant.
///
/// A series is (device, metric); a reading is identified by (device, metric, ts_ms), so the same
/// reading delivered twice is stored once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub device: DeviceId,
    pub metric: String,
    /// The unit the source reported with the value, kept once per series.
    pub unit: Option<String>,
    pub ts_ms: TimestampMs,
    pub value: f64,
    #[serde(default)]
    pub quality: Quality,
}

/// How far ahead of the receiving clock a reading's own time may be: a gateway's clock a little
/// fast is normal, a day fast is a broken clock or a hostile payload. Readings further ahead are
/// refused (counted as rejected with the reason), because one of them would pin the series'
/// "latest" value in the future, keep the device looking fresh and silence its stale alerts.
pub const MAX_AHEAD_MS: TimestampMs = 86_400_000;

/// The largest magnitude a stored value may have. No sensor measures 1e100 of anything; the
/// bound keeps every rollup sum (a day of readings at kilohertz rates) far from f64 overflow,
/// where a sum turns into infinity and then into NaN.
pub const MAX_ABS_VALUE: f64 = 1e100;

/// The longest device id and metric name the store keeps.
pub const MAX_DEVICE_LEN: usize = 256;
pub const MAX_METRIC_LEN: usize = 128;

impl Reading {
    /// Why the store cannot hold this reading, if it cannot: the accepted window is
    /// [1970, `MAX_TS_MS`] in absolute terms and, when the receiver's clock is given, no more than
    /// [`MAX_AHEAD_MS`] ahead of it. Values must be finite and within ±[`MAX_ABS_VALUE`].
    pub fn check(&self, receiver_now_ms: Option<TimestampMs>) -> Result<(), String> {
        if self.device.as_str().is_empty() || self.device.as_str().len() > MAX_DEVICE_LEN {
            return Err(format!("device id must be 1 to {MAX_DEVICE_LEN} bytes"));
        }
        if self.metric.is_empty() || self.metric.len() > MAX_METRIC_LEN {
            return Err(format!("metric name must be 1 to {MAX_METRIC_LEN} bytes"));
        }
        if !self.value.is_finite() {
            return Err(format!("value {} is not a finite number", self.value));
        }
        if self.value.abs() > MAX_ABS_VALUE {
            return Err(format!(
                "value {:e} is beyond ±{MAX_ABS_VALUE:e}, no measurement",
                self.value
            ));
        }
        if !(MIN_TS_MS..=MAX_TS_MS).contains(&self.ts_ms) {
            return Err(format!(
                "time {} ms is outside 1970..2200 (ms since 1970)",
                self.ts_ms
            ));
        }
        if let Some(now) = receiver_now_ms {
            if self.ts_ms > now.saturating_add(MAX_AHEAD_MS) {
                return Err(format!(
                    "time {} ms is {:.1} days ahead of this receiver's clock (at most 1 day)",
                    self.ts_ms,
                    (self.ts_ms - now) as f64 / 86_400_000.0
                ));
            }
        }
        Ok(())
    }
}

/// The newest value of one metric, as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatestValue {
    pub metric: String,
    pub unit: Option<String>,
    pub value: f64,
    pub ts_ms: TimestampMs,
}

/// Whether a device's values can be presented as current.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    /// Heard from within its expected interval (with slack for missed adverts).
    Live,
    /// Silent for longer than it should be: values are shown "as of" their time.
    Stale,
    /// Its source declared it gone (a Sparkplug NDEATH/DDEATH, an MQTT last will): values are
    /// shown "as of" their time, marked offline.
    Offline,
    /// Never heard from.
    #[default]
    Unknown,
}

/// Missed reports tolerated before a device is called stale: BLE adverts are lossy by nature,
/// so one or two missing is normal and must not flash the UI.
pub const STALE_AFTER_INTERVALS: i64 = 3;

/// Decides freshness from the last time a device was heard. `now` is passed in, never read here.
pub fn freshness(
    last_seen_ms: Option<TimestampMs>,
    expected_interval_ms: i64,
    now_ms: TimestampMs,
) -> Freshness {
    match last_seen_ms {
        None => Freshness::Unknown,
        Some(seen) => {
            let allowed = expected_interval_ms.max(1_000) * STALE_AFTER_INTERVALS;
            if now_ms - seen <= allowed {
                Freshness::Live
            } else {
                Freshness::Stale
            }
        }
    }
}

/// A device card on the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSummary {
    pub device: Device,
    pub last_seen_ms: Option<TimestampMs>,
    pub latest: Vec<LatestValue>,
    /// Judged by [`Dashboard::new`], which knows the clock and which sources are listening.
    #[serde(default)]
    pub freshness: Freshness,
    /// The last 24 h of the card's main metric, from the hourly rollups (with a full read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparkline: Option<Sparkline>,
}

impl DeviceSummary {
    /// The metric a card's sparkline follows: the temperature when there is one (what most
    /// sensors are bought for), else the first by name that says what the device measures
    /// rather than how the device itself is (battery, voltage), else the first not diagnostic.
    pub fn main_metric(&self) -> Option<&LatestValue> {
        let shown = || self.latest.iter().filter(|v| !is_diagnostic(&v.metric));
        shown()
            .find(|v| v.metric == "temperature")
            .or_else(|| shown().find(|v| !matches!(v.metric.as_str(), "battery" | "voltage")))
            .or_else(|| shown().next())
    }
}

/// A day of one series at a glance: hourly means, oldest first, `None` for hours with no
/// reading (gaps stay gaps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sparkline {
    pub metric: String,
    /// The start of the first hour.
    pub from_ms: TimestampMs,
    pub means: Vec<Option<f64>>,
}

/// Diagnostic series that belong on the device page, not on a dashboard card.
pub fn is_diagnostic(metric: &str) -> bool {
    matches!(
        metric,
        "rssi"
            | "measurement_sequence"
            | "movement_counter"
            | "tx_power"
            | "sensor_contact"
            | "rr_interval"
            | "packet_id"
    ) || metric.starts_with("acceleration_")
}

/// State of one data source (a BLE adapter, an MQTT broker connection, the demo fleet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    pub id: String,
    pub transport: Transport,
    pub state: SourceState,
    /// A human sentence: what is connected, or why not.
    pub detail: String,
    pub since_ms: TimestampMs,
    /// Messages this source could not turn into readings, counted per topic: shown so that a
    /// gateway sending the wrong format is noticed, never silently dropped.
    #[serde(default)]
    pub rejected: Vec<RejectedTopic>,
    /// Devices this source knows to be offline; an entry also covers the devices below it
    /// (`mqtt:plant/G/E` covers `mqtt:plant/G/E/pump`), as a Sparkplug node's death takes its
    /// devices with it.
    #[serde(default)]
    pub offline: Vec<OfflineDevice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfflineDevice {
    pub device: DeviceId,
    pub since_ms: TimestampMs,
}

impl OfflineDevice {
    pub fn covers(&self, id: &DeviceId) -> bool {
        let (mine, theirs) = (self.device.as_str(), id.as_str());
        theirs
            .strip_prefix(mine)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

/// Undecodable messages on one topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectedTopic {
    pub topic: String,
    pub count: u64,
    pub last_reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    Starting,
    Connected,
    Reconnecting,
    Stopped,
    Failed,
}

/// Everything the dashboard draws, in one IPC round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub now_ms: TimestampMs,
    pub devices: Vec<DeviceSummary>,
    pub sources: Vec<SourceStatus>,
    /// Devices the plant historian holds that this store has not heard (other sites'), with
    /// their newest shipped values. Not judged fresh or stale: they are history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub historian: Vec<DeviceSummary>,
}

impl Dashboard {
    /// Assembles a dashboard and judges every device's freshness.
    pub fn new(
        now_ms: TimestampMs,
        devices: Vec<DeviceSummary>,
        sources: Vec<SourceStatus>,
    ) -> Self {
        let mut dashboard = Self {
            now_ms,
            devices,
            sources,
            historian: Vec::new(),
        };
        dashboard.judge(now_ms);
        dashboard
    }

    /// Judges every device's freshness again at `now_ms`.
    ///
    /// A value is live only when it is recent *and* a connected source of the device's transport
    /// is still listening for the next one: right after a restart with every source off, values
    /// from a few seconds ago are history ("as of 14:32"), not live readings.
    pub fn judge(&mut self, now_ms: TimestampMs) {
        self.now_ms = now_ms;
        for d in &mut self.devices {
            let listening = self
                .sources
                .iter()
                .any(|s| s.transport == d.device.transport && s.state == SourceState::Connected);
            let declared_offline = self
                .sources
                .iter()
                .flat_map(|s| &s.offline)
                .any(|o| o.covers(&d.device.id));
            d.freshness = match freshness(d.last_seen_ms, d.device.expected_interval_ms, now_ms) {
                _ if declared_offline => Freshness::Offline,
                Freshness::Live if !listening => Freshness::Stale,
                f => f,
            };
        }
    }

    /// Takes in readings just committed: each becomes its series' latest value unless that one
    /// is newer (a late reading never replaces a newer value). Returns false when a reading
    /// belongs to a device this dashboard does not show yet: only a fresh dashboard knows its
    /// name, kind and site. Freshness is left to [`Dashboard::judge`].
    pub fn apply(&mut self, readings: &[Reading]) -> bool {
        let mut complete = true;
        for r in readings {
            let Some(d) = self.devices.iter_mut().find(|d| d.device.id == r.device) else {
                complete = false;
                continue;
            };
            // Kept in metric order, as the store lists them.
            match d
                .latest
                .binary_search_by(|v| v.metric.as_str().cmp(&r.metric))
            {
                Ok(i) => {
                    let v = &mut d.latest[i];
                    if r.ts_ms >= v.ts_ms {
                        v.value = r.value;
                        v.ts_ms = r.ts_ms;
                        if r.unit.is_some() {
                            v.unit.clone_from(&r.unit);
                        }
                    }
                }
                Err(i) => d.latest.insert(
                    i,
                    LatestValue {
                        metric: r.metric.clone(),
                        unit: r.unit.clone(),
                        value: r.value,
                        ts_ms: r.ts_ms,
                    },
                ),
            }
            d.last_seen_ms = Some(d.last_seen_ms.map_or(r.ts_ms, |t| t.max(r.ts_ms)));
        }
        complete
    }
}

/// What a page asks the live stream for while it is shown, beyond what every page gets (the
/// dashboard's readings and sources, the alerts): nothing is computed or sent for a topic no
/// page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveTopic {
    /// [`LiveEvent::Bluetooth`].
    Bluetooth,
    /// [`LiveEvent::Upkeep`].
    Upkeep,
}

/// What the engine pushes to the screen as it happens, so that no page has to poll the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// Readings committed since the last event: the newest of each series, in commit order.
    Readings { readings: Vec<Reading> },
    /// The sources' state changed (connected, failed, devices declared offline).
    Sources { sources: Vec<SourceStatus> },
    /// An alert changed (raised, cleared, acknowledged, shelved): the alerts needing attention
    /// now.
    Alerts { active: Vec<alert::ActiveAlert> },
    /// The user's BLE devices or what the scanners hear changed (health, a new advert's signal
    /// strength): both lists, whole.
    Bluetooth {
        devices: Vec<ble::BleDeviceStatus>,
        nearby: Vec<ble::NearbyDevice>,
    },
    /// A upkeep pass finished (every minute, and at once after a change of rules or
    /// service plans): the forecasts and the service plans as it computed them.
    Upkeep {
        forecasts: Vec<alert::Forecast>,
        plans: Vec<upkeep::ServiceStatus>,
    },
    /// The plant historian's list of devices changed (read every minute, and at once when the
    /// historian is saved): every device it holds, those this store knows too included.
    Historian { devices: Vec<DeviceSummary> },
    /// Events were lost (the screen fell behind a flood): ask for the whole picture again.
    Resync,
}

/// A request for a chart's worth of history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryQuery {
    pub device: DeviceId,
    pub metric: String,
    pub from_ms: TimestampMs,
    pub to_ms: TimestampMs,
    /// The most buckets the caller can use (about one per horizontal pixel).
    pub points: u32,
}

/// The most buckets one query may ask for: more than any screen has pixels.
pub const MAX_POINTS: u32 = 10_000;
/// The earliest timestamp a query may name (1970) and the latest (year 2200): anything outside is
/// a caller's bug or a hostile argument, and must not turn into arithmetic overflow downstream.
pub const MIN_TS_MS: TimestampMs = 0;
pub const MAX_TS_MS: TimestampMs = 7_258_118_400_000;

impl HistoryQuery {
    /// Rejects what the store must never see: empty or inverted ranges, absurd budgets, empty names.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.device.as_str().is_empty() || self.device.as_str().len() > 256 {
            return Err(ApiError::invalid("device id must be 1 to 256 characters"));
        }
        if self.metric.is_empty() || self.metric.len() > 128 {
            return Err(ApiError::invalid("metric must be 1 to 128 characters"));
        }
        if !(MIN_TS_MS..=MAX_TS_MS).contains(&self.from_ms)
            || !(MIN_TS_MS..=MAX_TS_MS).contains(&self.to_ms)
        {
            return Err(ApiError::invalid(format!(
                "time range must lie between {MIN_TS_MS} and {MAX_TS_MS} ms"
            )));
        }
        if self.from_ms >= self.to_ms {
            return Err(ApiError::invalid("from_ms must be before to_ms"));
        }
        if self.points == 0 || self.points > MAX_POINTS {
            return Err(ApiError::invalid(format!(
                "points must be between 1 and {MAX_POINTS}"
            )));
        }
        Ok(())
    }
}

/// Readings aggregated over `[t, t + width)`. A bucket with no readings is simply absent, so a
/// chart sees the gap instead of an invented line across it.
///
/// `first` and `last` are the values of the bucket's earliest and latest reading: with `min`
/// and `max` they let a chart draw the line the raw readings would draw (the M4 idea: per pixel
/// column keep first, last, min and max). A raw reading is a bucket of one: all five equal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "BucketJson")]
pub struct Bucket {
    pub t: TimestampMs,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub count: u64,
    pub first: f64,
    pub last: f64,
}

/// A bucket as JSON, also as written before buckets had `first` and `last`: those then read
/// as the mean, the one value such a bucket gives for the whole stretch.
#[derive(Deserialize)]
struct BucketJson {
    t: TimestampMs,
    min: f64,
    max: f64,
    mean: f64,
    count: u64,
    first: Option<f64>,
    last: Option<f64>,
}

impl From<BucketJson> for Bucket {
    fn from(b: BucketJson) -> Self {
        Bucket {
            t: b.t,
            min: b.min,
            max: b.max,
            mean: b.mean,
            count: b.count,
            first: b.first.unwrap_or(b.mean),
            last: b.last.unwrap_or(b.mean),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub device: DeviceId,
    pub metric: String,
    pub unit: Option<String>,
    pub from_ms: TimestampMs,
    pub to_ms: TimestampMs,
    /// Width of each bucket in ms; 0 when buckets are raw readings.
    pub bucket_ms: i64,
    pub buckets: Vec<Bucket>,
    /// The stretches `[from, to)` whose buckets came from the plant historian rather than this
    /// device's own store (the chart marks them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from_historian: Vec<[TimestampMs; 2]>,
}

/// A request to save one series' raw readings in `[from_ms, to_ms)` as CSV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRequest {
    pub device: DeviceId,
    pub metric: String,
    pub from_ms: TimestampMs,
    pub to_ms: TimestampMs,
}

impl ExportRequest {
    pub fn validate(&self) -> Result<(), ApiError> {
        HistoryQuery {
            device: self.device.clone(),
            metric: self.metric.clone(),
            from_ms: self.from_ms,
            to_ms: self.to_ms,
            points: 1,
        }
        .validate()
    }
}

/// Where an export went and how much it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportResult {
    pub path: String,
    pub rows: u64,
}

/// How long one series keeps each resolution. `None` = the default; `Some(-1)` = forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RetentionSetting {
    pub raw_ms: Option<i64>,
    pub minute_ms: Option<i64>,
}

/// Keep-forever, in a retention setting.
pub const KEEP_FOREVER: i64 = -1;

impl RetentionSetting {
    /// A retention is the default, forever, or between one hour and a century.
    pub fn validate(&self) -> Result<(), ApiError> {
        for (name, v) in [("raw", self.raw_ms), ("minute", self.minute_ms)] {
            match v {
                None | Some(KEEP_FOREVER) => {}
                Some(ms) if (3_600_000..=100 * 366 * 86_400_000).contains(&ms) => {}
                Some(ms) => {
                    return Err(ApiError::invalid(format!(
                        "{name} retention must be at least an hour, at most a century, or forever (-1); got {ms} ms"
                    )))
                }
            }
        }
        Ok(())
    }
}

/// What the UI branches on. A code exists only where the UI does something different for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The caller sent something malformed; show the message, do not retry.
    InvalidArgument,
    /// The named device or series does not exist (removed, or never seen).
    NotFound,
    /// The engine is not ready or a source is down; retrying later may work.
    Unavailable,
    /// Anything else: a bug or a storage failure. Logged with detail on the engine side.
    Internal,
}

/// The error every IPC command returns: `{ "code": "...", "message": "..." }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(from_ms: i64, to_ms: i64, points: u32) -> HistoryQuery {
        HistoryQuery {
            device: DeviceId::new("ble:AA"),
            metric: "temperature".into(),
            from_ms,
            to_ms,
            points,
        }
    }

    #[test]
    fn history_query_validation() {
        let cases: &[(i64, i64, u32, Option<&str>)] = &[
            (0, 1, 1, None),
            (1_000, 2_000, MAX_POINTS, None),
            (2_000, 1_000, 10, Some("before")),
            (1_000, 1_000, 10, Some("before")),
            (0, 1_000, 0, Some("points")),
            (0, 1_000, MAX_POINTS + 1, Some("points")),
            (-1, 1_000, 10, Some("range")),
            (0, i64::MAX, 10, Some("range")),
        ];
        for &(from, to, points, want) in cases {
            let got = query(from, to, points).validate();
            match want {
                None => assert_eq!(got, Ok(()), "{from}..{to} x{points}"),
                Some(fragment) => {
                    let err = got.expect_err("must be rejected");
                    assert_eq!(err.code, ErrorCode::InvalidArgument);
                    assert!(err.message.contains(fragment), "{}", err.message);
                }
            }
        }
        let mut q = query(0, 1, 1);
        q.metric.clear();
        assert!(q.validate().is_err());
        q.metric = "x".repeat(129);
        assert!(q.validate().is_err());
    }

    #[test]
    fn freshness_follows_the_expected_interval() {
        assert_eq!(freshness(None, 1_000, 10_000), Freshness::Unknown);
        assert_eq!(freshness(Some(10_000), 5_000, 24_999), Freshness::Live);
        assert_eq!(freshness(Some(10_000), 5_000, 25_000), Freshness::Live);
        assert_eq!(freshness(Some(10_000), 5_000, 25_001), Freshness::Stale);
        // A device claiming an absurdly short interval still gets a one-second floor.
        assert_eq!(freshness(Some(0), 1, 2_999), Freshness::Live);
    }

    #[test]
    fn recent_values_are_live_only_while_a_source_listens() {
        let device = |transport| Device {
            id: DeviceId::new("d"),
            name: "d".into(),
            kind: "thermometer".into(),
            transport,
            site: "Home".into(),
            expected_interval_ms: 5_000,
            tags: vec![],
        };
        let summary = |transport, seen| DeviceSummary {
            device: device(transport),
            last_seen_ms: seen,
            latest: vec![],
            freshness: Freshness::Unknown,
            sparkline: None,
        };
        let source = |transport, state| SourceStatus {
            id: "s".into(),
            transport,
            state,
            detail: String::new(),
            since_ms: 0,
            rejected: vec![],
            offline: vec![],
        };
        let judged = |sources: Vec<SourceStatus>| {
            Dashboard::new(
                10_000,
                vec![
                    summary(Transport::Ble, Some(9_000)),
                    summary(Transport::Mqtt, Some(9_000)),
                    summary(Transport::Ble, None),
                ],
                sources,
            )
            .devices
            .iter()
            .map(|d| d.freshness)
            .collect::<Vec<_>>()
        };
        use Freshness::*;
        assert_eq!(judged(vec![]), [Stale, Stale, Unknown]);
        assert_eq!(
            judged(vec![source(Transport::Ble, SourceState::Connected)]),
            [Live, Stale, Unknown]
        );
        assert_eq!(
            judged(vec![source(Transport::Mqtt, SourceState::Reconnecting)]),
            [Stale, Stale, Unknown]
        );
        let mut dead = source(Transport::Ble, SourceState::Connected);
        dead.offline.push(OfflineDevice {
            device: DeviceId::new("d"),
            since_ms: 9_500,
        });
        assert_eq!(judged(vec![dead]), [Offline, Offline, Offline]);
    }

    #[test]
    fn a_sparkline_follows_the_temperature_else_what_the_device_measures() {
        let card = |metrics: &[&str]| DeviceSummary {
            device: Device {
                id: DeviceId::new("ble:1"),
                name: "Sensor".into(),
                kind: "thermometer".into(),
                transport: Transport::Ble,
                site: "Home".into(),
                expected_interval_ms: 5_000,
                tags: vec![],
            },
            last_seen_ms: Some(1),
            latest: metrics
                .iter()
                .map(|m| LatestValue {
                    metric: (*m).into(),
                    unit: None,
                    value: 1.0,
                    ts_ms: 1,
                })
                .collect(),
            freshness: Freshness::Unknown,
            sparkline: None,
        };
        let main = |metrics: &[&str]| card(metrics).main_metric().map(|v| v.metric.clone());
        assert_eq!(
            main(&["battery", "humidity", "temperature"]).as_deref(),
            Some("temperature")
        );
        assert_eq!(
            main(&["battery", "pressure_drop", "rssi"]).as_deref(),
            Some("pressure_drop")
        );
        assert_eq!(main(&["battery", "rssi"]).as_deref(), Some("battery"));
        assert_eq!(main(&["rssi", "packet_id"]), None);
    }

    #[test]
    fn committed_readings_update_the_cards_never_backwards() {
        let device = Device {
            id: DeviceId::new("ble:1"),
            name: "Fridge".into(),
            kind: "thermometer".into(),
            transport: Transport::Ble,
            site: "Home".into(),
            expected_interval_ms: 5_000,
            tags: vec![],
        };
        let latest = |metric: &str, value, ts_ms| LatestValue {
            metric: metric.into(),
            unit: Some("°C".into()),
            value,
            ts_ms,
        };
        let mut d = Dashboard::new(
            10_000,
            vec![DeviceSummary {
                device,
                last_seen_ms: Some(9_000),
                latest: vec![latest("temperature", 4.0, 9_000)],
                freshness: Freshness::Unknown,
                sparkline: None,
            }],
            vec![],
        );
        let reading = |device: &str, metric: &str, ts_ms, value| Reading {
            device: DeviceId::new(device),
            metric: metric.into(),
            unit: None,
            ts_ms,
            value,
            quality: Quality::default(),
        };
        assert!(d.apply(&[
            reading("ble:1", "temperature", 11_000, 5.0),
            // Late: an older reading arriving after a newer one changes nothing.
            reading("ble:1", "temperature", 10_500, 99.0),
            reading("ble:1", "battery", 11_000, 80.0),
            reading("ble:1", "humidity", 8_000, 40.0),
        ]));
        let card = &d.devices[0];
        assert_eq!(card.last_seen_ms, Some(11_000));
        let got: Vec<_> = card
            .latest
            .iter()
            .map(|v| (v.metric.as_str(), v.value, v.unit.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("battery", 80.0, None),
                ("humidity", 40.0, None),
                ("temperature", 5.0, Some("°C")),
            ]
        );
        // A device the dashboard has never shown: the caller must fetch a fresh one.
        assert!(!d.apply(&[reading("ble:2", "temperature", 11_000, 1.0)]));
        assert_eq!(d.devices.len(), 1);
    }

    #[test]
    fn tags_are_normalised_or_refused() {
        let tags = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            normalize_tags(&tags(&[" Freezer", "kitchen", "", "freezer"])).unwrap(),
            ["freezer", "kitchen"]
        );
        assert!(normalize_tags(&tags(&["two words"])).is_err());
        assert!(normalize_tags(&tags(&[&"x".repeat(33)])).is_err());
        let many: Vec<String> = (0..17).map(|i| format!("t{i}")).collect();
        assert!(normalize_tags(&many).is_err());
    }

    #[test]
    fn an_offline_node_covers_its_devices_only() {
        let node = OfflineDevice {
            device: DeviceId::new("mqtt:p/G/E"),
            since_ms: 0,
        };
        assert!(node.covers(&DeviceId::new("mqtt:p/G/E")));
        assert!(node.covers(&DeviceId::new("mqtt:p/G/E/pump")));
        assert!(!node.covers(&DeviceId::new("mqtt:p/G/E2")));
        assert!(!node.covers(&DeviceId::new("mqtt:p/G")));
    }

    #[test]
    fn retention_settings_are_bounded() {
        let ok = [
            None,
            Some(KEEP_FOREVER),
            Some(3_600_000),
            Some(30 * 86_400_000),
        ];
        for raw_ms in ok {
            assert_eq!(
                RetentionSetting {
                    raw_ms,
                    minute_ms: None
                }
                .validate(),
                Ok(())
            );
        }
        for bad in [0, -2, 59_000, i64::MAX, i64::MIN] {
            let r = RetentionSetting {
                raw_ms: None,
                minute_ms: Some(bad),
            };
            assert_eq!(
                r.validate().unwrap_err().code,
                ErrorCode::InvalidArgument,
                "{bad}"
            );
        }
    }

    #[test]
    fn api_error_wire_shape() {
        let e = ApiError::not_found("no such device: x");
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"code":"not_found","message":"no such device: x"}"#
        );
    }

    #[test]
    fn a_bucket_from_before_first_and_last_reads_them_as_its_mean() {
        let old: Bucket =
            serde_json::from_str(r#"{"t":5,"min":1.0,"max":3.0,"mean":2.5,"count":4}"#).unwrap();
        assert_eq!((old.first, old.last), (2.5, 2.5));
        let b = Bucket {
            t: 5,
            min: 1.0,
            max: 3.0,
            mean: 2.0,
            count: 3,
            first: 3.0,
            last: 1.0,
        };
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::from_str::<Bucket>(&json).unwrap(), b);
    }
}
