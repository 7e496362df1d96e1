//! The live alert engine: rules, per-series detector state and per-alert lifecycles, fed with
//! readings, ticks of the clock, offline declarations and what people do.

use crate::detect::Detector;
use crate::lifecycle::{
    AlertKey, AlertState, Lifecycle, Notification, Output, Shelving, Transition,
};
use crate::limit::EventKind;
use crate::rule::{AlertKind, Rule, RuleSet, Severity, Target};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AlertError {
    #[error("no alert {0}")]
    UnknownAlert(AlertKey),
    #[error("cannot shelve {key} until {until}: that is not after now ({now})")]
    ShelveNotInFuture { key: AlertKey, until: i64, now: i64 },
}

/// One alert as an alerts page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    /// Its rule, device (by id) and metric.
    pub key: AlertKey,
    /// The device's name when it last reported, for people.
    pub device_name: String,
    pub rule: String,
    pub kind: AlertKind,
    pub severity: Severity,
    pub state: AlertState,
    /// When it entered `state`.
    pub since: i64,
    pub last_value: Option<f64>,
    pub shelved_until: Option<i64>,
    pub acked_by: Option<String>,
}

/// One series the evaluator has heard from, with the alerts that watch it (cached at first
/// sight; recomputed only if the device's kind or tags change).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Series {
    /// The device's id, which its alerts are kept by. Snapshots written before ids were kept
    /// have none: [`Snapshot::identify`] gives them theirs.
    #[serde(default)]
    id: String,
    /// The device's name as it last reported (rules match it; sentences use it).
    device: String,
    metric: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    #[serde(skip)]
    alerts: Vec<u32>,
}

impl Series {
    fn target(&self) -> Target<'_> {
        Target {
            id: &self.id,
            device: &self.device,
            kind: self.kind.as_deref(),
            tags: &self.tags,
            metric: &self.metric,
            unit: self.unit.as_deref(),
        }
    }
}

/// One (rule, device, metric): what the rule's detector remembers and where the alert is in
/// its lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Alert {
    key: AlertKey,
    /// The device's name as its series last reported it, for sentences and records.
    #[serde(skip)]
    name: String,
    detector: Detector,
    life: Lifecycle,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_value: Option<f64>,
    /// The rule's last measure (value, rate per minute, z, silence in ms), for sentences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    measure: Option<f64>,
    /// Why the rule last raised, in words (anomaly rules), for the notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    /// Index of the rule in the rule set, and of the series that created the alert.
    #[serde(skip)]
    rule: usize,
    #[serde(skip)]
    series: usize,
    #[serde(skip)]
    severity: Severity,
}

/// Everything the evaluator must remember across a restart: the series it knows and every
/// alert's state (running delays, learnt baselines, acknowledgements, shelves). Serialize it
/// with any serde format; restore it with [`Evaluator::restore`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(default)]
    series: Vec<Series>,
    #[serde(default)]
    alerts: Vec<Alert>,
}

impl Snapshot {
    /// Gives the series of a snapshot written before alerts were kept by device id their ids:
    /// `id_of` maps a device name (or id) to the one device it names, if exactly one. Their
    /// alerts' keys follow, so every state carries on under the device's id. A name that names
    /// no device, or several, stays as it is (those alerts start afresh when their devices
    /// report). Series that have an id are left alone.
    pub fn identify(&mut self, id_of: impl Fn(&str) -> Option<String>) {
        let mut renamed: HashMap<String, String> = HashMap::new();
        for s in self.series.iter_mut().filter(|s| s.id.is_empty()) {
            s.id = id_of(&s.device).unwrap_or_else(|| s.device.clone());
            if s.id != s.device {
                renamed.insert(s.device.clone(), s.id.clone());
            }
        }
        for a in &mut self.alerts {
            if let Some(id) = renamed.get(&a.key.device) {
                a.key.device = id.clone();
            }
        }
    }

    /// How many alerts (active or not) it holds.
    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }
}

/// Owns a [`RuleSet`] and the state of every alert; pure (time is always an argument).
#[derive(Debug, Clone, Default)]
pub struct Evaluator {
    rules: RuleSet,
    lookup: HashMap<String, HashMap<String, usize>>,
    series: Vec<Series>,
    alerts: Vec<Alert>,
    index: HashMap<AlertKey, usize>,
}

