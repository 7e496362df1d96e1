//! Alerts evaluated where the readings are: on every reading the store has committed, by the
//! pure `telltale_alerts::Evaluator`, with its state and every transition written back through
//! the store's single writer, so a restart (even mid on-delay) continues where it stopped.
//!
//! One task owns the evaluator. Readings arrive on the store's commit broadcast; a one-second
//! tick drives stale rules, shelf expiry and re-notification; people's acknowledgements and
//! shelvings arrive as commands. Notifications go to a [`Notifier`] (desktop notifications in
//! the app, the log in the collector).
//!
//! Upkeep rules (`forecast`, `service_due`) are judged on dates, not readings: a second
//! task computes the forecasts and service plans every [`UPKEEP_EVERY`] off the async workers
//! and hands each series' time left to the evaluator as a command.

use crate::error::{EngineError, Result};
use crate::upkeep::Measure;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use telltale_alerts::{
    AlertKey, AlertKind, AlertView, Evaluator, Notification, Output, RuleSet, Snapshot, Target,
};
use telltale_model::alert::{
    ActiveAlert, AlertEvent, AlertId, AlertRecord, Forecast, NotificationSettings, QuietHours,
    Severity,
};
use telltale_model::upkeep::ServiceStatus;
use telltale_model::{DeviceId, Reading};
use telltale_sources::SourceBoard;
use telltale_sources::TaskHandle;
use telltale_store::{AlertWrite, Ingest, SourceConfigChange, Store};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// Where the rules live in the store (one TOML document).
const RULES_KIND: &str = "alert_rules";
const RULES_ID: &str = "rules";
/// The evaluator's whole state is one row.
const STATE_KEY: &str = "evaluator";
/// Where the notification settings live (one JSON document).
const NOTIFY_KIND: &str = "notifications";
const NOTIFY_ID: &str = "settings";
const TICK: Duration = Duration::from_secs(1);
/// How often forecasts and service plans are recomputed for upkeep rules.
pub const UPKEEP_EVERY: Duration = Duration::from_secs(60);
/// Ticks between re-reads of device names, kinds and tags.
const DEVICE_REFRESH_TICKS: u64 = 15;

/// Tells a person about an alert. Implementations must not block for long.
pub trait Notifier: Send + Sync + 'static {
    fn notify(&self, notification: &Notification);
}

/// The collector's notifier: the log.
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn notify(&self, n: &Notification) {
        tracing::warn!(alert = %n.key, severity = ?n.severity, "{}: {}", n.title, n.body);
    }
}

enum Command {
    Acknowledge(AlertKey, String, oneshot::Sender<Result<()>>),
    Shelve(AlertKey, i64, String, oneshot::Sender<Result<()>>),
    Unshelve(AlertKey, String, oneshot::Sender<Result<()>>),
    SetRules(RuleSet, String, oneshot::Sender<Result<()>>),
    /// A change to the rules in force, given their text and rules: the new text. Made inside
    /// the task, so two changes at once never lose one another.
    ChangeRules(RuleEdit, oneshot::Sender<Result<()>>),
    SetNotifications(NotificationSettings, oneshot::Sender<Result<()>>),
    /// Maintenance measures computed at a time: judged by forecast and service_due rules.
    Judge(Vec<Measure>, i64),
}

/// A change to the rules: from the text and rules in force, the new text.
pub type RuleEdit = Box<dyn FnOnce(&str, &RuleSet) -> Result<String> + Send>;

/// What the alerts page reads without waiting for the task.
#[derive(Default)]
struct Shown {
    active: Vec<AlertView>,
    /// The rules in force, parsed, for readers (charts, forecasts) that must not re-parse.
    rules: RuleSet,
    rules_text: String,
    missed_batches: u64,
    notifications: NotificationSettings,
}

/// A cloneable way to reach the running alert task.
#[derive(Clone)]
pub struct Alerts {
    commands: mpsc::Sender<Command>,
    shown: Arc<Mutex<Shown>>,
    records: broadcast::Sender<AlertRecord>,
    /// Wakes the upkeep pass early: new rules are judged at once, not a minute later.
    upkeep_now: Arc<tokio::sync::Notify>,
    /// The last upkeep pass's forecasts and service plans, for screens that watch them
    /// (the Upkeep page, through the live stream): computed by the pass whenever someone
    /// watches, so a screen is told rather than asking every so often.
    upkeep: watch::Sender<Option<Arc<Upkeep>>>,
    /// For the test notification a person asks for.
    notifier: Arc<dyn Notifier>,
}

/// Where upkeep stands, as one upkeep pass computed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Upkeep {
    pub at_ms: i64,
    pub forecasts: Vec<Forecast>,
    pub plans: Vec<ServiceStatus>,
}

