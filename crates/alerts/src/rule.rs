use serde::{Deserialize, Serialize};
pub use telltale_model::alert::{AlertKind, Severity};

/// One series as rules see it: which device (and what kind of device, with which tags) reports
/// which metric. Borrowed, so building one per reading costs nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target<'a> {
    /// The device's stable id (`ble:A4:C1:38:00:00:01`): what alerts are kept by, so a renamed
    /// device keeps its alerts and two devices of one name never share one.
    pub id: &'a str,
    /// The device's name, as people write it in rules ("Freezer").
    pub device: &'a str,
    /// The device's kind (`freezer`, `thermometer`), when known.
    pub kind: Option<&'a str>,
    pub tags: &'a [String],
    pub metric: &'a str,
    /// The unit of the values, used in notification sentences only.
    pub unit: Option<&'a str>,
}

impl<'a> Target<'a> {
    /// A target known only by one device string (its id and its name) and metric (no kind,
    /// tags or unit).
    pub fn new(device: &'a str, metric: &'a str) -> Self {
        Target {
            id: device,
            device,
            kind: None,
            tags: &[],
            metric,
            unit: None,
        }
    }
}

/// Defaults of `battery_low`.
pub const BATTERY_METRIC: &str = "battery";
pub const BATTERY_LIMIT: f64 = 20.0;
pub const BATTERY_DEADBAND: f64 = 5.0;
/// Defaults of `anomaly`.
pub const ANOMALY_LIMIT: f64 = 4.0;
pub const ANOMALY_WARMUP: u32 = 30;
pub const ANOMALY_ALPHA: f64 = 0.02;
/// Default of `anomaly`'s `memory`: the half-life, in readings, of the largest surprise
/// remembered.
pub const ANOMALY_MEMORY: u32 = 100;
/// Default of `anomaly`'s `refractory`: readings after a raise during which it does not raise
/// again.
pub const ANOMALY_REFRACTORY: u32 = 100;
/// Default of `anomaly`'s `learn`: readings a series shows before its first raise (see
/// [`crate::detect::LEARNING`]'s reasons).
pub const ANOMALY_LEARN: u32 = crate::detect::LEARNING as u32;
/// Default flap suppression: at most one notification per alert per minute.
pub const MIN_NOTIFY_INTERVAL_S: f64 = 60.0;

/// One rule as written in RULES.toml, with every default resolved.
///
/// Fields that do not apply to the rule's kind are zero (and refused in the TOML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRule", into = "RawRule")]
pub struct Rule {
    pub id: String,
    /// A device name, or `*` for every device (each keeps its own alert state).
    pub device: String,
    /// Only devices of this kind (`freezer` = every freezer).
    pub device_kind: Option<String>,
    /// Only devices carrying every one of these tags.
    pub tags: Vec<String>,
    /// The metric watched; `*` = any metric of the device (stale, forecast and service_due only;
    /// their default).
    pub metric: String,
    pub kind: AlertKind,
    /// high/low/battery_low: the value; rate: units per minute; anomaly: the threshold of the
    /// surprise (to raise) and of |z| (to clear, less the deadband).
    pub limit: f64,
    pub deadband: f64,
    pub on_delay_s: f64,
    pub off_delay_s: f64,
    /// rate: the window the change is measured over.
    pub window_s: f64,
    /// stale: silence after which the device counts as stale.
    pub stale_after_s: f64,
    /// anomaly: values each of its scores learns from before it judges any.
    pub warmup: u32,
    /// anomaly: the weight of a new value in each running level and spread (0 < alpha <= 1).
    pub alpha: f64,
    /// anomaly: the half-life, in readings, of the largest surprise it remembers; a reading
    /// must beat the remembered one to raise.
    pub memory: u32,
    /// anomaly: readings after a raise during which the rule does not raise again.
    pub refractory: u32,
    /// anomaly: readings a series shows before the rule first raises (at most the context it
    /// keeps, 768).
    pub learn: u32,
    /// forecast, service_due: raise when the date is less than this far ahead.
    pub horizon_s: f64,
    pub severity: Severity,
    /// Repeat the notification this often while the alert is active and unacknowledged; 0 = never.
    pub renotify_s: f64,
    /// Flap suppression: at most one notification per alert per this interval.
    pub min_notify_interval_s: f64,
    /// Whether the rule's alerts notify anybody; off, they are still recorded and listed.
    pub notify: bool,
}

/// RULES.toml as written: optional fields, checked against the kind when converted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    device: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metric: Option<String>,
    kind: AlertKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    limit: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deadband: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    on_delay_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    off_delay_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    window_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stale_after_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    warmup: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alpha: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    memory: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refractory: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    learn: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    horizon_s: Option<f64>,
    #[serde(default)]
    severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    renotify_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_notify_interval_s: Option<f64>,
    /// Written only when off: a rule notifies unless told not to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    notify: Option<bool>,
}

