//! Alerts as the UI sees them: what is active, what happened, and the rules in force.

use crate::{ApiError, TimestampMs, MAX_TS_MS, MIN_TS_MS};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An enum of plain values, each written as one fixed snake_case word everywhere: in JSON (IPC,
/// saved alert state), in RULES.toml (which `telltale alerts replay` reads too) and in the
/// store's columns.
/// `as_str` and `parse` are the one table of those words; serde goes through them.
macro_rules! words {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $word:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            const WORDS: &'static [&'static str] = &[$($word),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($word => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let word = String::deserialize(d)?;
                Self::parse(&word)
                    .ok_or_else(|| serde::de::Error::unknown_variant(&word, Self::WORDS))
            }
        }
    };
}

words! {
    /// What an alert rule watches for (its `kind` in RULES.toml).
    pub enum AlertKind {
        /// ON when `value > limit`, OFF when `value <= limit - deadband`.
        High = "high",
        /// ON when `value < limit`, OFF when `value >= limit + deadband`.
        Low = "low",
        /// ON when the rate of change over `window_s`, in units per minute, exceeds `limit` in
        /// either direction.
        Rate = "rate",
        /// ON when nothing was heard for `stale_after_s`, or the source declared the device
        /// offline. Judged on ticks, not readings.
        Stale = "stale",
        /// A `low` limit with defaults: metric `battery`, limit 20 (%), deadband 5.
        BatteryLow = "battery_low",
        /// ON when a reading is unusual in an unusual pattern, against the series' own past.
        Anomaly = "anomaly",
        /// ON when the series' trend reaches one of its high/low limits within `horizon_s` (a
        /// forecast). Judged on forecasts, never on readings; the measure is the
        /// time left, in seconds.
        Forecast = "forecast",
        /// ON when a service plan on the series comes due within `horizon_s` (or is overdue).
        /// Judged like `forecast`.
        ServiceDue = "service_due",
    }
}

impl AlertKind {
    /// Whether readings feed the rule. Maintenance kinds are fed the time left instead: a
    /// reading's value is not a time.
    pub fn judges_readings(self) -> bool {
        !matches!(self, AlertKind::Forecast | AlertKind::ServiceDue)
    }
}

words! {
    /// How urgent an alert is. Ordered: `Info < Warning < Critical`.
    #[derive(PartialOrd, Ord, Default)]
    pub enum Severity {
        Info = "info",
        #[default]
        Warning = "warning",
        Critical = "critical",
    }
}

words! {
    /// Where an alert is in its lifecycle (OPC UA Part 9):
    ///
    /// ```text
    /// Inactive --raise--> ActiveUnacked --ack--> ActiveAcked --clear--> Inactive
    ///                     ActiveUnacked --clear--> ClearedUnacked --ack--> Inactive
    ///                                              ClearedUnacked --raise--> ActiveUnacked
    /// ```
    #[derive(Default)]
    pub enum AlertState {
        #[default]
        Inactive = "inactive",
        ActiveUnacked = "active_unacked",
        ActiveAcked = "active_acked",
        ClearedUnacked = "cleared_unacked",
    }
}

impl AlertState {
    /// The condition holds.
    pub fn is_active(self) -> bool {
        matches!(self, AlertState::ActiveUnacked | AlertState::ActiveAcked)
    }

    /// Somebody still has to acknowledge it.
    pub fn is_unacked(self) -> bool {
        matches!(self, AlertState::ActiveUnacked | AlertState::ClearedUnacked)
    }
}

/// What one history record says happened to an alert. In JSON a word (`raised`), or for any
/// other change of state `from → to` (`cleared_unacked → inactive`: an alert of a removed rule
/// closing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertEvent {
    /// The condition began to hold.
    Raised,
    /// The condition stopped holding.
    Cleared,
    /// A person acknowledged the alert.
    Acknowledged,
    /// A person shelved it: it notifies nobody until the shelf ends.
    Shelved,
    /// A person took it off the shelf, or the shelf expired.
    Unshelved,
    /// Any other change of state.
    Changed { from: AlertState, to: AlertState },
}

