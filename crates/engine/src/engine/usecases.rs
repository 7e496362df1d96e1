//! What people do to the engine, one `async fn` each: the Tauri commands and the CLI call these
//! and nothing else. Each validates its request once, before anything is kept; persists through
//! the store's writer; restarts what follows the change (a broker's connection, the BLE fleet,
//! the historian link); and has the alert engine judge again where the change matters to it.
//! Time is an argument (`now`) wherever one is decided or recorded. The keyring is asked on a
//! blocking thread, never on an async worker.

use super::{bindkey_name, Engine, BLE_KIND, MQTT_KIND};
use crate::alerting::Alerts;
use crate::error::{EngineError, Result};
use crate::historian;
use crate::secret::{ExposeSecret, Secret};
use telltale_alerts::Rule;
use telltale_model::alert::{AlertId, NotificationSettings, RuleChange, RuleForm};
use telltale_model::ble::{bindkey_hex, normalize_address, parse_bindkey, SaveBleDevice};
use telltale_model::broker::{parse_url, BrokerCheck, BrokerConfig, BrokerEntry, SaveBroker};
use telltale_model::historian::{HistorianCheck, HistorianSettings, SaveHistorian};
use telltale_model::upkeep::{ServicePlan, ServiceRecord};
use telltale_model::view::{ChartView, MAX_VIEWS, MAX_VIEW_NAME};
use telltale_model::{ApiError, DeviceId, RetentionSetting, TimestampMs};
use telltale_store::{Retention, SeriesKey, ServiceChange, SourceConfigChange, StoreError};

/// The `source_configs` kind saved chart views are kept under, one row per name.
const VIEW_KIND: &str = "chart_view";

/// The longest an alert is shelved: a week.
const SHELVE_MAX_MINUTES: u32 = 7 * 24 * 60;

impl Engine {
    /// The collector's start (`telltale collect`): pruning, the alert engine (telling
    /// `notifier`), every broker of `config` and its BLE devices. A part that cannot start
    /// stops the start with an error naming it. Asks the keyring, on a blocking thread.
    pub async fn start_collecting(
        &self,
        config: &crate::CollectorConfig,
        notifier: std::sync::Arc<dyn crate::alerting::Notifier>,
    ) -> Result<()> {
        self.start_pruning();
        self.start_alerts(notifier)?;
        let engine = self.clone();
        let config = config.clone();
        blocking(move || {
            for broker in config.mqtt {
                let id = broker.id.clone();
                engine
                    .start_broker(broker)
                    .map_err(|e| EngineError::Config(format!("broker {id}: {e}")))?;
            }
            if !config.ble.is_empty() {
                let devices = config
                    .ble
                    .iter()
                    .map(|d| d.device_config())
                    .collect::<Result<Vec<_>>>()?;
                engine
                    .start_bluetooth_with(devices)
                    .map_err(|e| EngineError::Config(format!("bluetooth: {e}")))?;
            }
            Ok(())
        })
        .await
    }

    /// The brokers configured in the app; whether each has a stored password, never the
    /// password.
    pub async fn brokers(&self) -> Result<Vec<BrokerEntry>> {
        let engine = self.clone();
        blocking(move || {
            engine
                .configured_brokers()?
                .into_iter()
                .map(|config| {
                    let has_password = engine.inner.secrets.get(&config.secret_key())?.is_some();
                    Ok(BrokerEntry {
                        config,
                        has_password,
                    })
                })
                .collect()
        })
        .await
    }

    /// Saves a broker's settings (its password, when given, into the keyring and nowhere else)
    /// and (re)connects it. A stored password never follows the settings to another host.
    pub async fn save_broker(&self, request: SaveBroker, now: TimestampMs) -> Result<()> {
        let (config, change) = broker_request(request)?;
        // What the connection will use once saved.
        let password = self.broker_password(&config, change, true).await?;
        let json = serde_json::to_string(&config)
            .map_err(|e| EngineError::Config(format!("cannot encode the settings: {e}")))?;
        self.ingest()
            .save_source_config(SourceConfigChange {
                kind: MQTT_KIND.into(),
                id: config.id.clone(),
                config: Some(json),
                now_ms: now,
            })
            .await?;
        self.run_broker(config, password)
    }