/// The kind-specific fields each kind accepts (the common ones are always accepted).
pub(crate) fn accepts(kind: AlertKind) -> &'static [&'static str] {
    match kind {
        AlertKind::High | AlertKind::Low | AlertKind::BatteryLow => {
            &["limit", "deadband", "on_delay_s", "off_delay_s"]
        }
        AlertKind::Rate => &["limit", "deadband", "on_delay_s", "off_delay_s", "window_s"],
        AlertKind::Stale => &["off_delay_s", "stale_after_s"],
        AlertKind::Anomaly => &[
            "limit",
            "deadband",
            "on_delay_s",
            "off_delay_s",
            "warmup",
            "alpha",
            "memory",
            "refractory",
            "learn",
        ],
        AlertKind::Forecast | AlertKind::ServiceDue => {
            &["horizon_s", "deadband", "on_delay_s", "off_delay_s"]
        }
    }
}

impl TryFrom<RawRule> for Rule {
    type Error = RuleError;

    fn try_from(raw: RawRule) -> Result<Self, RuleError> {
        let kind = raw.kind;
        let bad = |why: String| RuleError::Invalid {
            id: raw.id.clone(),
            why,
        };
        let given = [
            ("limit", raw.limit.is_some()),
            ("deadband", raw.deadband.is_some()),
            ("on_delay_s", raw.on_delay_s.is_some()),
            ("off_delay_s", raw.off_delay_s.is_some()),
            ("window_s", raw.window_s.is_some()),
            ("stale_after_s", raw.stale_after_s.is_some()),
            ("warmup", raw.warmup.is_some()),
            ("alpha", raw.alpha.is_some()),
            ("memory", raw.memory.is_some()),
            ("refractory", raw.refractory.is_some()),
            ("learn", raw.learn.is_some()),
            ("horizon_s", raw.horizon_s.is_some()),
        ];
        if let Some((name, _)) = given
            .iter()
            .find(|(name, is)| *is && !accepts(kind).contains(name))
        {
            return Err(bad(format!("{name} does not apply to kind {kind}")));
        }
        let needs =
            |name: &str, v: Option<f64>| v.ok_or_else(|| bad(format!("kind {kind} needs {name}")));
        let metric = match (raw.metric, kind) {
            (Some(m), _) => m,
            (None, AlertKind::BatteryLow) => BATTERY_METRIC.to_owned(),
            (None, AlertKind::Stale | AlertKind::Forecast | AlertKind::ServiceDue) => {
                "*".to_owned()
            }
            (None, _) => return Err(bad(format!("kind {kind} needs metric"))),
        };
        let limit = match kind {
            AlertKind::High | AlertKind::Low | AlertKind::Rate => needs("limit", raw.limit)?,
            AlertKind::BatteryLow => raw.limit.unwrap_or(BATTERY_LIMIT),
            AlertKind::Anomaly => raw.limit.unwrap_or(ANOMALY_LIMIT),
            AlertKind::Stale | AlertKind::Forecast | AlertKind::ServiceDue => 0.0,
        };
        let horizon_s = match kind {
            AlertKind::Forecast | AlertKind::ServiceDue => needs("horizon_s", raw.horizon_s)?,
            _ => 0.0,
        };
        let default_deadband = if kind == AlertKind::BatteryLow {
            BATTERY_DEADBAND
        } else {
            0.0
        };
        let (window_s, stale_after_s) = match kind {
            AlertKind::Rate => (needs("window_s", raw.window_s)?, 0.0),
            AlertKind::Stale => (0.0, needs("stale_after_s", raw.stale_after_s)?),
            _ => (0.0, 0.0),
        };
        let (warmup, alpha, memory, refractory, learn) = match kind {
            AlertKind::Anomaly => (
                raw.warmup.unwrap_or(ANOMALY_WARMUP),
                raw.alpha.unwrap_or(ANOMALY_ALPHA),
                raw.memory.unwrap_or(ANOMALY_MEMORY),
                raw.refractory.unwrap_or(ANOMALY_REFRACTORY),
                raw.learn.unwrap_or(ANOMALY_LEARN),
            ),
            _ => (0, 0.0, 0, 0, 0),
        };
        Ok(Rule {
            id: raw.id,
            device: raw.device,
            device_kind: raw.device_kind,
            tags: raw.tags,
            metric,
            kind,
            limit,
            deadband: raw.deadband.unwrap_or(default_deadband),
            on_delay_s: raw.on_delay_s.unwrap_or(0.0),
            off_delay_s: raw.off_delay_s.unwrap_or(0.0),
            window_s,
            stale_after_s,
            warmup,
            alpha,
            memory,
            refractory,
            learn,
            horizon_s,
            severity: raw.severity,
            renotify_s: raw.renotify_s.unwrap_or(0.0),
            min_notify_interval_s: raw.min_notify_interval_s.unwrap_or(MIN_NOTIFY_INTERVAL_S),
            notify: raw.notify.unwrap_or(true),
        })
    }
}