impl AlertEvent {
    /// The event of a change of state from `from` to `to`: an acknowledgement when a person
    /// made it, otherwise whatever the condition did.
    pub fn of_change(from: AlertState, to: AlertState, by_person: bool) -> Self {
        if by_person {
            AlertEvent::Acknowledged
        } else if !from.is_active() && to.is_active() {
            AlertEvent::Raised
        } else if from.is_active() && !to.is_active() {
            AlertEvent::Cleared
        } else {
            AlertEvent::Changed { from, to }
        }
    }

    /// The event's word, `changed` for any other change of state (the store keeps the states
    /// beside it).
    pub fn word(self) -> &'static str {
        match self {
            AlertEvent::Raised => "raised",
            AlertEvent::Cleared => "cleared",
            AlertEvent::Acknowledged => "acknowledged",
            AlertEvent::Shelved => "shelved",
            AlertEvent::Unshelved => "unshelved",
            AlertEvent::Changed { .. } => "changed",
        }
    }

    /// The event a word names, given the states a `changed` one went between.
    pub fn from_word(word: &str, from: Option<AlertState>, to: Option<AlertState>) -> Option<Self> {
        Some(match word {
            "raised" => AlertEvent::Raised,
            "cleared" => AlertEvent::Cleared,
            "acknowledged" => AlertEvent::Acknowledged,
            "shelved" => AlertEvent::Shelved,
            "unshelved" => AlertEvent::Unshelved,
            "changed" => AlertEvent::Changed {
                from: from?,
                to: to?,
            },
            _ => return None,
        })
    }

    /// Parses the JSON text: a word, or `from → to`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.split_once(" → ") {
            Some((from, to)) => Some(AlertEvent::Changed {
                from: AlertState::parse(from)?,
                to: AlertState::parse(to)?,
            }),
            None => Self::from_word(s, None, None),
        }
    }
}

impl fmt::Display for AlertEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlertEvent::Changed { from, to } => write!(f, "{from} → {to}"),
            other => f.write_str(other.word()),
        }
    }
}

impl Serialize for AlertEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AlertEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).ok_or_else(|| {
            serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(&text),
                &"raised, cleared, acknowledged, shelved, unshelved or `from → to`",
            )
        })
    }
}

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
    pub kind: AlertKind,
    pub severity: Severity,
    /// Not `inactive`, unless only shelved.
    pub state: AlertState,
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
    pub event: AlertEvent,
    /// The states of a change of state; none for a shelving.
    pub from: Option<AlertState>,
    pub to: Option<AlertState>,
    pub value: Option<f64>,
    pub by: Option<String>,
    pub severity: Option<Severity>,
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
    /// Each rule's kind, by rule id: what a recorded value means (a reading, or time left).
    #[serde(default)]
    pub rule_kinds: Vec<(String, AlertKind)>,
    /// The rules in force as the form shows them, in the document's order.
    #[serde(default)]
    pub forms: Vec<RuleForm>,
    /// When notifications wait.
    #[serde(default)]
    pub notifications: NotificationSettings,
}

/// One alert rule as the app's form edits it: the fields people set, in the rule's own units.
/// A field the kind does not use is 0. Saving a form over a rule keeps what the form does not
/// show (listed in `also`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleForm {
    pub id: String,
    /// A device's name (or id), or `*` for every device.
    pub device: String,
    /// A metric, or `*` (stale, forecast and service_due: every metric of the device).
    pub metric: String,
    pub kind: AlertKind,
    /// high, low, battery_low: the value; rate: units per minute; anomaly: how surprising.
    pub limit: f64,
    /// How far back inside the limit a value must come to clear the alert.
    pub deadband: f64,
    /// How long the condition must hold before the alert is raised (`on_delay_s`).
    pub for_s: f64,
    /// stale: the silence after which a device counts as quiet.
    pub stale_after_s: f64,
    /// rate: the window the change is measured over.
    pub window_s: f64,
    /// forecast, service_due: raise when the date is less than this far ahead.
    pub horizon_s: f64,
    pub severity: Severity,
    /// Off: the alerts are recorded and listed, but nobody is notified.
    pub notify: bool,
    /// Repeat the notification this often while unacknowledged; 0 = never.
    pub renotify_s: f64,
    /// What the rule also says that the form does not show, in words (kept as it is).
    #[serde(default)]
    pub also: Vec<String>,
}

/// The most characters of a rule id, device or metric a form may carry.
pub const MAX_RULE_NAME: usize = 128;