/// Owns the alert task; dropping it stops evaluation.
pub struct Alerter {
    alerts: Alerts,
    task: TaskHandle,
    upkeep: TaskHandle,
}

impl Alerter {
    /// Loads the rules (saving `default_rules` on first run) and the saved state, then starts
    /// evaluating committed readings. Must be called inside a tokio runtime.
    pub fn start(
        store: Arc<Store>,
        ingest: Ingest,
        committed: broadcast::Receiver<Arc<[Reading]>>,
        board: SourceBoard,
        notifier: Arc<dyn Notifier>,
        default_rules: &str,
    ) -> Result<Self> {
        let saved = store
            .source_configs(RULES_KIND)?
            .into_iter()
            .find(|(id, _)| id == RULES_ID)
            .map(|(_, text)| text);
        let first_run = saved.is_none();
        let rules_text = saved.unwrap_or_else(|| default_rules.to_owned());
        let rules = match RuleSet::from_toml(&rules_text) {
            Ok(r) => r,
            Err(e) => {
                // A rules document this build cannot read must not stop the app: run none,
                // and say so where the rules are edited.
                tracing::error!(error = %e, "saved alert rules are unreadable; no rules in force");
                RuleSet::from_toml("").map_err(|e| EngineError::Config(e.to_string()))?
            }
        };
        let notifications = store
            .source_configs(NOTIFY_KIND)?
            .into_iter()
            .find(|(id, _)| id == NOTIFY_ID)
            .and_then(|(_, json)| match serde_json::from_str(&json) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::error!(error = %e, "saved notification settings unreadable");
                    None
                }
            })
            .unwrap_or_default();
        let snapshot = store
            .alert_states()?
            .into_iter()
            .find(|(k, _)| k == STATE_KEY)
            .and_then(|(_, json)| match serde_json::from_str::<Snapshot>(&json) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::error!(error = %e, "saved alert state unreadable; starting fresh");
                    None
                }
            })
            .unwrap_or_default();
        let mut snapshot = snapshot;
        // A state saved before alerts were kept by device id knows devices by name: each name
        // that names exactly one device (or is an id) carries on under that device's id.
        let devices = store.devices()?;
        snapshot.identify(|name| {
            let mut named = devices
                .iter()
                .filter(|d| d.id.as_str() == name || d.name == name);
            match (named.next(), named.next()) {
                (Some(d), None) => Some(d.id.0.clone()),
                _ => None,
            }
        });
        let evaluator = Evaluator::restore(rules, snapshot);
        let shown = Arc::new(Mutex::new(Shown {
            active: evaluator.active(),
            rules: evaluator.rules().clone(),
            rules_text: rules_text.clone(),
            missed_batches: 0,
            notifications,
        }));
        let (commands, command_rx) = mpsc::channel(64);
        let (records, _) = broadcast::channel(1024);
        let alerts = Alerts {
            commands,
            shown: shown.clone(),
            records: records.clone(),
            upkeep_now: Arc::new(tokio::sync::Notify::new()),
            upkeep: watch::channel(None).0,
            notifier: notifier.clone(),
        };
        let upkeep = upkeep_task(store.clone(), alerts.clone());
        let worker = Worker {
            store,
            ingest,
            board,
            notifier,
            evaluator,
            shown,
            records,
            devices: HashMap::new(),
            ticks: 0,
            offline: HashSet::new(),
            saved_state: String::new(),
            state_checked: None,
            save_rules: first_run.then_some(rules_text),
            save_notifications: None,
            judged: None,
            held: Held::default(),
            local_minute,
        };
        let task = TaskHandle::spawn("alerts", move |cancel| async move {
            worker.run(committed, command_rx, cancel).await
        });
        Ok(Self {
            alerts,
            task,
            upkeep,
        })
    }

    pub fn handle(&self) -> Alerts {
        self.alerts.clone()
    }

    pub async fn stop(self) {
        self.upkeep.stop().await;
        self.task.stop().await;
    }
}

