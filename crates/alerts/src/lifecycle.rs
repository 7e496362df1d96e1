//! The life of one alert, OPC UA Part 9 / Ignition style, as a pure state machine:
//!
//! ```text
//! Inactive --raise--> ActiveUnacked --ack--> ActiveAcked --clear--> Inactive
//!                     ActiveUnacked --clear--> ClearedUnacked --ack--> Inactive
//!                                              ClearedUnacked --raise--> ActiveUnacked
//! ```
//!
//! Shelving and notifications ride alongside: a shelved alert still changes state (and every
//! change is recorded) but notifies nobody until it is unshelved.

use crate::limit::EventKind;
use crate::rule::{Rule, Severity};
use serde::{Deserialize, Serialize};
use std::fmt;
pub use telltale_model::alert::AlertState;

/// Names one alert: a rule on one series (metric `*` for a device-wide stale rule).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AlertKey {
    pub rule: String,
    pub device: String,
    pub metric: String,
}

impl AlertKey {
    pub fn new(rule: &str, device: &str, metric: &str) -> Self {
        AlertKey {
            rule: rule.to_owned(),
            device: device.to_owned(),
            metric: metric.to_owned(),
        }
    }
}

impl fmt::Display for AlertKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}/{}", self.rule, self.device, self.metric)
    }
}

/// One recorded change of an alert's state, with what caused it: a reading (`value`), the clock
/// (a stale rule, no value) or a person (`by`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub ts: i64,
    pub rule: String,
    /// The device's id.
    pub device: String,
    /// Its name at the time, for people.
    #[serde(default)]
    pub device_name: String,
    pub metric: String,
    pub from: AlertState,
    pub to: AlertState,
    pub value: Option<f64>,
    pub by: Option<String>,
    pub severity: Severity,
    /// Why the alert was raised, in words (anomaly rules); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Something to tell a person, once (re-notifications are new notifications).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub key: AlertKey,
    pub severity: Severity,
    pub title: String,
    /// A sentence: "Freezer temperature -12.5 °C above -15 (freezer-warm)".
    pub body: String,
    pub ts: i64,
}

/// An alert shelved (`until` set, by a person) or unshelved (`until` empty; `by` empty when the
/// shelf expired).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shelving {
    pub ts: i64,
    pub key: AlertKey,
    pub until: Option<i64>,
    pub by: Option<String>,
}

/// What the evaluator hands back: records to store and notifications to show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Output {
    Transition(Transition),
    Notification(Notification),
    Shelving(Shelving),
}

impl Output {
    pub fn as_transition(&self) -> Option<&Transition> {
        match self {
            Output::Transition(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_notification(&self) -> Option<&Notification> {
        match self {
            Output::Notification(n) => Some(n),
            _ => None,
        }
    }
}

fn ms(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// The lifecycle of one alert: state, who acknowledged, shelving, and when it last notified
/// or next should. Small and serializable.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Lifecycle {
    pub state: AlertState,
    /// When the state last changed (or the alert was first seen).
    pub since: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shelved_until: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shelved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_notified: Option<i64>,
    /// A notification is owed from this time on (first raise, deferred by flap suppression,
    /// or the next re-notification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_due: Option<i64>,
}

impl Lifecycle {
    pub fn new(since: i64) -> Self {
        Lifecycle {
            since,
            ..Lifecycle::default()
        }
    }

    fn go(&mut self, to: AlertState, ts: i64) -> Option<(AlertState, AlertState)> {
        let from = self.state;
        self.state = to;
        self.since = ts;
        Some((from, to))
    }

    /// The rule's condition was raised or cleared at `ts`; returns the change, if any.
    pub fn condition(
        &mut self,
        event: EventKind,
        ts: i64,
        rule: &Rule,
    ) -> Option<(AlertState, AlertState)> {
        match (event, self.state) {
            (EventKind::Raised, AlertState::Inactive | AlertState::ClearedUnacked) => {
                self.acked_by = None;
                self.acked_at = None;
                // Flap suppression: at most one notification per interval.
                let earliest = self
                    .last_notified
                    .map_or(ts, |t| t.saturating_add(ms(rule.min_notify_interval_s)));
                self.notify_due = Some(earliest.max(ts));
                self.go(AlertState::ActiveUnacked, ts)
            }
            (EventKind::Cleared, AlertState::ActiveUnacked) => {
                self.notify_due = None;
                self.go(AlertState::ClearedUnacked, ts)
            }
            (EventKind::Cleared, AlertState::ActiveAcked) => {
                self.notify_due = None;
                self.go(AlertState::Inactive, ts)
            }
            _ => None,
        }
    }

    /// A person acknowledged the alert; `None` when there was nothing to acknowledge.
    pub fn acknowledge(&mut self, by: &str, now: i64) -> Option<(AlertState, AlertState)> {
        let to = match self.state {
            AlertState::ActiveUnacked => AlertState::ActiveAcked,
            AlertState::ClearedUnacked => AlertState::Inactive,
            _ => return None,
        };
        self.acked_by = Some(by.to_owned());
        self.acked_at = Some(now);
        self.notify_due = None;
        self.go(to, now)
    }

    pub fn shelve(&mut self, until: i64, by: &str) {
        self.shelved_until = Some(until);
        self.shelved_by = Some(by.to_owned());
    }

    /// Returns whether it was shelved. A notification owed meanwhile becomes due again.
    pub fn unshelve(&mut self) -> bool {
        self.shelved_by = None;
        self.shelved_until.take().is_some()
    }

    pub fn is_shelved(&self, now: i64) -> bool {
        self.shelved_until.is_some_and(|until| now < until)
    }

    /// Whether a notification goes out at `now`; if so, records it and schedules the next
    /// (re-notification every `renotify_s`, never sooner than the flap interval).
    pub fn take_notification(&mut self, now: i64, rule: &Rule) -> bool {
        let due = self.notify_due.is_some_and(|due| due <= now);
        if !due || self.state != AlertState::ActiveUnacked || self.is_shelved(now) {
            return false;
        }
        self.last_notified = Some(now);
        self.notify_due = (rule.renotify_s > 0.0)
            .then(|| now.saturating_add(ms(rule.renotify_s.max(rule.min_notify_interval_s))));
        true
    }
}
