use serde::Deserialize;

/// Which side of the limit is abnormal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    High,
    Low,
}

/// One limit rule as written in RULES.toml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    /// A device name, or `*` for every device (each keeps its own alert state).
    pub device: String,
    pub metric: String,
    pub kind: Kind,
    pub limit: f64,
    #[serde(default)]
    pub deadband: f64,
    #[serde(default)]
    pub on_delay_s: f64,
    #[serde(default)]
    pub off_delay_s: f64,
}

impl Rule {
    pub fn applies_to(&self, device: &str, metric: &str) -> bool {
        (self.device == "*" || self.device == device) && self.metric == metric
    }

    /// The ON condition: the value is abnormal.
    pub fn on(&self, value: f64) -> bool {
        match self.kind {
            Kind::High => value > self.limit,
            Kind::Low => value < self.limit,
        }
    }

    /// The OFF condition: the value is back inside the limit by at least the deadband.
    pub fn off(&self, value: f64) -> bool {
        match self.kind {
            Kind::High => value <= self.limit - self.deadband,
            Kind::Low => value >= self.limit + self.deadband,
        }
    }

    fn validate(&self) -> Result<(), RuleError> {
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
        for (name, v) in [
            ("limit", self.limit),
            ("deadband", self.deadband),
            ("on_delay_s", self.on_delay_s),
            ("off_delay_s", self.off_delay_s),
        ] {
            if !v.is_finite() {
                return bad(format!("{name} must be a finite number, got {v}"));
            }
        }
        for (name, v) in [
            ("deadband", self.deadband),
            ("on_delay_s", self.on_delay_s),
            ("off_delay_s", self.off_delay_s),
        ] {
            if v < 0.0 {
                return bad(format!("{name} must not be negative, got {v}"));
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
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

impl RuleSet {
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
}