impl Alerts {
    async fn ask(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<()>>) -> Command,
    ) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(command(tx))
            .await
            .map_err(|_| EngineError::Config("the alert engine is stopped".into()))?;
        rx.await
            .map_err(|_| EngineError::Config("the alert engine is stopped".into()))?
    }

    pub async fn acknowledge(&self, id: &AlertId, by: &str) -> Result<()> {
        let key = key_of(id);
        let by = by.to_owned();
        self.ask(|r| Command::Acknowledge(key, by, r)).await
    }

    pub async fn shelve(&self, id: &AlertId, until_ms: i64, by: &str) -> Result<()> {
        let key = key_of(id);
        let by = by.to_owned();
        self.ask(|r| Command::Shelve(key, until_ms, by, r)).await
    }

    pub async fn unshelve(&self, id: &AlertId, by: &str) -> Result<()> {
        let key = key_of(id);
        let by = by.to_owned();
        self.ask(|r| Command::Unshelve(key, by, r)).await
    }

    /// Changes the rules in force by `edit`, which is given their text and rules and answers
    /// the new text (validated as [`Alerts::set_rules`] does).
    pub async fn change_rules(&self, edit: RuleEdit) -> Result<()> {
        self.ask(|r| Command::ChangeRules(edit, r)).await?;
        self.upkeep_now.notify_one();
        Ok(())
    }

    /// When notifications wait.
    pub fn notifications(&self) -> NotificationSettings {
        let shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        shown.notifications.clone()
    }

    /// Sets and keeps when notifications wait; what waits for quiet hours that are no longer
    /// quiet is notified at the next tick.
    pub async fn set_notifications(&self, settings: NotificationSettings) -> Result<()> {
        if let Some(q) = settings.quiet {
            q.validate().map_err(|e| EngineError::Invalid(e.message))?;
        }
        self.ask(|r| Command::SetNotifications(settings, r)).await
    }

    /// Shows a notification now, whatever the hour, so a person sees what alerts look like
    /// and that they reach them; answers what happens to real alerts at this hour.
    pub fn test_notification(&self, now_ms: i64) -> String {
        let quiet = self.notifications().quiet;
        let quiet_now = quiet.is_some_and(|q| q.holds(local_minute(now_ms)));
        self.notifier.notify(&Notification {
            key: AlertKey::new("test", "telltale", "*"),
            severity: Severity::Info,
            title: "Telltale test notification".into(),
            body: "Alerts will reach you like this.".into(),
            ts: now_ms,
        });
        match quiet {
            Some(q) if quiet_now => format!(
                "Test notification sent. Quiet hours are on until {}: only critical alerts notify now.",
                clock(q.to_min)
            ),
            _ => "Test notification sent.".to_owned(),
        }
    }

    /// Replaces the rules with `text` (TOML), after validating it; alerts of removed rules close.
    pub async fn set_rules(&self, text: &str) -> Result<()> {
        let rules = RuleSet::from_toml(text).map_err(|e| EngineError::Config(e.to_string()))?;
        let text = text.to_owned();
        self.ask(|r| Command::SetRules(rules, text, r)).await?;
        self.upkeep_now.notify_one();
        Ok(())
    }

    /// Recomputes what upkeep rules judge now rather than at the next pass: a service plan
    /// was added, changed, serviced or removed.
    pub fn recheck_upkeep(&self) {
        self.upkeep_now.notify_one();
    }

    /// Where upkeep stands after each upkeep pass (every [`UPKEEP_EVERY`], and at once
    /// after a change of rules or plans). Watching makes the passes compute forecasts and plans
    /// even when no rule needs them; the first pass after subscribing runs at once.
    pub fn watch_upkeep(&self) -> watch::Receiver<Option<Arc<Upkeep>>> {
        let rx = self.upkeep.subscribe();
        self.upkeep_now.notify_one();
        rx
    }

    pub fn active(&self) -> Vec<ActiveAlert> {
        let shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        shown.active.iter().map(active_of).collect()
    }

    /// The rules in force.
    pub fn rules(&self) -> RuleSet {
        let shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        shown.rules.clone()
    }

    pub fn rules_text(&self) -> String {
        let shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        shown.rules_text.clone()
    }

    pub fn missed_batches(&self) -> u64 {
        let shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        shown.missed_batches
    }

    /// Every record as it is stored (for live views and the latency benchmark).
    pub fn subscribe(&self) -> broadcast::Receiver<AlertRecord> {
        self.records.subscribe()
    }
}

fn key_of(id: &AlertId) -> AlertKey {
    AlertKey::new(&id.rule, &id.device, &id.metric)
}

fn id_of(key: &AlertKey) -> AlertId {
    AlertId {
        rule: key.rule.clone(),
        device: key.device.clone(),
        metric: key.metric.clone(),
    }
}

fn active_of(v: &AlertView) -> ActiveAlert {
    ActiveAlert {
        id: id_of(&v.key),
        device_name: v.device_name.clone(),
        kind: v.kind,
        severity: v.severity,
        state: v.state,
        since_ms: v.since,
        last_value: v.last_value,
        shelved_until_ms: v.shelved_until,
        acked_by: v.acked_by.clone(),
    }
}

