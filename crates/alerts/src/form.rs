//! Rules as the app's form edits them, and RULES.toml edited one rule at a time.
//!
//! The form and the TOML are two views of one rule: [`Rule::form`] shows a rule as the form
//! does, [`Rule::from_form`] makes the rule a form says (keeping, when it edits a rule, what the
//! form does not show), and [`upsert`] / [`remove`] change one `[[rule]]` table of the document
//! and nothing else, so a person's comments and layout in "Advanced" survive a form's save.

use crate::evaluator::duration;
use crate::rule::{accepts, Rule, RuleError, RuleSet};
use crate::{
    AlertKind, ANOMALY_ALPHA, ANOMALY_LEARN, ANOMALY_MEMORY, ANOMALY_REFRACTORY, ANOMALY_WARMUP,
    MIN_NOTIFY_INTERVAL_S,
};
use telltale_model::alert::RuleForm;

/// Every field that belongs to some kinds only (see `accepts`).
const KIND_FIELDS: &[&str] = &[
    "limit",
    "deadband",
    "on_delay_s",
    "off_delay_s",
    "window_s",
    "stale_after_s",
    "warmup",
    "alpha",
    "memory",
    "refractory",
    "learn",
    "horizon_s",
];

impl Rule {
    /// The rule as the form shows it.
    pub fn form(&self) -> RuleForm {
        RuleForm {
            id: self.id.clone(),
            device: self.device.clone(),
            metric: self.metric.clone(),
            kind: self.kind,
            limit: self.limit,
            deadband: self.deadband,
            for_s: self.on_delay_s,
            stale_after_s: self.stale_after_s,
            window_s: self.window_s,
            horizon_s: self.horizon_s,
            severity: self.severity,
            notify: self.notify,
            renotify_s: self.renotify_s,
            also: self.unshown(),
        }
    }

    /// What the rule says that the form does not show, in words.
    fn unshown(&self) -> Vec<String> {
        let mut also = Vec::new();
        if let Some(kind) = &self.device_kind {
            also.push(format!("only devices of kind {kind}"));
        }
        if !self.tags.is_empty() {
            also.push(format!("only devices tagged {}", self.tags.join(", ")));
        }
        if self.off_delay_s > 0.0 {
            also.push(format!(
                "clears only after {} back to normal",
                duration((self.off_delay_s * 1000.0) as i64)
            ));
        }
        if self.min_notify_interval_s != MIN_NOTIFY_INTERVAL_S {
            also.push(format!(
                "at most one notification every {}",
                duration((self.min_notify_interval_s * 1000.0) as i64)
            ));
        }
        if self.kind == AlertKind::Anomaly {
            let tuning: Vec<String> = [
                ("warmup", self.warmup, ANOMALY_WARMUP),
                ("memory", self.memory, ANOMALY_MEMORY),
                ("refractory", self.refractory, ANOMALY_REFRACTORY),
                ("learn", self.learn, ANOMALY_LEARN),
            ]
            .into_iter()
            .filter(|(_, v, default)| v != default)
            .map(|(name, v, _)| format!("{name} {v}"))
            .chain((self.alpha != ANOMALY_ALPHA).then(|| format!("alpha {}", self.alpha)))
            .collect();
            if !tuning.is_empty() {
                also.push(format!("tuned: {}", tuning.join(", ")));
            }
        }
        also
    }