impl From<Rule> for RawRule {
    fn from(r: Rule) -> Self {
        let takes = |name: &str| accepts(r.kind).contains(&name);
        let opt = |name: &str, v: f64| takes(name).then_some(v);
        // Defaults are left unwritten, so a rule saved from the form reads as a person would
        // have written it.
        let unless = |name: &str, v: f64, default: f64| opt(name, v).filter(|v| *v != default);
        let count =
            |name: &str, v: u32, default: u32| takes(name).then_some(v).filter(|v| *v != default);
        let (limit, deadband) = match r.kind {
            AlertKind::BatteryLow => (BATTERY_LIMIT, BATTERY_DEADBAND),
            AlertKind::Anomaly => (ANOMALY_LIMIT, 0.0),
            _ => (f64::NAN, 0.0),
        };
        RawRule {
            limit: unless("limit", r.limit, limit),
            deadband: unless("deadband", r.deadband, deadband),
            on_delay_s: unless("on_delay_s", r.on_delay_s, 0.0),
            off_delay_s: unless("off_delay_s", r.off_delay_s, 0.0),
            window_s: opt("window_s", r.window_s),
            stale_after_s: opt("stale_after_s", r.stale_after_s),
            warmup: count("warmup", r.warmup, ANOMALY_WARMUP),
            alpha: unless("alpha", r.alpha, ANOMALY_ALPHA),
            memory: count("memory", r.memory, ANOMALY_MEMORY),
            refractory: count("refractory", r.refractory, ANOMALY_REFRACTORY),
            learn: count("learn", r.learn, ANOMALY_LEARN),
            horizon_s: opt("horizon_s", r.horizon_s),
            renotify_s: (r.renotify_s != 0.0).then_some(r.renotify_s),
            min_notify_interval_s: (r.min_notify_interval_s != MIN_NOTIFY_INTERVAL_S)
                .then_some(r.min_notify_interval_s),
            notify: (!r.notify).then_some(false),
            severity: r.severity,
            kind: r.kind,
            metric: Some(r.metric),
            tags: r.tags,
            device_kind: r.device_kind,
            device: r.device,
            id: r.id,
        }
    }
}

impl Rule {
    /// Whether the rule watches this series.
    pub fn applies(&self, t: &Target<'_>) -> bool {
        // Rules name devices as people do, by name ("Freezer"), or by id.
        (self.device == "*" || self.device == t.device || self.device == t.id)
            && (self.metric == "*" || self.metric == t.metric)
            && self
                .device_kind
                .as_deref()
                .is_none_or(|k| t.kind == Some(k))
            && self.tags.iter().all(|tag| t.tags.contains(tag))
    }

    /// [`Rule::applies`] for a series known only by device and metric: rules that require a
    /// device kind or tags never apply.
    pub fn applies_to(&self, device: &str, metric: &str) -> bool {
        self.applies(&Target::new(device, metric))
    }

    /// The ON condition on the rule's measure: the value (high, low, battery_low), |rate| in
    /// units per minute (rate), |z| (anomaly), or silence in ms (stale).
    pub fn on(&self, measure: f64) -> bool {
        match self.kind {
            AlertKind::High | AlertKind::Rate | AlertKind::Anomaly => measure > self.limit,
            AlertKind::Low | AlertKind::BatteryLow => measure < self.limit,
            AlertKind::Stale => measure >= self.stale_after_s * 1000.0,
            AlertKind::Forecast | AlertKind::ServiceDue => measure < self.horizon_s,
        }
    }

    /// The OFF condition: the measure is back inside the limit by at least the deadband.
    pub fn off(&self, measure: f64) -> bool {
        match self.kind {
            AlertKind::High | AlertKind::Rate | AlertKind::Anomaly => {
                measure <= self.limit - self.deadband
            }
            AlertKind::Low | AlertKind::BatteryLow => measure >= self.limit + self.deadband,
            AlertKind::Stale => measure < self.stale_after_s * 1000.0,
            AlertKind::Forecast | AlertKind::ServiceDue => {
                measure >= self.horizon_s + self.deadband
            }
        }
    }