impl Evaluator {
    pub fn new(rules: RuleSet) -> Self {
        Evaluator {
            rules,
            ..Evaluator::default()
        }
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Feeds one committed reading. Non-finite values are ignored, like absent rows. Allocates
    /// nothing unless the series is new or something happens.
    pub fn observe(&mut self, target: &Target<'_>, ts_ms: i64, value: f64) -> Vec<Output> {
        if !value.is_finite() {
            return Vec::new();
        }
        self.feed(target, None, ts_ms, value)
    }

    /// A upkeep measure for one series at `now_ms`: the seconds left until its trend reaches
    /// a limit (`AlertKind::Forecast`) or a service plan on it comes due (`AlertKind::ServiceDue`);
    /// `f64::INFINITY` when there is no date, which clears. Only rules of `kind` judge it.
    pub fn judge(
        &mut self,
        target: &Target<'_>,
        kind: AlertKind,
        now_ms: i64,
        seconds_left: f64,
    ) -> Vec<Output> {
        if seconds_left.is_nan() {
            return Vec::new();
        }
        self.feed(target, Some(kind), now_ms, seconds_left)
    }

    /// Feeds `value` to the alerts of the series that judge it: readings (`upkeep` None)
    /// or the time left of one upkeep kind.
    fn feed(
        &mut self,
        target: &Target<'_>,
        upkeep: Option<AlertKind>,
        ts_ms: i64,
        value: f64,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        let s = self.series_for(target, ts_ms, &mut out);
        let Evaluator {
            rules,
            series,
            alerts,
            ..
        } = self;
        let series = &series[s];
        // Infinity ("no date") is not a value people can be shown.
        let shown = value.is_finite().then_some(value);
        let unit = match upkeep {
            None => series.unit.as_deref(),
            Some(_) => Some("s"),
        };
        for &a in &series.alerts {
            let alert = &mut alerts[a as usize];
            let rule = &rules.rules[alert.rule];
            let judges = match upkeep {
                None => rule.kind.judges_readings(),
                Some(kind) => rule.kind == kind,
            };
            if !judges {
                continue;
            }
            let step = alert.detector.observe(rule, ts_ms, value);
            alert.last_value = shown;
            if upkeep.is_some() {
                alert.measure = shown;
            } else if step.measure.is_some() {
                alert.measure = step.measure;
            }
            if let Some(event) = step.event {
                if event == EventKind::Raised {
                    alert.note = step.note;
                }
                record(alert, rule, event, ts_ms, shown, unit, &mut out);
            }
        }
        out
    }

    /// The clock reached `now_ms`: stale rules judge silence, shelves expire, owed and
    /// repeated notifications go out.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Output> {
        let mut out = Vec::new();
        let Evaluator {
            rules,
            series,
            alerts,
            ..
        } = self;
        for alert in alerts.iter_mut() {
            let rule = &rules.rules[alert.rule];
            let unit = series[alert.series].unit.as_deref();
            if alert
                .life
                .shelved_until
                .is_some_and(|until| until <= now_ms)
            {
                alert.life.unshelve();
                out.push(Output::Shelving(Shelving {
                    ts: now_ms,
                    key: alert.key.clone(),
                    until: None,
                    by: None,
                }));
            }
            if rule.kind == AlertKind::Stale {
                let step = alert.detector.tick(rule, now_ms);
                if step.measure.is_some() {
                    alert.measure = step.measure;
                }
                if let Some(event) = step.event {
                    record(alert, rule, event, now_ms, None, unit, &mut out);
                }
            }
            notify(alert, rule, now_ms, unit, &mut out);
        }
        out
    }

    /// The source declared `device` offline: its stale rules raise at once. A device the
    /// evaluator never heard from has no alerts and is ignored.
    pub fn offline(&mut self, device: &str, now_ms: i64) -> Vec<Output> {
        let mut out = Vec::new();
        let Evaluator {
            rules,
            series,
            alerts,
            ..
        } = self;
        for alert in alerts.iter_mut().filter(|a| a.key.device == device) {
            let rule = &rules.rules[alert.rule];
            let step = alert.detector.offline(rule, now_ms);
            if step.measure.is_some() {
                alert.measure = step.measure;
            }
            if let Some(event) = step.event {
                let unit = series[alert.series].unit.as_deref();
                record(alert, rule, event, now_ms, None, unit, &mut out);
            }
        }
        out
    }

    fn alert_index(&mut self, key: &AlertKey) -> Result<usize, AlertError> {
        self.index
            .get(key)
            .copied()
            .ok_or_else(|| AlertError::UnknownAlert(key.clone()))
    }

    /// A person acknowledged the alert. Acknowledging an alert that needs none records
    /// nothing (two people may press the button at once).
    pub fn acknowledge(
        &mut self,
        key: &AlertKey,
        by: &str,
        now_ms: i64,
    ) -> Result<Vec<Output>, AlertError> {
        let a = self.alert_index(key)?;
        let alert = &mut self.alerts[a];
        let mut out = Vec::new();
        if let Some((from, to)) = alert.life.acknowledge(by, now_ms) {
            out.push(transition(alert, from, to, now_ms, None, Some(by)));
        }
        Ok(out)
    }