    /// "Test connection": listens for 5 s with settings not yet saved (the password given, or
    /// the stored one when the broker's address is unchanged) and says what they would make of
    /// what the broker sends. Nothing is stored, nothing saved.
    pub async fn test_broker(&self, request: SaveBroker) -> Result<BrokerCheck> {
        let (config, change) = broker_request(request)?;
        let password = self.broker_password(&config, change, false).await?;
        Ok(telltale_sources::mqtt::probe(&config, password, TEST_LISTEN).await?)
    }

    /// The password a broker's connection uses after `change`: kept (the stored one, never for
    /// another host than it was given for), set, or cleared. `store` writes the change to the
    /// keyring; a test connection leaves it alone.
    async fn broker_password(
        &self,
        config: &BrokerConfig,
        change: PasswordChange,
        store: bool,
    ) -> Result<Option<Secret>> {
        let engine = self.clone();
        let checked = config.clone();
        blocking(move || {
            let (config, secrets) = (&checked, &engine.inner.secrets);
            let key = config.secret_key();
            match change {
                PasswordChange::Keep => {
                    let previous = engine
                        .configured_brokers()?
                        .into_iter()
                        .find(|c| c.id == config.id);
                    let stored = match &config.username {
                        Some(_) => secrets.get(&key)?,
                        None => None,
                    };
                    // The stored password was given for one host: it never follows the
                    // settings to another (a typo, or someone pointing the app at a broker of
                    // theirs to collect it).
                    if let (Some(previous), Some(_)) = (&previous, &stored) {
                        if parse_url(&previous.url).ok() != parse_url(&config.url).ok() {
                            return Err(invalid(
                                "the broker's address changed: enter its password again (or \
                                 clear it); the stored password is never sent to a different host",
                            ));
                        }
                    }
                    Ok(stored)
                }
                PasswordChange::Set(p) => {
                    if store {
                        secrets.set(&key, p.expose_secret())?;
                    }
                    Ok(config.username.is_some().then_some(p))
                }
                PasswordChange::Clear => {
                    if store {
                        secrets.delete(&key)?;
                    }
                    Ok(None)
                }
            }
        })
        .await
    }

    /// Disconnects a broker and forgets its settings and password; its history stays.
    pub async fn delete_broker(&self, id: &str, now: TimestampMs) -> Result<()> {
        if id.is_empty() || id.len() > 64 {
            return Err(invalid("broker id must be 1 to 64 characters"));
        }
        let running = self.parts().brokers.remove(id);
        if let Some(running) = running {
            running.stop().await;
        }
        // Once stopped: a connection saying goodbye would put itself back on the strip.
        self.inner.board.remove(id);
        let (engine, key) = (self.clone(), telltale_sources::mqtt::secret_key(id));
        blocking(move || engine.inner.secrets.delete(&key)).await?;
        self.ingest()
            .save_source_config(SourceConfigChange {
                kind: MQTT_KIND.into(),
                id: id.to_owned(),
                config: None,
                now_ms: now,
            })
            .await?;
        Ok(())
    }

    /// Adds, renames or re-keys one of the user's BLE devices (its bindkey into the keyring and
    /// nowhere else) and hands the fleet to the running sources.
    pub async fn save_ble_device(&self, request: SaveBleDevice, now: TimestampMs) -> Result<()> {
        let SaveBleDevice {
            config,
            bindkey,
            clear_bindkey,
        } = request;
        let config = config.normalized().map_err(invalid_from)?;
        let bindkey = match (bindkey, clear_bindkey) {
            (Some(_), true) => return Err(invalid("give a new bindkey or clear it, not both")),
            (Some(k), false) if !k.is_blank() => {
                let key = parse_bindkey(&k.into_text()).map_err(invalid_from)?;
                Some(Some(bindkey_hex(&key)))
            }
            (_, true) => Some(None),
            _ => None,
        };
        if let Some(change) = bindkey {
            let (engine, name) = (self.clone(), bindkey_name(&config.address));
            blocking(move || match change {
                Some(hex) => engine.inner.secrets.set(&name, &hex),
                None => engine.inner.secrets.delete(&name),
            })
            .await?;
        }
        let json = serde_json::to_string(&config)
            .map_err(|e| EngineError::Config(format!("cannot encode the settings: {e}")))?;
        self.ingest()
            .save_source_config(SourceConfigChange {
                kind: BLE_KIND.into(),
                id: config.address.clone(),
                config: Some(json),
                now_ms: now,
            })
            .await?;
        self.reload_ble_devices().await
    }