    /// The rule `form` describes. `base` is the rule it edits, if any: what the form does not
    /// show (tags, a device kind, tuning) is kept from it, unless the kind changed and no longer
    /// takes it. Checked as RULES.toml's rules are.
    pub fn from_form(form: &RuleForm, base: Option<&Rule>) -> Result<Rule, RuleError> {
        let id = form.id.trim().to_owned();
        let bad = |why: String| RuleError::Invalid {
            id: id.clone(),
            why,
        };
        let mut table = match base {
            Some(b) => match toml::Value::try_from(b) {
                Ok(toml::Value::Table(t)) => t,
                _ => return Err(bad("the rule it edits cannot be written as TOML".into())),
            },
            None => toml::Table::new(),
        };
        let takes = accepts(form.kind);
        for name in KIND_FIELDS {
            if !takes.contains(name) {
                table.remove(*name);
            }
        }
        let text = |s: &str| toml::Value::String(s.trim().to_owned());
        table.insert("id".into(), text(&id));
        table.insert("device".into(), text(&form.device));
        table.insert("metric".into(), text(&form.metric));
        table.insert("kind".into(), text(form.kind.as_str()));
        table.insert("severity".into(), text(form.severity.as_str()));
        for (name, v) in [
            ("limit", form.limit),
            ("deadband", form.deadband),
            ("on_delay_s", form.for_s),
            ("stale_after_s", form.stale_after_s),
            ("window_s", form.window_s),
            ("horizon_s", form.horizon_s),
        ] {
            if !takes.contains(&name) {
                continue;
            }
            table.insert(name.into(), toml::Value::Float(v));
        }
        if form.renotify_s != 0.0 {
            table.insert("renotify_s".into(), toml::Value::Float(form.renotify_s));
        } else {
            table.remove("renotify_s");
        }
        if form.notify {
            table.remove("notify");
        } else {
            table.insert("notify".into(), toml::Value::Boolean(false));
        }
        let rule: Rule = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| bad(e.message().trim().replace('\n', " ")))?;
        rule.validate()?;
        Ok(rule)
    }
}

/// `text` (RULES.toml) with `rule` in place of the rule `replaces` names (or of the rule of the
/// same id), or added at the end. Only that table changes: comments, order and the other rules
/// are left as they were. The result is checked as a whole (an id used twice is refused).
pub fn upsert(text: &str, replaces: Option<&str>, rule: &Rule) -> Result<String, RuleError> {
    let mut doc = parse(text)?;
    let table = table_of(rule)?;
    let rules = rule_tables(&mut doc)?;
    let at = replaces
        .and_then(|old| position(rules, old))
        .or_else(|| position(rules, &rule.id));
    if replaces.is_some_and(|old| position(rules, old).is_none()) {
        return Err(RuleError::Invalid {
            id: replaces.unwrap_or_default().to_owned(),
            why: "there is no such rule to change (it may have been removed meanwhile)".into(),
        });
    }
    match at.and_then(|i| rules.get_mut(i)) {
        Some(old) => {
            // The table's own comments (above its header) and place stay with it.
            let (decor, position) = (old.decor().clone(), old.position());
            *old = table;
            *old.decor_mut() = decor;
            if let Some(p) = position {
                old.set_position(p);
            }
        }
        None => rules.push(table),
    }
    checked(doc.to_string())
}

/// `text` without the rule `id`; refused when there is none.
pub fn remove(text: &str, id: &str) -> Result<String, RuleError> {
    let mut doc = parse(text)?;
    let rules = rule_tables(&mut doc)?;
    let Some(i) = position(rules, id) else {
        return Err(RuleError::Invalid {
            id: id.to_owned(),
            why: "there is no such rule".into(),
        });
    };
    rules.remove(i);
    checked(doc.to_string())
}

fn parse(text: &str) -> Result<toml_edit::Document, RuleError> {
    // The same reading RuleSet::from_toml gives, so its errors say the line.
    RuleSet::from_toml(text)?;
    text.parse::<toml_edit::Document>()
        .map_err(|e| RuleError::Parse(e.to_string()))
}

fn rule_tables(doc: &mut toml_edit::Document) -> Result<&mut toml_edit::ArrayOfTables, RuleError> {
    if !doc.contains_key("rule") {
        doc.insert(
            "rule",
            toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()),
        );
    }
    doc["rule"].as_array_of_tables_mut().ok_or_else(|| {
        RuleError::Parse(
            "the rules are not written as [[rule]] tables; change them in Advanced".into(),
        )
    })
}

fn position(rules: &toml_edit::ArrayOfTables, id: &str) -> Option<usize> {
    rules
        .iter()
        .position(|t| t.get("id").and_then(|v| v.as_str()) == Some(id))
}