    /// Shelves the alert until `until_ms`: it keeps changing state (recorded) but notifies
    /// nobody; the shelf expires on the first tick at or after `until_ms`. Shelving again
    /// replaces the shelf.
    pub fn shelve(
        &mut self,
        key: &AlertKey,
        until_ms: i64,
        by: &str,
        now_ms: i64,
    ) -> Result<Vec<Output>, AlertError> {
        let a = self.alert_index(key)?;
        if until_ms <= now_ms {
            return Err(AlertError::ShelveNotInFuture {
                key: key.clone(),
                until: until_ms,
                now: now_ms,
            });
        }
        let alert = &mut self.alerts[a];
        alert.life.shelve(until_ms, by);
        Ok(vec![Output::Shelving(Shelving {
            ts: now_ms,
            key: key.clone(),
            until: Some(until_ms),
            by: Some(by.to_owned()),
        })])
    }

    /// Takes the alert off the shelf now; if it is still active and unacknowledged, the
    /// notification it owes goes out (flap suppression permitting).
    pub fn unshelve(
        &mut self,
        key: &AlertKey,
        by: &str,
        now_ms: i64,
    ) -> Result<Vec<Output>, AlertError> {
        let a = self.alert_index(key)?;
        let alert = &mut self.alerts[a];
        let mut out = Vec::new();
        if alert.life.unshelve() {
            out.push(Output::Shelving(Shelving {
                ts: now_ms,
                key: key.clone(),
                until: None,
                by: Some(by.to_owned()),
            }));
            let rule = &self.rules.rules[alert.rule];
            let unit = self.series[alert.series].unit.as_deref();
            notify(alert, rule, now_ms, unit, &mut out);
        }
        Ok(out)
    }

    fn view(&self, alert: &Alert) -> AlertView {
        AlertView {
            key: alert.key.clone(),
            device_name: self.series[alert.series].device.clone(),
            rule: alert.key.rule.clone(),
            kind: self.rules.rules[alert.rule].kind,
            severity: alert.severity,
            state: alert.life.state,
            since: alert.life.since,
            last_value: alert.last_value,
            shelved_until: alert.life.shelved_until,
            acked_by: alert.life.acked_by.clone(),
        }
    }