    pub(crate) fn validate(&self) -> Result<(), RuleError> {
        let bad = |why: String| {
            Err(RuleError::Invalid {
                id: self.id.clone(),
                why,
            })
        };
        if self.id.trim().is_empty() {
            return bad("id must not be empty".into());
        }
        if self.device.is_empty() || self.metric.is_empty() {
            return bad("device and metric must not be empty".into());
        }
        if self.metric == "*" && self.kind.judges_readings() && self.kind != AlertKind::Stale {
            return bad(format!(
                "metric \"*\" is only for kinds stale, forecast and service_due, not {}",
                self.kind
            ));
        }
        if self.device_kind.as_deref().is_some_and(str::is_empty) {
            return bad("device_kind must not be empty".into());
        }
        if self.tags.iter().any(|t| t.is_empty()) {
            return bad("tags must not be empty strings".into());
        }
        for (name, v) in [
            ("limit", self.limit),
            ("deadband", self.deadband),
            ("on_delay_s", self.on_delay_s),
            ("off_delay_s", self.off_delay_s),
            ("window_s", self.window_s),
            ("stale_after_s", self.stale_after_s),
            ("alpha", self.alpha),
            ("horizon_s", self.horizon_s),
            ("renotify_s", self.renotify_s),
            ("min_notify_interval_s", self.min_notify_interval_s),
        ] {
            if !v.is_finite() {
                return bad(format!("{name} must be a finite number, got {v}"));
            }
        }
        for (name, v) in [
            ("deadband", self.deadband),
            ("on_delay_s", self.on_delay_s),
            ("off_delay_s", self.off_delay_s),
            ("renotify_s", self.renotify_s),
            ("min_notify_interval_s", self.min_notify_interval_s),
        ] {
            if v < 0.0 {
                return bad(format!("{name} must not be negative, got {v}"));
            }
        }
        match self.kind {
            AlertKind::High | AlertKind::Low | AlertKind::BatteryLow => {}
            AlertKind::Rate | AlertKind::Anomaly => {
                if self.limit <= 0.0 {
                    return bad(format!("limit must be positive, got {}", self.limit));
                }
                if self.deadband >= self.limit {
                    return bad(format!(
                        "deadband must be smaller than the limit, got {} >= {}",
                        self.deadband, self.limit
                    ));
                }
            }
            AlertKind::Forecast | AlertKind::ServiceDue => {
                if self.horizon_s <= 0.0 {
                    return bad(format!(
                        "horizon_s must be positive, got {}",
                        self.horizon_s
                    ));
                }
            }
            AlertKind::Stale => {
                if self.stale_after_s <= 0.0 {
                    return bad(format!(
                        "stale_after_s must be positive, got {}",
                        self.stale_after_s
                    ));
                }
            }
        }
        if self.kind == AlertKind::Rate && self.window_s <= 0.0 {
            return bad(format!("window_s must be positive, got {}", self.window_s));
        }
        if self.kind == AlertKind::Anomaly {
            if !(self.alpha > 0.0 && self.alpha <= 1.0) {
                return bad(format!("alpha must be in (0, 1], got {}", self.alpha));
            }
            if self.warmup < 2 {
                return bad(format!("warmup must be at least 2, got {}", self.warmup));
            }
            if self.memory < 1 {
                return bad(format!("memory must be at least 1, got {}", self.memory));
            }
            if self.learn as usize > crate::detect::CONTEXT_KEPT {
                return bad(format!(
                    "learn must be at most {} (the readings an anomaly rule keeps), got {}",
                    crate::detect::CONTEXT_KEPT,
                    self.learn
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RuleError {
    #[error("rules file: {0}")]
    Parse(String),
    #[error("rule {id:?}: {why}")]
    Invalid { id: String, why: String },
    #[error("rule id {0:?} is used twice")]
    Duplicate(String),
}

/// The rules of one RULES.toml, validated.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// Parses and validates RULES.toml text; every error is one line (`line N: why`).
    pub fn from_toml(text: &str) -> Result<Self, RuleError> {
        let set: RuleSet = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let why = e.message().trim().replace('\n', " ");
            RuleError::Parse(match line {
                Some(n) => format!("line {n}: {why}"),
                None => why,
            })
        })?;
        set.validated()
    }

    /// Checks what TOML cannot: finite numbers, no negative delays or deadbands, unique ids.
    pub fn validated(self) -> Result<Self, RuleError> {
        let mut seen = std::collections::HashSet::new();
        for r in &self.rules {
            r.validate()?;
            if !seen.insert(r.id.as_str()) {
                return Err(RuleError::Duplicate(r.id.clone()));
            }
        }
        Ok(self)
    }

    pub fn matching<'a>(
        &'a self,
        device: &'a str,
        metric: &'a str,
    ) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules
            .iter()
            .filter(move |r| r.applies_to(device, metric))
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}