    /// Removes one of the user's BLE devices: its settings and bindkey, and with
    /// `delete_history` every reading it ever sent.
    pub async fn remove_ble_device(
        &self,
        address: &str,
        delete_history: bool,
        now: TimestampMs,
    ) -> Result<()> {
        let address = normalize_address(address).map_err(invalid_from)?;
        let (engine, name) = (self.clone(), bindkey_name(&address));
        blocking(move || engine.inner.secrets.delete(&name)).await?;
        let ingest = self.ingest();
        ingest
            .save_source_config(SourceConfigChange {
                kind: BLE_KIND.into(),
                id: address.clone(),
                config: None,
                now_ms: now,
            })
            .await?;
        if delete_history {
            match ingest
                .forget_device(telltale_sources::ble::device_id(&address))
                .await
            {
                Ok(()) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.reload_ble_devices().await
    }

    /// The saved BLE devices to the running sources, their bindkeys read off the async workers.
    async fn reload_ble_devices(&self) -> Result<()> {
        let engine = self.clone();
        blocking(move || engine.reload_ble_fleet()).await
    }

    /// Sets how long a series' raw readings and minute buckets are kept.
    pub async fn set_retention(
        &self,
        device: DeviceId,
        metric: String,
        setting: RetentionSetting,
    ) -> Result<()> {
        setting.validate().map_err(invalid_from)?;
        let retention = Retention {
            raw_ms: setting.raw_ms,
            minute_ms: setting.minute_ms,
        };
        Ok(self
            .ingest()
            .set_retention(SeriesKey { device, metric }, retention)
            .await?)
    }

    /// Replaces a device's tags ("freezer", "line-2"; trimmed, lower case, no duplicates),
    /// which alert rules can target.
    pub async fn set_device_tags(&self, device: DeviceId, tags: &[String]) -> Result<()> {
        check_id("device id", device.as_str(), 256)?;
        if tags.len() > 64 {
            return Err(invalid("too many tags"));
        }
        let tags = telltale_model::normalize_tags(tags).map_err(invalid_from)?;
        Ok(self.ingest().set_tags(device, tags).await?)
    }

    /// The running alert engine.
    fn alerter(&self) -> Result<Alerts> {
        self.alerts()
            .ok_or_else(|| EngineError::Unavailable("the alert engine is not running".into()))
    }

    /// Replaces the alert rules (RULES.toml's text), refused with the reason when they do not
    /// validate; alerts of removed rules close, and everything is judged again under the new
    /// ones.
    pub async fn save_alert_rules(&self, rules: &str) -> Result<()> {
        if rules.len() > 256 * 1024 {
            return Err(invalid("the rules must be under 256 KiB"));
        }
        self.alerter()?.set_rules(rules).await
    }

    /// The rules in force as the form shows them, in the document's order.
    pub fn rule_forms(&self) -> Result<Vec<RuleForm>> {
        Ok(self
            .alerter()?
            .rules()
            .rules
            .iter()
            .map(Rule::form)
            .collect())
    }

    /// The rule a form describes, checked as a saved rule would be: what the form does not
    /// show is kept from the rule it replaces (`change.replaces`, else a rule of the same id).
    pub fn rule_of(&self, change: &RuleChange) -> Result<Rule> {
        change.form.validate().map_err(invalid_from)?;
        let rules = self.alerter()?.rules();
        let base = change
            .replaces
            .as_deref()
            .or(Some(change.form.id.trim()))
            .and_then(|id| rules.get(id));
        Rule::from_form(&change.form, base).map_err(|e| EngineError::Invalid(e.to_string()))
    }

    /// Saves a rule made or changed by the form: its `[[rule]]` table replaces the old one
    /// (or is added), the rest of the rules' text is left as written.
    pub async fn save_rule(&self, change: &RuleChange) -> Result<()> {
        let rule = self.rule_of(change)?;
        let replaces = change.replaces.clone();
        self.alerter()?
            .change_rules(Box::new(move |text, _| {
                telltale_alerts::form::upsert(text, replaces.as_deref(), &rule)
                    .map_err(|e| EngineError::Invalid(e.to_string()))
            }))
            .await
    }

    /// Removes one rule; its alerts close.
    pub async fn delete_rule(&self, id: &str) -> Result<()> {
        check_id("rule id", id, telltale_model::alert::MAX_RULE_NAME)?;
        let id = id.to_owned();
        self.alerter()?
            .change_rules(Box::new(move |text, _| {
                telltale_alerts::form::remove(text, &id)
                    .map_err(|e| EngineError::Invalid(e.to_string()))
            }))
            .await
    }

    /// Sets quiet hours (or none): alerts below critical wait for them to end.
    pub async fn save_notifications(&self, settings: NotificationSettings) -> Result<()> {
        self.alerter()?.set_notifications(settings).await
    }

    /// Shows a test notification; answers what happens to alerts at this hour.
    pub fn test_notification(&self, now: TimestampMs) -> Result<String> {
        Ok(self.alerter()?.test_notification(now))
    }

    /// The saved chart views, by name (a view whose text no longer reads is left out and
    /// logged: a newer version's view must not hide the others).
    pub fn chart_views(&self) -> Result<Vec<ChartView>> {
        let mut views: Vec<ChartView> = self
            .inner
            .store
            .source_configs(VIEW_KIND)?
            .into_iter()
            .filter_map(|(name, json)| match serde_json::from_str(&json) {
                Ok(view) => Some(view),
                Err(e) => {
                    tracing::warn!(view = %name, error = %e, "saved chart view unreadable; skipped");
                    None
                }
            })
            .collect();
        views.sort_by_cached_key(|v| v.name.to_lowercase());
        Ok(views)
    }

    /// Saves a comparison under its name, replacing a view of the same name.
    pub async fn save_chart_view(&self, mut view: ChartView, now: TimestampMs) -> Result<()> {
        view.validate().map_err(invalid_from)?;
        view.name = view.name.trim().to_owned();
        let existing = self.inner.store.source_configs(VIEW_KIND)?;
        if existing.len() >= MAX_VIEWS && !existing.iter().any(|(name, _)| *name == view.name) {
            return Err(EngineError::Invalid(format!(
                "{MAX_VIEWS} views are saved already; delete one first"
            )));
        }
        let json = serde_json::to_string(&view).map_err(|e| EngineError::Invalid(e.to_string()))?;
        self.ingest()
            .save_source_config(SourceConfigChange {
                kind: VIEW_KIND.into(),
                id: view.name,
                config: Some(json),
                now_ms: now,
            })
            .await?;
        Ok(())
    }

    /// Forgets a saved view; its series and their history stay.
    pub async fn delete_chart_view(&self, name: &str, now: TimestampMs) -> Result<()> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_VIEW_NAME {
            return Err(EngineError::Invalid(format!(
                "a view's name is 1 to {MAX_VIEW_NAME} characters"
            )));
        }
        self.ingest()
            .save_source_config(SourceConfigChange {
                kind: VIEW_KIND.into(),
                id: name.to_owned(),
                config: None,
                now_ms: now,
            })
            .await?;
        Ok(())
    }

    /// Acknowledges an alert, on behalf of `by`.
    pub async fn acknowledge_alert(&self, id: &AlertId, by: &str) -> Result<()> {
        id.validate().map_err(invalid_from)?;
        self.alerter()?.acknowledge(id, by).await
    }

    /// Shelves an alert for `minutes` from `now` (1 minute to 7 days): it keeps being
    /// recorded, not notified.
    pub async fn shelve_alert(
        &self,
        id: &AlertId,
        minutes: u32,
        by: &str,
        now: TimestampMs,
    ) -> Result<()> {
        id.validate().map_err(invalid_from)?;
        if !(1..=SHELVE_MAX_MINUTES).contains(&minutes) {
            return Err(invalid("shelve for 1 minute to 7 days"));
        }
        let until = now + i64::from(minutes) * 60_000;
        self.alerter()?.shelve(id, until, by).await
    }

    pub async fn unshelve_alert(&self, id: &AlertId, by: &str) -> Result<()> {
        id.validate().map_err(invalid_from)?;
        self.alerter()?.unshelve(id, by).await
    }

    /// Adds a service plan, or changes one (its count goes on from where it started); its
    /// `service_due` alerts are judged again now.
    pub async fn save_service_plan(&self, plan: ServicePlan, now: TimestampMs) -> Result<()> {
        plan.validate().map_err(invalid_from)?;
        self.ingest()
            .save_service(ServiceChange::Save(plan, now))
            .await?;
        self.recheck_upkeep();
        Ok(())
    }

    /// Removes a service plan with its service history.
    pub async fn delete_service_plan(&self, id: &str) -> Result<()> {
        check_id("a plan id", id, 64)?;
        self.ingest()
            .save_service(ServiceChange::Remove(id.to_owned()))
            .await?;
        self.recheck_upkeep();
        Ok(())
    }

    /// Records a service done on plan `id` at `now` by `by`, with what its counter stood at;
    /// the count starts again from `now`.
    pub async fn mark_serviced(&self, id: &str, by: &str, now: TimestampMs) -> Result<()> {
        check_id("a plan id", id, 64)?;
        let (store, plan) = (self.inner.store.clone(), id.to_owned());
        let status = blocking(move || {
            crate::upkeep::service_statuses(&store, now)?
                .into_iter()
                .find(|s| s.plan.id == plan)
                .ok_or_else(|| StoreError::NotFound(format!("no service plan {plan}")).into())
        })
        .await?;
        let record = ServiceRecord {
            plan: id.to_owned(),
            ts_ms: now,
            by: by.to_owned(),
            hours: status.hours,
            cycles: status.cycles,
        };
        self.ingest()
            .save_service(ServiceChange::Serviced(record))
            .await?;
        self.recheck_upkeep();
        Ok(())
    }

    /// Plans changed: `service_due` alerts follow now, not at the next minute's pass.
    fn recheck_upkeep(&self) {
        if let Some(alerts) = self.alerts() {
            alerts.recheck_upkeep();
        }
    }

    /// The plant historian the app reads, if one is set.
    pub async fn historian_settings(&self) -> Result<Option<HistorianSettings>> {
        let engine = self.clone();
        blocking(move || historian::settings(&engine.inner.store, &*engine.inner.secrets)).await
    }

    /// Saves the historian's address (its password into the keyring) and links to it.
    pub async fn save_historian(&self, request: SaveHistorian, now: TimestampMs) -> Result<()> {
        historian::validate(&request)?;
        let url = request.url.clone();
        let engine = self.clone();
        blocking(move || historian::keep_password(&request, &*engine.inner.secrets)).await?;
        historian::save_settings(&self.ingest(), Some(url), now).await?;
        self.relink_historian().await
    }

    /// Forgets the historian and its stored password; charts fill from it no more.
    pub async fn remove_historian(&self, now: TimestampMs) -> Result<()> {
        let engine = self.clone();
        blocking(move || historian::forget_password(&engine.inner.store, &*engine.inner.secrets))
            .await?;
        historian::save_settings(&self.ingest(), None, now).await?;
        self.relink_historian().await
    }

    /// Connects to a historian as `request` says (its password, or the stored one) and says
    /// what it holds.
    pub async fn test_historian(&self, request: SaveHistorian) -> Result<HistorianCheck> {
        let engine = self.clone();
        let url = request.url.clone();
        let password =
            blocking(move || historian::password(&request, &*engine.inner.secrets)).await?;
        historian::test(&url, password).await
    }

    /// The historian link again, as the saved settings now say.
    async fn relink_historian(&self) -> Result<()> {
        let engine = self.clone();
        blocking(move || {
            engine.start_historian();
            Ok(())
        })
        .await
    }
}

/// What to do with a broker's stored password when its settings are saved.
enum PasswordChange {
    Keep,
    Set(Secret),
    Clear,
}

/// How long "Test connection" listens once connected.
const TEST_LISTEN: std::time::Duration = std::time::Duration::from_secs(5);

/// A broker's settings, validated, and what the request does to its password.
fn broker_request(request: SaveBroker) -> Result<(BrokerConfig, PasswordChange)> {
    let SaveBroker {
        config,
        password,
        clear_password,
    } = request;
    config.validate().map_err(EngineError::Invalid)?;
    let change = match (password, clear_password) {
        (Some(_), true) => return Err(invalid("give a new password or clear it, not both")),
        (Some(p), false) => {
            let p = p.into_text();
            if p.is_empty() || p.len() > 1024 || p.contains('\n') {
                return Err(invalid(
                    "a password must be one line of 1 to 1024 characters",
                ));
            }
            PasswordChange::Set(Secret::from(p.as_str()))
        }
        (None, true) => PasswordChange::Clear,
        (None, false) => PasswordChange::Keep,
    };
    Ok((config, change))
}

/// Runs blocking work (the keyring, SQLite reads) on a blocking thread: never on the async
/// workers that carry IPC and the sources.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?
}

fn invalid(message: &str) -> EngineError {
    EngineError::Invalid(message.to_owned())
}

/// A refusal of the shared model's validation, as the engine's.
fn invalid_from(e: ApiError) -> EngineError {
    EngineError::Invalid(e.message)
}

fn check_id(what: &str, id: &str, max: usize) -> Result<()> {
    if id.is_empty() || id.len() > max {
        return Err(EngineError::Invalid(format!(
            "{what} must be 1 to {max} characters"
        )));
    }
    Ok(())
}