    /// The alerts an alerts page lists: every one not inactive, and every shelved one; most
    /// severe first, then oldest first.
    pub fn active(&self) -> Vec<AlertView> {
        let mut views: Vec<AlertView> = self
            .alerts
            .iter()
            .filter(|a| a.life.state != AlertState::Inactive || a.life.shelved_until.is_some())
            .map(|a| self.view(a))
            .collect();
        views.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.since.cmp(&b.since))
                .then_with(|| a.key.cmp(&b.key))
        });
        views
    }

    /// One alert, whatever its state.
    pub fn get(&self, key: &AlertKey) -> Option<AlertView> {
        self.index.get(key).map(|&a| self.view(&self.alerts[a]))
    }

    /// Everything to persist.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            series: self.series.clone(),
            alerts: self.alerts.clone(),
        }
    }

    /// An evaluator that continues exactly where the snapshot's left off. Alerts whose rule is
    /// gone, no longer applies, or changed kind are dropped (a fresh state replaces them).
    pub fn restore(rules: RuleSet, snapshot: Snapshot) -> Self {
        let mut ev = Evaluator::new(rules);
        let mut series = snapshot.series;
        for (i, s) in series.iter_mut().enumerate() {
            if s.id.is_empty() {
                // Not identified (see `Snapshot::identify`): its name stands in for its id.
                s.id = s.device.clone();
            }
            ev.lookup
                .entry(s.id.clone())
                .or_default()
                .insert(s.metric.clone(), i);
        }
        ev.series = series;
        let old = snapshot
            .alerts
            .into_iter()
            .map(|a| (a.key.clone(), a))
            .collect();
        ev.rebuild(old, 0, &mut Vec::new());
        ev
    }

    /// Replaces the rules, keeping the state of every alert whose rule (same id and kind)
    /// still applies. Alerts that disappear while not inactive are recorded as going inactive.
    pub fn set_rules(&mut self, rules: RuleSet, now_ms: i64) -> Vec<Output> {
        let mut out = Vec::new();
        self.rules = rules;
        let old = std::mem::take(&mut self.alerts)
            .into_iter()
            .map(|a| (a.key.clone(), a))
            .collect();
        self.rebuild(old, now_ms, &mut out);
        out
    }

    /// The series of `target`, created (with its matching rules) at first sight.
    fn series_for(&mut self, target: &Target<'_>, ts: i64, out: &mut Vec<Output>) -> usize {
        if let Some(&s) = self
            .lookup
            .get(target.id)
            .and_then(|m| m.get(target.metric))
        {
            let series = &mut self.series[s];
            if series.unit.as_deref() != target.unit {
                series.unit = target.unit.map(str::to_owned);
            }
            // Renamed, re-kinded or re-tagged: the same alerts carry on where their rules still
            // apply; the others end.
            if series.device != target.device
                || series.kind.as_deref() != target.kind
                || series.tags.as_slice() != target.tags
            {
                series.device = target.device.to_owned();
                series.kind = target.kind.map(str::to_owned);
                series.tags = target.tags.to_vec();
                let old = std::mem::take(&mut self.alerts)
                    .into_iter()
                    .map(|a| (a.key.clone(), a))
                    .collect();
                self.rebuild(old, ts, out);
            }
            return s;
        }
        let s = self.series.len();
        self.series.push(Series {
            id: target.id.to_owned(),
            device: target.device.to_owned(),
            metric: target.metric.to_owned(),
            kind: target.kind.map(str::to_owned),
            tags: target.tags.to_vec(),
            unit: target.unit.map(str::to_owned),
            alerts: Vec::new(),
        });
        self.lookup
            .entry(target.id.to_owned())
            .or_default()
            .insert(target.metric.to_owned(), s);
        let mut none = HashMap::new();
        self.attach(s, ts, &mut none, &mut Vec::new());
        s
    }

    /// Finds or makes the alerts of every rule that applies to series `s`, taking states from
    /// `old` when they fit; states that do not fit go to `dropped`.
    fn attach(
        &mut self,
        s: usize,
        since: i64,
        old: &mut HashMap<AlertKey, Alert>,
        dropped: &mut Vec<Alert>,
    ) {
        let mut list = Vec::new();
        for (r, rule) in self.rules.rules.iter().enumerate() {
            let series = &self.series[s];
            if !rule.applies(&series.target()) {
                continue;
            }
            // A device-wide stale rule is one alert per device; other `*` rules one per series.
            let metric = if rule.metric == "*" && rule.kind == AlertKind::Stale {
                "*"
            } else {
                &series.metric
            };
            let key = AlertKey::new(&rule.id, &series.id, metric);
            let a = match self.index.get(&key) {
                Some(&a) => a,
                None => {
                    let mut alert = match old.remove(&key) {
                        Some(a) if a.detector.fits(rule.kind) => a,
                        other => {
                            dropped.extend(other);
                            Alert {
                                key: key.clone(),
                                name: String::new(),
                                detector: Detector::new(rule.kind),
                                life: Lifecycle::new(since),
                                last_value: None,
                                measure: None,
                                note: None,
                                rule: r,
                                series: s,
                                severity: rule.severity,
                            }
                        }
                    };
                    alert.rule = r;
                    alert.series = s;
                    alert.severity = rule.severity;
                    alert.name.clone_from(&series.device);
                    self.alerts.push(alert);
                    self.index.insert(key, self.alerts.len() - 1);
                    self.alerts.len() - 1
                }
            };
            list.push(a as u32);
        }
        self.series[s].alerts = list;
    }

    /// Recomputes every series' alerts from the rules, reusing the states in `old`.
    fn rebuild(&mut self, mut old: HashMap<AlertKey, Alert>, now: i64, out: &mut Vec<Output>) {
        self.alerts.clear();
        self.index.clear();
        let mut dropped = Vec::new();
        for s in 0..self.series.len() {
            self.attach(s, now, &mut old, &mut dropped);
        }
        dropped.extend(old.into_values());
        dropped.sort_by(|a, b| a.key.cmp(&b.key));
        for alert in dropped {
            if alert.life.state != AlertState::Inactive {
                out.push(transition(
                    &alert,
                    alert.life.state,
                    AlertState::Inactive,
                    now,
                    None,
                    None,
                ));
            }
        }
    }
}

fn transition(
    alert: &Alert,
    from: AlertState,
    to: AlertState,
    ts: i64,
    value: Option<f64>,
    by: Option<&str>,
) -> Output {
    Output::Transition(Transition {
        ts,
        rule: alert.key.rule.clone(),
        device: alert.key.device.clone(),
        device_name: alert.name.clone(),
        metric: alert.key.metric.clone(),
        from,
        to,
        value,
        by: by.map(str::to_owned),
        severity: alert.severity,
        note: None,
    })
}

