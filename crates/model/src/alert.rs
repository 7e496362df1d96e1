//! Alerts as the UI sees them: what is active, what happened, and the rules in force.

use crate::{ApiError, TimestampMs, MAX_TS_MS, MIN_TS_MS};
use serde::{Deserialize, Serialize};

/// Names one alert: a rule on one device's metric (`*` for a device-wide stale rule). The device
/// is its id (`ble:A4:C1:38:00:00:01`), never its name: a renamed device keeps its alerts, and
/// two devices of one name never share one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AlertId {
    pub rule: String,
    pub device: String,
    pub metric: String,
}

impl AlertId {
    pub fn validate(&self) -> Result<(), ApiError> {
        for (what, s, max) in [
            ("rule", &self.rule, 128),
            ("device", &self.device, 256),
            ("metric", &self.metric, 128),
        ] {
            if s.is_empty() || s.len() > max {
                return Err(ApiError::invalid(format!(
                    "alert {what} must be 1 to {max} characters"
                )));
            }
        }
        Ok(())
    }
}

/// An alert that needs attention: active, or cleared but not yet acknowledged, or shelved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveAlert {
    pub id: AlertId,
    /// The device's name, for people.
    #[serde(default)]
    pub device_name: String,
    /// `high`, `low`, `rate`, `stale`, `battery_low`, `anomaly`.
    pub kind: String,
    /// `info`, `warning`, `critical`.
    pub severity: String,
    /// `active_unacked`, `active_acked`, `cleared_unacked` (or `inactive` while only shelved).
    pub state: String,
    pub since_ms: TimestampMs,
    pub last_value: Option<f64>,
    pub shelved_until_ms: Option<TimestampMs>,
    pub acked_by: Option<String>,
}

/// One recorded change: a state transition, or a shelving.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub ts_ms: TimestampMs,
    pub id: AlertId,
    /// The device's name at the time, for people (records older than alerts kept by device id
    /// have none, and `id.device` is their name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    /// `raised`, `cleared`, `acknowledged`, `shelved`, `unshelved`, or `from → to` otherwise.
    pub event: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub value: Option<f64>,
    pub by: Option<String>,
    pub severity: Option<String>,
    pub shelved_until_ms: Option<TimestampMs>,
    /// Why it was raised, in words (anomaly rules); rows stored before it have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The alerts page in one round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertsOverview {
    pub active: Vec<ActiveAlert>,
    /// The rules in force, as TOML (`[[rule]]` tables).
    pub rules: String,
    /// Batches of readings the evaluator could not keep up with (0 in normal operation).
    pub missed_batches: u64,
}

/// Which history to show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertHistoryQuery {
    pub from_ms: TimestampMs,
    pub to_ms: TimestampMs,
    #[serde(default)]
    pub device: Option<String>,
    pub limit: u32,
}

/// The most history records one call returns.
pub const MAX_ALERT_RECORDS: u32 = 5_000;

impl AlertHistoryQuery {
    pub fn validate(&self) -> Result<(), ApiError> {
        if !(MIN_TS_MS..=MAX_TS_MS).contains(&self.from_ms)
            || !(MIN_TS_MS..=MAX_TS_MS).contains(&self.to_ms)
            || self.from_ms > self.to_ms
        {
            return Err(ApiError::invalid(
                "the history range must be an ordered pair of times between 1970 and 2200",
            ));
        }
        if self.limit == 0 || self.limit > MAX_ALERT_RECORDS {
            return Err(ApiError::invalid(format!(
                "limit must be between 1 and {MAX_ALERT_RECORDS}"
            )));
        }
        if self
            .device
            .as_ref()
            .is_some_and(|d| d.is_empty() || d.len() > 256)
        {
            return Err(ApiError::invalid("device must be 1 to 256 characters"));
        }
        Ok(())
    }
}

/// When a series is expected to reach an alert rule's limit, from its trend: the maintenance
/// view's row. Undated rows (`eta_ms` None) say why in `basis`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceForecast {
    pub device: crate::DeviceId,
    pub device_name: String,
    pub metric: String,
    pub unit: Option<String>,
    pub rule: String,
    pub threshold: f64,
    pub eta_ms: Option<TimestampMs>,
    pub low_ms: Option<TimestampMs>,
    pub high_ms: Option<TimestampMs>,
    pub basis: String,
    pub points: usize,
}

/// What a device chart shows of a series' alerts: the limits in force and when alerts were active.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesAlerts {
    pub limits: Vec<AlertLimit>,
    pub periods: Vec<AlertPeriod>,
    /// Dated maintenance forecasts of the series, drawn as a projected band to their limit.
    #[serde(default)]
    pub forecasts: Vec<ChartForecast>,
}

/// A trend projected from the series' last point to a limit: the chart draws the fan between
/// (`from_ms`, `from_value`) and the limit reached at `low_ms`..`high_ms`, through `eta_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartForecast {
    pub rule: String,
    pub threshold: f64,
    pub from_ms: TimestampMs,
    pub from_value: f64,
    pub eta_ms: TimestampMs,
    pub low_ms: TimestampMs,
    pub high_ms: TimestampMs,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertLimit {
    pub rule: String,
    pub value: f64,
}

/// An alert's active stretch; one still active ends at the query's end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertPeriod {
    pub rule: String,
    pub from_ms: TimestampMs,
    pub to_ms: TimestampMs,
}