impl RuleForm {
    /// A new rule on one series: alert when it goes above `limit`, a warning, notified.
    pub fn new(device: &str, metric: &str, kind: AlertKind) -> Self {
        RuleForm {
            id: String::new(),
            device: device.to_owned(),
            metric: metric.to_owned(),
            kind,
            limit: 0.0,
            deadband: 0.0,
            for_s: 0.0,
            stale_after_s: 0.0,
            window_s: 0.0,
            horizon_s: 0.0,
            severity: Severity::Warning,
            notify: true,
            renotify_s: 0.0,
            also: Vec::new(),
        }
    }

    /// Sizes only; what a rule means is checked where rules are (the alerts crate).
    pub fn validate(&self) -> Result<(), ApiError> {
        for (what, s) in [
            ("id", &self.id),
            ("device", &self.device),
            ("metric", &self.metric),
        ] {
            if s.trim().is_empty() || s.len() > MAX_RULE_NAME {
                return Err(ApiError::invalid(format!(
                    "the rule's {what} must be 1 to {MAX_RULE_NAME} characters"
                )));
            }
        }
        Ok(())
    }
}

/// How a rule would have done over the stored history: the form's preview before saving.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RulePreview {
    pub from_ms: TimestampMs,
    pub to_ms: TimestampMs,
    /// Series judged, and readings read.
    pub series: u32,
    pub readings: u64,
    /// Times the rule would have raised an alert.
    pub raised: u32,
    /// The latest raises, newest first (at most [`PREVIEW_EXAMPLES`]).
    pub examples: Vec<PreviewRaise>,
    /// Why some or all of the history could not be judged, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The most raises a preview lists.
pub const PREVIEW_EXAMPLES: usize = 5;

/// One raise a preview found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewRaise {
    pub ts_ms: TimestampMs,
    pub device_name: String,
    pub metric: String,
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// Saving a form: the rule, and which rule it replaces (its id before an edit; none for a new
/// rule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleChange {
    pub form: RuleForm,
    #[serde(default)]
    pub replaces: Option<String>,
}

/// Hours of the day, in local time, when alerts below critical notify nobody; whatever still
/// needs attention when they end is notified then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    /// Minutes after local midnight: from `from_min` (inclusive) to `to_min` (exclusive), across
    /// midnight when `to_min < from_min`.
    pub from_min: u16,
    pub to_min: u16,
}

impl QuietHours {
    pub const MINUTES_PER_DAY: u16 = 24 * 60;

    /// Whether the minute of the day `minute` is quiet.
    pub fn holds(self, minute: u16) -> bool {
        if self.from_min <= self.to_min {
            (self.from_min..self.to_min).contains(&minute)
        } else {
            minute >= self.from_min || minute < self.to_min
        }
    }

    pub fn validate(self) -> Result<(), ApiError> {
        if self.from_min >= Self::MINUTES_PER_DAY || self.to_min >= Self::MINUTES_PER_DAY {
            return Err(ApiError::invalid(
                "quiet hours are minutes of the day, 0 to 1439",
            ));
        }
        if self.from_min == self.to_min {
            return Err(ApiError::invalid(
                "quiet hours must start and end at different times",
            ));
        }
        Ok(())
    }
}

/// How notifications reach people.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NotificationSettings {
    #[serde(default)]
    pub quiet: Option<QuietHours>,
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