/// The history record of one output, or None for a notification (not history).
pub fn record_of(output: &Output) -> Option<AlertRecord> {
    match output {
        Output::Transition(t) => {
            // A person's transition is an acknowledgement; the rest follow the condition.
            let event = AlertEvent::of_change(t.from, t.to, t.by.is_some());
            Some(AlertRecord {
                ts_ms: t.ts,
                id: AlertId {
                    rule: t.rule.clone(),
                    device: t.device.clone(),
                    metric: t.metric.clone(),
                },
                device_name: (!t.device_name.is_empty()).then(|| t.device_name.clone()),
                event,
                from: Some(t.from),
                to: Some(t.to),
                value: t.value,
                by: t.by.clone(),
                severity: Some(t.severity),
                shelved_until_ms: None,
                note: t.note.clone(),
            })
        }
        Output::Shelving(s) => Some(AlertRecord {
            ts_ms: s.ts,
            id: id_of(&s.key),
            device_name: None,
            event: if s.until.is_some() {
                AlertEvent::Shelved
            } else {
                AlertEvent::Unshelved
            },
            from: None,
            to: None,
            value: None,
            by: s.by.clone(),
            severity: None,
            shelved_until_ms: s.until,
            note: None,
        }),
        Output::Notification(_) => None,
    }
}

/// What rules match on, per device: its name (what people write in rules) and kind.
struct DeviceInfo {
    name: String,
    kind: String,
    tags: Vec<String>,
}

struct Worker {
    store: Arc<Store>,
    ingest: Ingest,
    board: SourceBoard,
    notifier: Arc<dyn Notifier>,
    evaluator: Evaluator,
    shown: Arc<Mutex<Shown>>,
    records: broadcast::Sender<AlertRecord>,
    devices: HashMap<DeviceId, DeviceInfo>,
    ticks: u64,
    /// Devices already reported offline to the evaluator.
    offline: HashSet<DeviceId>,
    /// The last state written, to skip identical writes.
    saved_state: String,
    /// When the state was last compared with what is saved (None: never).
    state_checked: Option<std::time::Instant>,
    /// The rules to save (the default ones on the first run, and each change).
    save_rules: Option<String>,
    save_notifications: Option<String>,
    /// The series given a upkeep measure by the last pass (None before the first): one
    /// missing from the next (its plan or limit was removed) is told it has no date, so its
    /// alert clears instead of staying raised forever.
    judged: Option<HashSet<(DeviceId, String, AlertKind)>>,
    /// Notifications waiting for quiet hours to end.
    held: Held,
    /// The local minute of the day of a time (the clock's time zone; a test's own).
    local_minute: fn(i64) -> u16,
}

/// The local minute of the day (0..1440) at `ts_ms`, in the system's time zone.
pub fn local_minute(ts_ms: i64) -> u16 {
    use chrono::Timelike;
    let local = chrono::DateTime::from_timestamp_millis(ts_ms)
        .unwrap_or_default()
        .with_timezone(&chrono::Local);
    (local.hour() * 60 + local.minute()) as u16
}