/// The detector raised or cleared: move the lifecycle, record it, notify if due.
fn record(
    alert: &mut Alert,
    rule: &Rule,
    event: EventKind,
    ts: i64,
    value: Option<f64>,
    unit: Option<&str>,
    out: &mut Vec<Output>,
) {
    if let Some((from, to)) = alert.life.condition(event, ts, rule) {
        let mut t = transition(alert, from, to, ts, value, None);
        if let (Output::Transition(t), EventKind::Raised) = (&mut t, event) {
            t.note = alert.note.clone();
        }
        out.push(t);
    }
    notify(alert, rule, ts, unit, out);
}

fn notify(alert: &mut Alert, rule: &Rule, now: i64, unit: Option<&str>, out: &mut Vec<Output>) {
    // A rule with notifications off still records and lists its alerts: only the telling stops.
    if rule.notify && alert.life.take_notification(now, rule) {
        let (title, body) = describe(rule, alert, unit, now);
        out.push(Output::Notification(Notification {
            key: alert.key.clone(),
            severity: alert.severity,
            title,
            body,
            ts: now,
        }));
    }
}

/// A number as people read it: at most three decimals, no `-0`.
fn num(v: f64) -> String {
    let r = (v * 1000.0).round() / 1000.0;
    if r == 0.0 {
        "0".to_owned()
    } else {
        format!("{r}")
    }
}

pub(crate) fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s < 120 {
        format!("{s} s")
    } else if s < 2 * 3600 {
        format!("{} min", s / 60)
    } else if s < 3 * 86_400 {
        format!("{} h", s / 3600)
    } else {
        format!("{} days", s / 86_400)
    }
}

/// The notification's title and sentence.
fn describe(rule: &Rule, alert: &Alert, unit: Option<&str>, now: i64) -> (String, String) {
    let AlertKey {
        rule: id, metric, ..
    } = &alert.key;
    let device = &alert.name;
    let u = unit.map(|u| format!(" {u}")).unwrap_or_default();
    let v = alert.last_value.map_or_else(|| "?".to_owned(), num);
    let limit = num(rule.limit);
    match rule.kind {
        AlertKind::High => (
            format!("{device} {metric} high"),
            format!("{device} {metric} {v}{u} above {limit} ({id})"),
        ),
        AlertKind::Low | AlertKind::BatteryLow => (
            format!("{device} {metric} low"),
            format!("{device} {metric} {v}{u} below {limit} ({id})"),
        ),
        AlertKind::Rate => {
            let rate = alert.measure.unwrap_or(0.0);
            let way = if rate < 0.0 { "falling" } else { "rising" };
            (
                format!("{device} {metric} {way} fast"),
                format!(
                    "{device} {metric} {way} {}{u}/min, faster than {limit}{u}/min ({id})",
                    num(rate.abs())
                ),
            )
        }
        AlertKind::Anomaly => (
            format!("{device} {metric} unusual"),
            match &alert.note {
                Some(why) => format!("{device} {metric} {v}{u} is unusual for it: {why} ({id})"),
                None => format!(
                    "{device} {metric} {v}{u} is unusual for it (z = {}, limit {limit}) ({id})",
                    num(alert.measure.unwrap_or(f64::NAN))
                ),
            },
        ),
        AlertKind::Forecast => (
            format!("{device} {metric} maintenance"),
            format!(
                "{device} {metric} reaches its limit in {} by its trend ({id})",
                alert
                    .measure
                    .map_or_else(|| "?".to_owned(), |s| duration((s * 1000.0) as i64))
            ),
        ),
        AlertKind::ServiceDue => (
            format!("{device} service due"),
            format!(
                "{device} ({metric}) service due {} ({id})",
                alert.measure.map_or_else(
                    || "soon".to_owned(),
                    |s| if s <= 0.0 {
                        "now".to_owned()
                    } else {
                        format!("in {}", duration((s * 1000.0) as i64))
                    }
                )
            ),
        ),
        AlertKind::Stale => match alert.detector.silence() {
            Some((_, true)) => (
                format!("{device} offline"),
                format!("{device} went offline ({id})"),
            ),
            Some((seen, false)) => {
                let what = if metric == "*" {
                    "nothing".to_owned()
                } else {
                    format!("no {metric}")
                };
                let silent = seen.map_or_else(|| "a while".to_owned(), |s| duration(now - s));
                (
                    format!("{device} silent"),
                    format!("{device} has sent {what} for {silent} ({id})"),
                )
            }
            None => (format!("{device} stale"), format!("{device} stale ({id})")),
        },
    }
}