/// When a series is expected to reach an alert rule's limit, from its trend: a row of the
/// Upkeep page. Undated rows (`eta_ms` None) say why in `basis`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
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
    /// Dated forecasts of the series, drawn as a projected band to their limit.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The words are a contract (IPC, saved alert state, RULES.toml, the store's columns):
    /// exactly these, as JSON and back.
    #[test]
    fn enums_are_written_as_these_words() {
        fn check<T>(all: &[T], words: &[&str])
        where
            T: Serialize + for<'de> Deserialize<'de> + PartialEq + fmt::Debug + fmt::Display,
        {
            assert_eq!(all.len(), words.len());
            for (v, word) in all.iter().zip(words) {
                let json = serde_json::to_string(v).unwrap();
                assert_eq!(json, format!("\"{word}\""));
                assert_eq!(v.to_string(), *word);
                assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), v);
            }
        }
        check(
            AlertKind::ALL,
            &[
                "high",
                "low",
                "rate",
                "stale",
                "battery_low",
                "anomaly",
                "forecast",
                "service_due",
            ],
        );
        check(Severity::ALL, &["info", "warning", "critical"]);
        check(
            AlertState::ALL,
            &[
                "inactive",
                "active_unacked",
                "active_acked",
                "cleared_unacked",
            ],
        );
        use AlertState::*;
        check(
            &[
                AlertEvent::Raised,
                AlertEvent::Cleared,
                AlertEvent::Acknowledged,
                AlertEvent::Shelved,
                AlertEvent::Unshelved,
                AlertEvent::Changed {
                    from: ClearedUnacked,
                    to: Inactive,
                },
            ],
            &[
                "raised",
                "cleared",
                "acknowledged",
                "shelved",
                "unshelved",
                "cleared_unacked → inactive",
            ],
        );
    }

    #[test]
    fn unknown_words_are_refused_by_name() {
        let err = serde_json::from_str::<Severity>("\"urgent\"").unwrap_err();
        assert!(
            err.to_string().starts_with(
                "unknown variant `urgent`, expected one of `info`, `warning`, `critical`"
            ),
            "{err}"
        );
        assert!(serde_json::from_str::<AlertKind>("\"High\"").is_err());
        for bad in ["changed", "inactive → ", "on → off", ""] {
            assert_eq!(AlertEvent::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_change_of_state_is_named_by_what_caused_it() {
        use AlertState::*;
        let of = AlertEvent::of_change;
        assert_eq!(of(Inactive, ActiveUnacked, false), AlertEvent::Raised);
        assert_eq!(of(ClearedUnacked, ActiveUnacked, false), AlertEvent::Raised);
        assert_eq!(
            of(ActiveUnacked, ClearedUnacked, false),
            AlertEvent::Cleared
        );
        assert_eq!(of(ActiveAcked, Inactive, false), AlertEvent::Cleared);
        assert_eq!(
            of(ActiveUnacked, ActiveAcked, true),
            AlertEvent::Acknowledged
        );
        assert_eq!(of(ClearedUnacked, Inactive, true), AlertEvent::Acknowledged);
        assert_eq!(
            of(ClearedUnacked, Inactive, false),
            AlertEvent::Changed {
                from: ClearedUnacked,
                to: Inactive
            }
        );
        for e in [AlertEvent::Raised, of(ClearedUnacked, Inactive, false)] {
            let (from, to) = match e {
                AlertEvent::Changed { from, to } => (Some(from), Some(to)),
                _ => (None, None),
            };
            assert_eq!(AlertEvent::from_word(e.word(), from, to), Some(e));
        }
    }

    #[test]
    fn quiet_hours_may_cross_midnight() {
        let night = QuietHours {
            from_min: 22 * 60,
            to_min: 7 * 60,
        };
        assert!(night.holds(23 * 60) && night.holds(0) && night.holds(6 * 60 + 59));
        assert!(!night.holds(7 * 60) && !night.holds(12 * 60) && !night.holds(22 * 60 - 1));
        let lunch = QuietHours {
            from_min: 12 * 60,
            to_min: 13 * 60,
        };
        assert!(lunch.holds(12 * 60) && !lunch.holds(13 * 60) && !lunch.holds(0));
        assert!(night.validate().is_ok());
        for bad in [
            QuietHours {
                from_min: 60,
                to_min: 60,
            },
            QuietHours {
                from_min: 1440,
                to_min: 60,
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    /// A record as the UI has always received it: the same JSON, field for field.
    #[test]
    fn a_record_keeps_its_json() {
        let json = r#"{"ts_ms":5,"id":{"rule":"r","device":"ble:A","metric":"t"},"device_name":"Fridge","event":"raised","from":"inactive","to":"active_unacked","value":9.5,"by":null,"severity":"critical","shelved_until_ms":null}"#;
        let r: AlertRecord = serde_json::from_str(json).unwrap();
        assert_eq!(r.event, AlertEvent::Raised);
        assert_eq!(r.to, Some(AlertState::ActiveUnacked));
        assert_eq!(r.severity, Some(Severity::Critical));
        assert_eq!(serde_json::to_string(&r).unwrap(), json);
    }
}