/// `HH:MM` of a minute of the day.
fn clock(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Notifications held during quiet hours: the latest per alert. When the hours end, those whose
/// alert still needs attention (active, not acknowledged, not shelved) go out, once.
#[derive(Default)]
struct Held {
    waiting: HashMap<AlertKey, Notification>,
}

impl Held {
    fn any(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// The notification to show now, or None when it waits: critical alerts never wait.
    fn pass(
        &mut self,
        n: &Notification,
        quiet: Option<QuietHours>,
        minute: u16,
    ) -> Option<Notification> {
        if n.severity < Severity::Critical && quiet.is_some_and(|q| q.holds(minute)) {
            self.waiting.insert(n.key.clone(), n.clone());
            None
        } else {
            // Told now: nothing older about this alert is owed.
            self.waiting.remove(&n.key);
            Some(n.clone())
        }
    }

    /// Outside quiet hours, what waited and is still owed (`owed` says which alerts still need
    /// attention), marked as held; nothing while they last.
    fn release(
        &mut self,
        quiet: Option<QuietHours>,
        minute: u16,
        owed: impl Fn(&AlertKey) -> bool,
    ) -> Vec<Notification> {
        if self.waiting.is_empty() || quiet.is_some_and(|q| q.holds(minute)) {
            return Vec::new();
        }
        let mut out: Vec<Notification> = self
            .waiting
            .drain()
            .filter(|(key, _)| owed(key))
            .map(|(_, mut n)| {
                n.body = format!("{} (held during quiet hours)", n.body);
                n
            })
            .collect();
        out.sort_by_key(|n| n.ts);
        out
    }
}

impl Worker {
    async fn run(
        mut self,
        mut committed: broadcast::Receiver<Arc<[Reading]>>,
        mut commands: mpsc::Receiver<Command>,
        cancel: tokio_util::sync::CancellationToken,
    ) {
        // The first tick fires at once, so default rules of a first run are saved right away.
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let outputs = tokio::select! {
                _ = cancel.cancelled() => break,
                batch = committed.recv() => match batch {
                    Ok(readings) => self.observe(&readings),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        // Never silent: counted and shown on the alerts page.
                        tracing::error!(batches = n, "alert evaluation fell behind; batches skipped");
                        self.shown.lock().unwrap_or_else(|p| p.into_inner()).missed_batches += n;
                        Vec::new()
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = tick.tick() => self.tick(telltale_sources::now_ms()),
                Some(command) = commands.recv() => self.command(command, telltale_sources::now_ms()),
            };
            self.publish(outputs, false).await;
        }
        // Whatever changed since the last write (a running on-delay, what detectors learnt) is
        // kept for the restart.
        self.publish(Vec::new(), true).await;
    }

    fn device(&mut self, id: &DeviceId) -> Option<&DeviceInfo> {
        if !self.devices.contains_key(id) {
            let device = self.store.device(id).ok()?;
            self.devices.insert(
                id.clone(),
                DeviceInfo {
                    name: device.name,
                    kind: device.kind,
                    tags: device.tags,
                },
            );
        }
        self.devices.get(id)
    }

    fn observe(&mut self, readings: &[Reading]) -> Vec<Output> {
        let mut out = Vec::new();
        for r in readings {
            if self.device(&r.device).is_none() {
                continue;
            }
            // Disjoint fields: the cache is read while the evaluator is updated, no copies.
            let info = &self.devices[&r.device];
            // Kept by the device's id; matched by its name ("Freezer") or its id.
            let target = Target {
                id: r.device.as_str(),
                device: if info.name.is_empty() {
                    r.device.as_str()
                } else {
                    &info.name
                },
                kind: Some(&info.kind),
                tags: &info.tags,
                metric: &r.metric,
                unit: r.unit.as_deref(),
            };
            out.extend(self.evaluator.observe(&target, r.ts_ms, r.value));
        }
        out
    }

    fn tick(&mut self, now: i64) -> Vec<Output> {
        // Re-read device descriptions now and then: people rename and tag devices.
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(DEVICE_REFRESH_TICKS) {
            self.devices.clear();
        }
        let mut out = self.evaluator.tick(now);
        // Devices their source declared gone (a Sparkplug death) are offline for stale rules.
        let declared: HashSet<DeviceId> = self
            .board
            .snapshot()
            .into_iter()
            .flat_map(|s| s.offline)
            .map(|o| o.device)
            .collect();
        let newly: Vec<DeviceId> = declared.difference(&self.offline).cloned().collect();
        self.offline = declared;
        for id in newly {
            if self.device(&id).is_some() {
                // Disjoint fields: the cache is read while the evaluator is updated.
                out.extend(self.evaluator.offline(id.as_str(), now));
            }
        }
        out
    }

    /// Hands each series' time left to the upkeep rules, under the device's id; series
    /// judged before and missing now get "no date".
    fn judge(&mut self, measures: &[Measure], now: i64) -> Vec<Output> {
        let before = match self.judged.take() {
            Some(judged) => judged,
            None => self.upkeep_alerts_in_force(),
        };
        let current: HashSet<(DeviceId, String, AlertKind)> = measures
            .iter()
            .map(|m| (m.device.clone(), m.metric.clone(), m.kind))
            .collect();
        let gone: Vec<Measure> = before
            .difference(&current)
            .map(|(device, metric, kind)| Measure {
                device: device.clone(),
                metric: metric.clone(),
                kind: *kind,
                seconds_left: f64::INFINITY,
            })
            .collect();
        self.judged = Some(current);
        let mut out = Vec::new();
        for m in measures.iter().chain(&gone) {
            if self.device(&m.device).is_none() {
                continue;
            }
            let info = &self.devices[&m.device];
            let target = Target {
                id: m.device.as_str(),
                device: if info.name.is_empty() {
                    m.device.as_str()
                } else {
                    &info.name
                },
                kind: Some(&info.kind),
                tags: &info.tags,
                metric: &m.metric,
                unit: None,
            };
            out.extend(self.evaluator.judge(&target, m.kind, now, m.seconds_left));
        }
        out
    }

    /// The series of upkeep alerts not inactive (restored from before a restart), by
    /// device id: the first pass clears those it no longer has a date for.
    fn upkeep_alerts_in_force(&self) -> HashSet<(DeviceId, String, AlertKind)> {
        let alerts: Vec<AlertView> = self
            .evaluator
            .active()
            .into_iter()
            .filter(|a| !a.kind.judges_readings())
            .collect();
        if alerts.is_empty() {
            return HashSet::new();
        }
        let devices = self.store.device_summaries().unwrap_or_default();
        let mut out = HashSet::new();
        for a in alerts {
            if let Some(d) = devices
                .iter()
                .find(|d| d.device.id.as_str() == a.key.device)
            {
                out.insert((d.device.id.clone(), a.key.metric.clone(), a.kind));
            }
        }
        out
    }

    fn command(&mut self, command: Command, now: i64) -> Vec<Output> {
        let (result, reply) = match command {
            Command::Judge(measures, at) => return self.judge(&measures, at),
            Command::Acknowledge(key, by, reply) => {
                (self.evaluator.acknowledge(&key, &by, now), reply)
            }
            Command::Shelve(key, until, by, reply) => {
                (self.evaluator.shelve(&key, until, &by, now), reply)
            }
            Command::Unshelve(key, by, reply) => (self.evaluator.unshelve(&key, &by, now), reply),
            Command::SetRules(rules, text, reply) => (Ok(self.set_rules(rules, text, now)), reply),
            Command::ChangeRules(edit, reply) => {
                let (text, rules) = {
                    let shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
                    (shown.rules_text.clone(), shown.rules.clone())
                };
                let changed = edit(&text, &rules).and_then(|text| {
                    let rules = RuleSet::from_toml(&text)
                        .map_err(|e| EngineError::Config(e.to_string()))?;
                    Ok((rules, text))
                });
                match changed {
                    Ok((rules, text)) => {
                        // In force before the answer: the caller reads them next.
                        let out = self.set_rules(rules, text, now);
                        let _ = reply.send(Ok(()));
                        return out;
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        return Vec::new();
                    }
                }
            }
            Command::SetNotifications(settings, reply) => {
                match serde_json::to_string(&settings) {
                    Ok(json) => {
                        self.save_notifications = Some(json);
                        self.shown
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .notifications = settings;
                        let _ = reply.send(Ok(()));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(EngineError::Config(e.to_string())));
                    }
                }
                return Vec::new();
            }
        };
        match result {
            Ok(out) => {
                let _ = reply.send(Ok(()));
                out
            }
            Err(e) => {
                let _ = reply.send(Err(EngineError::Config(e.to_string())));
                Vec::new()
            }
        }
    }

    fn set_rules(&mut self, rules: RuleSet, text: String, now: i64) -> Vec<Output> {
        let out = self.evaluator.set_rules(rules.clone(), now);
        let mut shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        shown.rules = rules;
        shown.rules_text = text.clone();
        drop(shown);
        let _ = self.save_rules.insert(text);
        out
    }

    /// Stores the records and the state (when changed: with every transition, at the end, and
    /// otherwise at most every [`STATE_SAVE_EVERY`]), then notifies and updates the view.
    async fn publish(&mut self, outputs: Vec<Output>, end: bool) {
        let now = telltale_sources::now_ms();
        let records: Vec<AlertRecord> = outputs.iter().filter_map(record_of).collect();
        let due = end
            || !records.is_empty()
            || self
                .state_checked
                .is_none_or(|t| t.elapsed() >= STATE_SAVE_EVERY);
        let state = if due {
            self.state_checked = Some(std::time::Instant::now());
            serde_json::to_string(&self.evaluator.snapshot()).unwrap_or_default()
        } else {
            String::new()
        };
        let state_changed = due && state != self.saved_state;
        if let Some(text) = self.save_rules.take() {
            let change = SourceConfigChange {
                kind: RULES_KIND.into(),
                id: RULES_ID.into(),
                config: Some(text),
                now_ms: now,
            };
            if let Err(e) = self.ingest.save_source_config(change).await {
                tracing::error!(error = %e, "alert rules not saved");
            }
        }
        if let Some(json) = self.save_notifications.take() {
            let change = SourceConfigChange {
                kind: NOTIFY_KIND.into(),
                id: NOTIFY_ID.into(),
                config: Some(json),
                now_ms: now,
            };
            if let Err(e) = self.ingest.save_source_config(change).await {
                tracing::error!(error = %e, "notification settings not saved");
            }
        }
        if !records.is_empty() || state_changed {
            let write = AlertWrite {
                transitions: records.clone(),
                states: if state_changed {
                    vec![(STATE_KEY.to_owned(), Some(state.clone()))]
                } else {
                    Vec::new()
                },
                now_ms: now,
            };
            match self.ingest.save_alerts(write).await {
                Ok(()) => self.saved_state = state,
                Err(e) => tracing::error!(error = %e, "alert records not saved"),
            }
        }
        let quiet = self
            .shown
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .notifications
            .quiet;
        let minute = (self.local_minute)(now);
        for output in &outputs {
            if let Output::Notification(n) = output {
                if let Some(n) = self.held.pass(n, quiet, minute) {
                    self.notifier.notify(&n);
                }
            }
        }
        if self.held.any() {
            let owed: HashSet<AlertKey> = self
                .evaluator
                .active()
                .into_iter()
                .filter(|a| {
                    a.state == telltale_alerts::AlertState::ActiveUnacked
                        && a.shelved_until.is_none_or(|until| until <= now)
                })
                .map(|a| a.key)
                .collect();
            for n in self.held.release(quiet, minute, |key| owed.contains(key)) {
                self.notifier.notify(&n);
            }
        }
        if !outputs.is_empty() {
            let mut shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
            shown.active = self.evaluator.active();
        }
        for r in records {
            let _ = self.records.send(r);
        }
    }
}

/// The evaluator's state (running delays, what anomaly detectors learnt) is written with every
/// transition, when the task ends, and otherwise at most this often: a crash then costs at most
/// half a minute of learning, where writing every series' state after every commit would cost a
/// write (kilobytes per anomaly series) per batch.
const STATE_SAVE_EVERY: Duration = Duration::from_secs(30);

/// Every [`UPKEEP_EVERY`], computes what upkeep rules judge (only the kinds some rule in
/// force needs) on a blocking thread, and hands it to the alert task.
fn upkeep_task(store: Arc<Store>, alerts: Alerts) -> TaskHandle {
    TaskHandle::spawn("alerts-upkeep", move |cancel| async move {
        let mut tick = tokio::time::interval(UPKEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tick.tick() => {}
                _ = alerts.upkeep_now.notified() => {}
            }
            let rules = alerts.rules();
            let wants = |kind: AlertKind| rules.rules.iter().any(|r| r.kind == kind);
            let watched = alerts.upkeep.receiver_count() > 0;
            let (forecasts, plans) = (
                watched || wants(AlertKind::Forecast),
                watched || wants(AlertKind::ServiceDue),
            );
            if !forecasts && !plans {
                continue;
            }
            let store = store.clone();
            let computed =
                tokio::task::spawn_blocking(move || -> Result<(Vec<Measure>, Upkeep)> {
                    let now = telltale_sources::now_ms();
                    let f = if forecasts {
                        crate::forecasts::forecasts(&store, &rules, now)?
                    } else {
                        Vec::new()
                    };
                    let p = if plans {
                        crate::upkeep::service_statuses(&store, now)?
                    } else {
                        Vec::new()
                    };
                    let measures = crate::upkeep::measures(&f, &p, now);
                    let upkeep = Upkeep {
                        at_ms: now,
                        forecasts: f,
                        plans: p,
                    };
                    Ok((measures, upkeep))
                })
                .await;
            match computed {
                Ok(Ok((measures, upkeep))) => {
                    let now = upkeep.at_ms;
                    if watched {
                        alerts.upkeep.send_replace(Some(Arc::new(upkeep)));
                    }
                    if alerts
                        .commands
                        .send(Command::Judge(measures, now))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Ok(Err(e)) => tracing::error!(error = %e, "upkeep measures not computed"),
                Err(e) => tracing::error!(error = %e, "upkeep measures task failed"),
            }
        }
    })
}

/// Reads recorded history back (newest first).
pub fn history(
    store: &Store,
    q: &telltale_model::alert::AlertHistoryQuery,
) -> Result<Vec<AlertRecord>> {
    Ok(store.alert_transitions(q.from_ms, q.to_ms, q.device.as_deref(), q.limit)?)
}

/// Rules every installation starts with: batteries running low, and devices gone quiet.
pub const DEFAULT_RULES: &str = r#"# Alert rules (TOML). Each [[rule]] watches one metric of one device ("*" = every device),
# or of every device of a kind (device_kind = "freezer"). Kinds: high, low, rate, stale,
# battery_low, anomaly; and for upkeep: forecast (a trend reaches a high/low limit within
# horizon_s) and service_due (a service plan on the Upkeep page comes due within horizon_s).
# Severity: info, warning, critical.

[[rule]]
id = "battery-low"
device = "*"
kind = "battery_low"
severity = "warning"

[[rule]]
id = "device-silent"
device = "*"
kind = "stale"
stale_after_s = 600
severity = "warning"

[[rule]]
id = "service-due"
device = "*"
kind = "service_due"
horizon_s = 259200                    # three days ahead, at the recent pace
severity = "info"
"#;

/// A stored device's series as rules see it (by the device's name, kind and tags).
pub(crate) fn device_target<'a>(d: &'a telltale_model::Device, metric: &'a str) -> Target<'a> {
    Target {
        id: d.id.as_str(),
        device: &d.name,
        kind: Some(&d.kind),
        tags: &d.tags,
        metric,
        unit: None,
    }
}

/// A series' alert limits (high/low rules in force) and the stretches its alerts were active in
/// [from, to], for the device chart.
pub fn series_alerts(
    store: &Store,
    rules: &RuleSet,
    device: &DeviceId,
    metric: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<telltale_model::alert::SeriesAlerts> {
    use telltale_alerts::AlertKind;
    use telltale_model::alert::{AlertLimit, AlertPeriod, SeriesAlerts};
    let d = store.device(device)?;
    let target = device_target(&d, metric);
    let limits = rules
        .rules
        .iter()
        .filter(|r| {
            matches!(
                r.kind,
                AlertKind::High | AlertKind::Low | AlertKind::BatteryLow
            ) && r.applies(&target)
        })
        .map(|r| AlertLimit {
            rule: r.id.clone(),
            value: r.limit,
        })
        .collect();
    // Look back a week for raises that began before the range.
    let mut records = store.alert_transitions(
        (from_ms - 7 * 86_400_000).max(0),
        to_ms,
        Some(d.id.as_str()),
        telltale_model::alert::MAX_ALERT_RECORDS,
    )?;
    records.reverse();
    let mut open: HashMap<String, i64> = HashMap::new();
    let mut periods = Vec::new();
    for r in records {
        if r.id.metric != metric && r.id.metric != "*" {
            continue;
        }
        match r.event {
            AlertEvent::Raised => {
                open.entry(r.id.rule.clone()).or_insert(r.ts_ms);
            }
            AlertEvent::Cleared => {
                if let Some(start) = open.remove(&r.id.rule) {
                    periods.push(AlertPeriod {
                        rule: r.id.rule,
                        from_ms: start,
                        to_ms: r.ts_ms,
                    });
                }
            }
            _ => {}
        }
    }
    periods.extend(open.into_iter().map(|(rule, start)| AlertPeriod {
        rule,
        from_ms: start,
        to_ms,
    }));
    periods.retain(|p| p.to_ms >= from_ms && p.from_ms <= to_ms);
    periods.sort_by_key(|p| p.from_ms);
    Ok(SeriesAlerts {
        limits,
        periods,
        forecasts: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(rule: &str, severity: Severity, ts: i64) -> Notification {
        Notification {
            key: AlertKey::new(rule, "ble:A", "temperature"),
            severity,
            title: rule.into(),
            body: format!("{rule} at {ts}"),
            ts,
        }
    }

    /// Quiet hours hold what is below critical, and let out once what is still owed.
    #[test]
    fn quiet_hours_hold_and_then_release_what_is_still_owed() {
        let night = Some(QuietHours {
            from_min: 22 * 60,
            to_min: 7 * 60,
        });
        let (late, early, day) = (23 * 60, 6 * 60, 8 * 60);
        let mut held = Held::default();
        assert!(held
            .pass(&note("warm", Severity::Warning, 1), night, late)
            .is_none());
        assert!(held
            .pass(&note("warm", Severity::Warning, 2), night, late)
            .is_none());
        assert!(held
            .pass(&note("info", Severity::Info, 3), night, early)
            .is_none());
        assert!(held
            .pass(&note("gone", Severity::Warning, 4), night, early)
            .is_none());
        // Critical never waits; and without quiet hours nothing does.
        assert!(held
            .pass(&note("fire", Severity::Critical, 5), night, late)
            .is_some());
        assert!(held
            .pass(&note("x", Severity::Info, 6), None, late)
            .is_some());
        // Still night: nothing goes out.
        assert!(held.release(night, early, |_| true).is_empty());
        // Morning: the latest of each alert still owed, once, marked as held.
        let out = held.release(night, day, |k| k.rule != "gone");
        let said: Vec<&str> = out.iter().map(|n| n.body.as_str()).collect();
        assert_eq!(
            said,
            [
                "warm at 2 (held during quiet hours)",
                "info at 3 (held during quiet hours)"
            ]
        );
        assert!(held.release(night, day, |_| true).is_empty(), "told once");
        // Told outside quiet hours: nothing older about it is still owed.
        assert!(held
            .pass(&note("warm", Severity::Warning, 7), night, late)
            .is_none());
        assert!(held
            .pass(&note("warm", Severity::Warning, 8), None, late)
            .is_some());
        assert!(held.release(None, late, |_| true).is_empty());
    }

    #[test]
    fn the_shipped_rules_parse() {
        RuleSet::from_toml(DEFAULT_RULES).unwrap();
        RuleSet::from_toml(&format!("{DEFAULT_RULES}{}", telltale_demo::RULES)).unwrap();
    }
}