/// `rule` as one `[[rule]]` table, written as RULES.toml writes it.
fn table_of(rule: &Rule) -> Result<toml_edit::Table, RuleError> {
    let set = RuleSet {
        rules: vec![rule.clone()],
    };
    let text = toml::to_string(&set).map_err(|e| RuleError::Invalid {
        id: rule.id.clone(),
        why: e.to_string(),
    })?;
    let doc = text
        .parse::<toml_edit::Document>()
        .map_err(|e| RuleError::Parse(e.to_string()))?;
    let written = doc
        .get("rule")
        .and_then(|r| r.as_array_of_tables())
        .and_then(|r| r.get(0))
        .ok_or_else(|| RuleError::Parse("a rule written as TOML has no [[rule]] table".into()))?;
    // A table of no document: it takes its place from where it is put (the end, when added),
    // not from where it stood in the text it was written in.
    let mut table = toml_edit::Table::new();
    for (key, item) in written.iter() {
        table.insert(key, item.clone());
    }
    Ok(table)
}

fn checked(text: String) -> Result<String, RuleError> {
    RuleSet::from_toml(&text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Severity;

    const RULES: &str = "# Our rules.\n\n\
        # The freezer must stay cold.\n\
        [[rule]]\nid = \"freezer-warm\"\ndevice = \"Freezer\"\nmetric = \"temperature\"\nkind = \"high\"\nlimit = -15\ndeadband = 1.5\non_delay_s = 300\nseverity = \"critical\"\n\n\
        [[rule]]\nid = \"tagged\"\ndevice = \"*\"\ntags = [\"cellar\"]\nmetric = \"humidity\"\nkind = \"high\"\nlimit = 70\noff_delay_s = 600\n";

    fn rules() -> RuleSet {
        RuleSet::from_toml(RULES).unwrap()
    }

    /// Every rule the form can show comes back from its form unchanged, through the TOML too.
    #[test]
    fn a_rule_round_trips_through_its_form() {
        let all = format!(
            "{RULES}\n{}",
            "[[rule]]\nid = \"quiet\"\ndevice = \"Door\"\nkind = \"stale\"\nstale_after_s = 900\nnotify = false\n\n\
             [[rule]]\nid = \"bat\"\ndevice = \"*\"\nkind = \"battery_low\"\nrenotify_s = 3600\n\n\
             [[rule]]\nid = \"odd\"\ndevice = \"Pump\"\nmetric = \"vibration\"\nkind = \"anomaly\"\nlearn = 50\n\n\
             [[rule]]\nid = \"fast\"\ndevice = \"Pump\"\nmetric = \"pressure\"\nkind = \"rate\"\nlimit = 2\nwindow_s = 120\n\n\
             [[rule]]\nid = \"wear\"\ndevice = \"Filter\"\nkind = \"forecast\"\nhorizon_s = 604800\nseverity = \"info\"\n"
        );
        let set = RuleSet::from_toml(&all).unwrap();
        for rule in &set.rules {
            let form = rule.form();
            let back = Rule::from_form(&form, Some(rule)).unwrap();
            assert_eq!(&back, rule, "{}", rule.id);
            let text = upsert(&all, Some(&rule.id), &back).unwrap();
            assert_eq!(RuleSet::from_toml(&text).unwrap(), set, "{}", rule.id);
        }
        // What the form does not show is named, and kept.
        let tagged = set.get("tagged").unwrap().form();
        assert_eq!(
            tagged.also,
            [
                "only devices tagged cellar",
                "clears only after 10 min back to normal"
            ]
        );
        assert_eq!(set.get("odd").unwrap().form().also, ["tuned: learn 50"]);
        assert!(!set.get("quiet").unwrap().form().notify);
    }

    #[test]
    fn a_new_rule_is_written_as_a_person_would() {
        let mut form = RuleForm::new("Fridge", "temperature", AlertKind::High);
        form.id = "fridge-warm".into();
        form.limit = 8.0;
        form.for_s = 600.0;
        let rule = Rule::from_form(&form, None).unwrap();
        let text = upsert(RULES, None, &rule).unwrap();
        assert!(
            text.starts_with(RULES),
            "the rules before it are untouched:\n{text}"
        );
        assert!(
            text.ends_with(
                "[[rule]]\nid = \"fridge-warm\"\ndevice = \"Fridge\"\nmetric = \"temperature\"\nkind = \"high\"\nlimit = 8.0\non_delay_s = 600.0\nseverity = \"warning\"\n"
            ),
            "{text}"
        );
        assert_eq!(RuleSet::from_toml(&text).unwrap().rules.len(), 3);
    }

    #[test]
    fn editing_a_rule_changes_only_its_table() {
        let mut form = rules().get("freezer-warm").unwrap().form();
        form.limit = -18.0;
        form.severity = Severity::Warning;
        form.notify = false;
        let base = rules();
        let rule = Rule::from_form(&form, base.get("freezer-warm")).unwrap();
        let text = upsert(RULES, Some("freezer-warm"), &rule).unwrap();
        assert!(
            text.starts_with(
                "# Our rules.\n\n# The freezer must stay cold.\n[[rule]]\nid = \"freezer-warm\""
            ),
            "{text}"
        );
        assert!(
            text.contains("limit = -18.0") && text.contains("notify = false"),
            "{text}"
        );
        assert!(
            text.ends_with(&RULES[RULES.find("[[rule]]\nid = \"tagged\"").unwrap()..]),
            "{text}"
        );
        // Renamed: the same table, under its new id.
        form.id = "freezer-cold-enough".into();
        let renamed = Rule::from_form(&form, base.get("freezer-warm")).unwrap();
        let text = upsert(RULES, Some("freezer-warm"), &renamed).unwrap();
        let set = RuleSet::from_toml(&text).unwrap();
        assert_eq!(
            set.rules.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["freezer-cold-enough", "tagged"]
        );
    }

    #[test]
    fn a_kind_change_drops_what_the_old_kind_took() {
        let base = rules();
        let mut form = base.get("freezer-warm").unwrap().form();
        form.kind = AlertKind::Stale;
        form.metric = "*".into();
        form.stale_after_s = 1800.0;
        let rule = Rule::from_form(&form, base.get("freezer-warm")).unwrap();
        assert_eq!(
            (rule.limit, rule.deadband, rule.on_delay_s),
            (0.0, 0.0, 0.0)
        );
        assert_eq!(rule.stale_after_s, 1800.0);
    }

    #[test]
    fn what_a_form_gets_wrong_is_refused_with_the_reason() {
        let base = rules();
        let mut form = RuleForm::new("Fridge", "temperature", AlertKind::Rate);
        form.id = "r".into();
        form.limit = 1.0;
        let err = Rule::from_form(&form, None).unwrap_err().to_string();
        assert!(err.contains("window_s must be positive"), "{err}");
        // An id another rule has.
        let mut form = RuleForm::new("Fridge", "temperature", AlertKind::High);
        form.id = "tagged".into();
        form.limit = 1.0;
        let rule = Rule::from_form(&form, None).unwrap();
        let err = upsert(RULES, Some("freezer-warm"), &rule).unwrap_err();
        assert_eq!(err, RuleError::Duplicate("tagged".into()));
        // A rule removed meanwhile.
        let err = upsert(RULES, Some("gone"), &rule).unwrap_err().to_string();
        assert!(err.contains("no such rule"), "{err}");
        assert!(remove(RULES, "gone").is_err());
        let text = remove(RULES, "freezer-warm").unwrap();
        assert_eq!(
            RuleSet::from_toml(&text).unwrap().rules,
            vec![base.get("tagged").unwrap().clone()]
        );
        // Rules written as an inline array cannot be edited one table at a time.
        let inline =
            "rule = [{id = \"a\", device = \"x\", metric = \"t\", kind = \"high\", limit = 1}]\n";
        assert!(upsert(inline, None, &rule)
            .unwrap_err()
            .to_string()
            .contains("Advanced"));
        // An empty document takes its first rule.
        let text = upsert("", None, &rule).unwrap();
        assert_eq!(RuleSet::from_toml(&text).unwrap().rules, vec![rule]);
    }
}
