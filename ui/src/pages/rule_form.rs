//! Alert rules by form: "Alert me when <device> <metric> is above <value> for <duration>", with
//! how often the rule would have fired over the last week of stored history shown before it is
//! saved. The engine turns the form into a `[[rule]]` table of the rules' text, so "Advanced"
//! (the TOML) and the form are two views of one rule.

use crate::{api, format};
use leptos::prelude::*;
use telltale_model::alert::{AlertKind, RuleChange, RuleForm, RulePreview, Severity};
use telltale_model::{ApiError, Dashboard};

/// The kinds as the form offers them: (kind, what the sentence says).
const KINDS: [(AlertKind, &str); 8] = [
    (AlertKind::High, "is above"),
    (AlertKind::Low, "is below"),
    (AlertKind::Rate, "changes faster than"),
    (AlertKind::Anomaly, "looks unusual"),
    (AlertKind::Stale, "goes quiet"),
    (AlertKind::BatteryLow, "has a low battery"),
    (AlertKind::Forecast, "is forecast to reach a limit"),
    (AlertKind::ServiceDue, "has service coming due"),
];

/// Units a duration is typed in: (label, seconds).
const UNITS: [(&str, f64); 4] = [("s", 1.0), ("min", 60.0), ("h", 3600.0), ("days", 86_400.0)];

/// "Repeat the notification" choices: (label, seconds).
const REPEATS: [(&str, f64); 5] = [
    ("never", 0.0),
    ("every 15 min", 900.0),
    ("every hour", 3600.0),
    ("every 4 h", 14_400.0),
    ("every day", 86_400.0),
];

/// A duration as the form shows it: the largest unit it is a whole number of.
pub fn split_duration(seconds: f64) -> (f64, f64) {
    let factor = UNITS
        .iter()
        .rev()
        .map(|(_, f)| *f)
        .find(|f| seconds > 0.0 && (seconds / f).fract() == 0.0)
        .unwrap_or(60.0);
    (seconds / factor, factor)
}

/// The defaults a kind starts from when picked: a battery is low under 20 %, clear above 25 %;
/// an anomaly raises at a surprise of 4; silence after 30 min; dates a week ahead.
pub fn with_kind(mut form: RuleForm, kind: AlertKind, latest: Option<f64>) -> RuleForm {
    if form.kind == kind {
        return form;
    }
    form.kind = kind;
    form.deadband = 0.0;
    match kind {
        AlertKind::High | AlertKind::Low => {
            if form.metric == "*" || form.metric == "battery" {
                form.metric = String::new();
            }
            form.limit = latest.map_or(0.0, |v| (v * 10.0).round() / 10.0);
        }
        AlertKind::Rate => {
            form.limit = 1.0;
            form.window_s = 300.0;
        }
        AlertKind::Anomaly => form.limit = 4.0,
        AlertKind::BatteryLow => {
            form.metric = "battery".into();
            form.limit = 20.0;
            form.deadband = 5.0;
        }
        AlertKind::Stale => {
            form.metric = "*".into();
            form.stale_after_s = 1800.0;
        }
        AlertKind::Forecast | AlertKind::ServiceDue => {
            form.metric = "*".into();
            form.horizon_s = 7.0 * 86_400.0;
        }
    }
    form
}

/// The rule in one sentence: "Fridge · temperature above 8 °C for 10 min · warning".
pub fn sentence(form: &RuleForm, unit: Option<&str>) -> String {
    let device = if form.device == "*" {
        "Every device".to_owned()
    } else {
        form.device.clone()
    };
    let metric = if form.metric == "*" {
        String::new()
    } else {
        format!(" {}", mid_sentence(&format::metric_label(&form.metric)))
    };
    let value = |v: f64| format::with_unit(v, unit);
    let during = |s: f64| {
        if s > 0.0 {
            format!(" for {}", format::duration((s * 1000.0) as i64))
        } else {
            String::new()
        }
    };
    let what = match form.kind {
        AlertKind::High => format!("{metric} above {}{}", value(form.limit), during(form.for_s)),
        AlertKind::Low => format!("{metric} below {}{}", value(form.limit), during(form.for_s)),
        AlertKind::Rate => format!(
            "{metric} changing faster than {}/min{}",
            value(form.limit),
            during(form.for_s)
        ),
        AlertKind::Anomaly => format!("{metric} unusual{}", during(form.for_s)),
        AlertKind::Stale => format!(
            " quiet for {}",
            format::duration((form.stale_after_s * 1000.0) as i64)
        ),
        AlertKind::BatteryLow => format!(" battery below {} %", format::value(form.limit)),
        AlertKind::Forecast => format!(
            "{metric} forecast to reach a limit within {}",
            format::duration((form.horizon_s * 1000.0) as i64)
        ),
        AlertKind::ServiceDue => format!(
            " service due within {}",
            format::duration((form.horizon_s * 1000.0) as i64)
        ),
    };
    let mut text = format!("{device}{what} · {}", form.severity);
    if !form.notify {
        text.push_str(" · notifications off");
    }
    text
}

/// A label as it reads inside a sentence: "Temperature" → "temperature", but "CO₂" and "PM2.5"
/// stay as they are.
fn mid_sentence(label: &str) -> String {
    let mut chars = label.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if second.is_lowercase() => {
            first.to_lowercase().chain(label.chars().skip(1)).collect()
        }
        _ => label.to_owned(),
    }
}

/// A new rule's id from what it watches ("fridge-temperature-high"), not one of `taken`.
pub fn new_id(form: &RuleForm, taken: &[String]) -> String {
    let words = [
        if form.device == "*" {
            "every"
        } else {
            &form.device
        },
        if form.metric == "*" { "" } else { &form.metric },
        form.kind.as_str(),
    ]
    .join("-");
    let mut slug = String::new();
    for c in words.chars() {
        if c.is_alphanumeric() {
            slug.extend(c.to_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_matches('-').chars().take(100).collect();
    let slug = if slug.is_empty() {
        "rule".to_owned()
    } else {
        slug
    };
    (1..)
        .map(|n| {
            if n == 1 {
                slug.clone()
            } else {
                format!("{slug}-{n}")
            }
        })
        .find(|id| !taken.contains(id))
        .unwrap_or(slug)
}

/// The unit of a metric, from what the dashboard knows of the device (any device's, for `*`).
fn unit_of(
    dashboard: &Option<Result<Dashboard, ApiError>>,
    device: &str,
    metric: &str,
) -> Option<String> {
    let Some(Ok(d)) = dashboard else {
        return None;
    };
    d.devices
        .iter()
        .filter(|s| device == "*" || s.device.name == device || s.device.id.as_str() == device)
        .flat_map(|s| s.latest.iter())
        .find(|l| l.metric == metric)
        .and_then(|l| l.unit.clone())
}

/// "Alert me…" on a chart: the rule form it opens on a charted series, the rule ids already
/// taken (a new rule is named apart from them), and what the form said when it closed.
#[derive(Clone, Copy)]
pub struct AlertMe {
    opened: Opened,
    rules: LocalResource<Result<telltale_model::alert::AlertsOverview, ApiError>>,
    said: RwSignal<Option<String>>,
}

impl AlertMe {
    pub fn new() -> Self {
        Self {
            opened: RwSignal::new(None),
            rules: LocalResource::new(api::alerts),
            said: RwSignal::new(None),
        }
    }

    /// Opens a new "above" rule on `device`'s `metric`, starting at the value now for the
    /// person to move to where it should not go.
    pub fn open(&self, device: &str, metric: &str, latest: Option<f64>) {
        let mut form = RuleForm::new(device, metric, AlertKind::High);
        form.limit = latest.map_or(0.0, |v| (v * 10.0).round() / 10.0);
        self.said.set(None);
        self.opened.set(Some(RuleChange {
            form,
            replaces: None,
        }));
    }

    /// Whether the form is open (a picker that opened it shows its placeholder again).
    pub fn is_open(&self) -> bool {
        self.opened.with(Option::is_some)
    }

    /// The form while it is open, then what it said.
    pub fn view(self) -> impl IntoView {
        let Self {
            opened,
            rules,
            said,
        } = self;
        let taken = Signal::derive(move || {
            rules.with(|o| match o {
                Some(Ok(o)) => o.forms.iter().map(|f| f.id.clone()).collect(),
                _ => Vec::new(),
            })
        });
        view! {
            <RuleEditor opened=opened taken=taken
                done=Callback::new(move |m: String| { said.set(Some(m)); rules.refetch(); }) />
            {move || said.get().map(|m| view! { <p class="status" role="status" data-testid="rule-saved">{m}</p> })}
        }
    }
}

/// What the form opens on: a rule to change (`replaces` its id) or a new one.
pub type Opened = RwSignal<Option<RuleChange>>;

/// The form, shown while `opened` holds something; `done` hears what was saved or removed.
#[component]
pub fn RuleEditor(
    opened: Opened,
    taken: Signal<Vec<String>>,
    done: Callback<String>,
) -> impl IntoView {
    let dashboard = crate::live::Live::get().dashboard;
    move || {
        opened.get().map(|change| {
            view! { <Editor change=change opened=opened taken=taken done=done dashboard=dashboard /> }
        })
    }
}

#[component]
fn Editor(
    change: RuleChange,
    opened: Opened,
    taken: Signal<Vec<String>>,
    done: Callback<String>,
    dashboard: RwSignal<Option<Result<Dashboard, ApiError>>>,
) -> impl IntoView {
    let replaces = change.replaces.clone();
    let is_new = replaces.is_none();
    let form = RwSignal::new(change.form.clone());
    let also = change.form.also.clone();
    // A new rule is named from what it watches until a person names it.
    let named = RwSignal::new(!is_new);
    let id = move || {
        form.with(|f| {
            if named.get() {
                f.id.clone()
            } else {
                new_id(f, &taken.get())
            }
        })
    };
    let unit =
        Memo::new(move |_| form.with(|f| dashboard.with(|d| unit_of(d, &f.device, &f.metric))));
    let latest = move |device: &str, metric: &str| -> Option<f64> {
        dashboard.with_untracked(|d| match d {
            Some(Ok(d)) => d
                .devices
                .iter()
                .filter(|s| device == "*" || s.device.name == device)
                .flat_map(|s| s.latest.iter())
                .find(|l| l.metric == metric)
                .map(|l| l.value),
            _ => None,
        })
    };
    let devices = Memo::new(move |_| {
        dashboard.with(|d| match d {
            Some(Ok(d)) => {
                let mut names: Vec<String> = d
                    .devices
                    .iter()
                    .map(|s| {
                        if s.device.name.is_empty() {
                            s.device.id.0.clone()
                        } else {
                            s.device.name.clone()
                        }
                    })
                    .collect();
                names.sort();
                names.dedup();
                names
            }
            _ => Vec::new(),
        })
    });
    let metrics = Memo::new(move |_| {
        let device = form.with(|f| f.device.clone());
        dashboard.with(|d| match d {
            Some(Ok(d)) => {
                let mut names: Vec<String> = d
                    .devices
                    .iter()
                    .filter(|s| {
                        device == "*" || s.device.name == device || s.device.id.as_str() == device
                    })
                    .flat_map(|s| s.latest.iter().map(|l| l.metric.clone()))
                    .collect();
                names.sort();
                names.dedup();
                names
            }
            _ => Vec::new(),
        })
    });
    // The week's preview, read again as the form changes; the last answer stays on screen
    // until the next is in.
    let preview = {
        let replaces = replaces.clone();
        LocalResource::new(move || {
            let mut f = form.get();
            f.id = id();
            let change = RuleChange {
                form: f,
                replaces: replaces.clone(),
            };
            async move { api::preview_rule(change).await }
        })
    };
    let message = RwSignal::new(None::<String>);
    let save = Action::new_local(move |change: &RuleChange| {
        let change = change.clone();
        async move { api::save_rule(change).await }
    });
    let remove = Action::new_local(|id: &String| {
        let id = id.clone();
        async move { api::delete_rule(&id).await.map(|()| id) }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(())) => {
            let said = format!(
                "Rule {} saved and in force.",
                form.with_untracked(|f| f.id.clone())
            );
            opened.set(None);
            done.run(said);
        }
        Some(Err(e)) => message.set(Some(e.message)),
        None => {}
    });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(id)) => {
            opened.set(None);
            done.run(format!("Rule {id} removed."));
        }
        Some(Err(e)) => message.set(Some(e.message)),
        None => {}
    });
    let on_save = {
        let replaces = replaces.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let mut f = form.get_untracked();
            f.id = id();
            form.set(f.clone());
            save.dispatch_local(RuleChange {
                form: f,
                replaces: replaces.clone(),
            });
        }
    };
    let kind = move || form.with(|f| f.kind);
    let shows = move |kinds: &'static [AlertKind]| move || kinds.contains(&kind());
    let number = |get: fn(&RuleForm) -> f64, set: fn(&mut RuleForm, f64)| {
        (
            move || format::value(form.with(get)),
            move |e: leptos::ev::Event| {
                if let Ok(v) = event_target_value(&e).trim().parse::<f64>() {
                    form.update(|f| set(f, v));
                }
            },
        )
    };
    let (limit, set_limit) = number(|f| f.limit, |f, v| f.limit = v);
    // "Clear again below …" is the limit less the deadband (above: plus), as people think of it.
    let (clear, set_clear) = number(
        |f| match f.kind {
            AlertKind::Low | AlertKind::BatteryLow => f.limit + f.deadband,
            _ => f.limit - f.deadband,
        },
        |f, v| {
            f.deadband = match f.kind {
                AlertKind::Low | AlertKind::BatteryLow => v - f.limit,
                _ => f.limit - v,
            }
            .max(0.0)
        },
    );
    let clear_words = move || match kind() {
        AlertKind::Low | AlertKind::BatteryLow => "Clear again above",
        _ => "Clear again below",
    };
    let unit_text = move || unit.get().unwrap_or_default();
    view! {
        <form class="rule-form" data-testid="rule-form" on:submit=on_save>
            <h3>{if is_new { "New alert rule" } else { "Change alert rule" }}</h3>
            <p class="sentence" data-testid="rule-sentence">
                {move || format!("Alert me: {}", sentence(&form.get(), unit.get().as_deref()))}
            </p>
            <div class="fields">
                <label>"When"
                    <select data-testid="rule-device"
                        prop:value=move || form.with(|f| f.device.clone())
                        on:change=move |e| form.update(|f| f.device = event_target_value(&e))>
                        <option value="*" selected=move || form.with(|f| f.device == "*")>"any device"</option>
                        {move || {
                            let current = form.with_untracked(|f| f.device.clone());
                            let mut names = devices.get();
                            if current != "*" && !names.contains(&current) {
                                names.insert(0, current.clone());
                            }
                            names.into_iter().map(|n| {
                                let chosen = n == current;
                                view! { <option value=n.clone() selected=chosen>{n.clone()}</option> }
                            }).collect_view()
                        }}
                    </select>
                </label>
                <Show when=shows(&[AlertKind::High, AlertKind::Low, AlertKind::Rate, AlertKind::Anomaly, AlertKind::Forecast])>
                    <label>"Metric"
                        <select data-testid="rule-metric"
                            prop:value=move || form.with(|f| f.metric.clone())
                            on:change=move |e| {
                                let m = event_target_value(&e);
                                let device = form.with_untracked(|f| f.device.clone());
                                let v = latest(&device, &m);
                                form.update(|f| {
                                    if f.metric.is_empty() || f.limit == 0.0 {
                                        if let Some(v) = v { f.limit = (v * 10.0).round() / 10.0; }
                                    }
                                    f.metric = m;
                                });
                            }>
                            {move || {
                                let current = form.with(|f| f.metric.clone());
                                let mut names = metrics.get();
                                if kind() == AlertKind::Forecast {
                                    names.insert(0, "*".into());
                                }
                                if !names.contains(&current) {
                                    names.insert(0, current.clone());
                                }
                                names.into_iter().map(|m| {
                                    let label = if m.is_empty() { "choose…".to_owned() }
                                        else if m == "*" { "every metric".to_owned() }
                                        else { format::metric_label(&m) };
                                    let chosen = m == current;
                                    view! { <option value=m selected=chosen>{label}</option> }
                                }).collect_view()
                            }}
                        </select>
                    </label>
                </Show>
                <label>"Condition"
                    <select data-testid="rule-kind"
                        prop:value=move || kind().as_str()
                        on:change=move |e| {
                            let Some(k) = AlertKind::parse(&event_target_value(&e)) else { return };
                            let (device, metric) = form.with_untracked(|f| (f.device.clone(), f.metric.clone()));
                            let v = latest(&device, &metric);
                            form.update(|f| *f = with_kind(f.clone(), k, v));
                        }>
                        {KINDS.iter().map(|(k, words)| {
                            let k = *k;
                            view! { <option value=k.as_str() selected=move || kind() == k>{*words}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <Show when=shows(&[AlertKind::High, AlertKind::Low, AlertKind::BatteryLow])>
                    <label>{move || format!("Value{}", if unit_text().is_empty() { String::new() } else { format!(" ({})", unit_text()) })}
                        <input type="number" step="any" inputmode="decimal" required data-testid="rule-limit"
                            prop:value=limit on:change=set_limit />
                    </label>
                    <label>{move || format!("{}{}", clear_words(), if unit_text().is_empty() { String::new() } else { format!(" ({})", unit_text()) })}
                        <input type="number" step="any" inputmode="decimal" data-testid="rule-clear"
                            prop:value=clear on:change=set_clear />
                    </label>
                </Show>
                <Show when=shows(&[AlertKind::Rate])>
                    <label>{move || format!("Faster than ({}/min)", if unit_text().is_empty() { "units".to_owned() } else { unit_text() })}
                        <input type="number" step="any" min="0" required prop:value=limit on:change=set_limit />
                    </label>
                    <DurationField label="Measured over" seconds=Signal::derive(move || form.with(|f| f.window_s))
                        set=Callback::new(move |v: f64| form.update(|f| f.window_s = v)) testid="rule-window" />
                </Show>
                <Show when=shows(&[AlertKind::Anomaly])>
                    <label>"Sensitivity (4 is usual; higher raises less)"
                        <input type="number" step="0.5" min="0.5" required prop:value=limit on:change=set_limit />
                    </label>
                </Show>
                <Show when=shows(&[AlertKind::High, AlertKind::Low, AlertKind::Rate, AlertKind::Anomaly, AlertKind::BatteryLow])>
                    <DurationField label="For at least" seconds=Signal::derive(move || form.with(|f| f.for_s))
                        set=Callback::new(move |v: f64| form.update(|f| f.for_s = v)) testid="rule-for" />
                </Show>
                <Show when=shows(&[AlertKind::Stale])>
                    <DurationField label="Quiet for" seconds=Signal::derive(move || form.with(|f| f.stale_after_s))
                        set=Callback::new(move |v: f64| form.update(|f| f.stale_after_s = v)) testid="rule-quiet" />
                </Show>
                <Show when=shows(&[AlertKind::Forecast, AlertKind::ServiceDue])>
                    <DurationField label="Within" seconds=Signal::derive(move || form.with(|f| f.horizon_s))
                        set=Callback::new(move |v: f64| form.update(|f| f.horizon_s = v)) testid="rule-horizon" />
                </Show>
                <label>"Severity"
                    <select data-testid="rule-severity"
                        prop:value=move || form.with(|f| f.severity.as_str())
                        on:change=move |e| { if let Some(s) = Severity::parse(&event_target_value(&e)) {
                            form.update(|f| f.severity = s);
                        } }>
                        {[(Severity::Info, "Info"), (Severity::Warning, "Warning"), (Severity::Critical, "Critical (ignores quiet hours)")]
                            .into_iter()
                            .map(|(s, l)| view! { <option value=s.as_str() selected=move || form.with(|f| f.severity == s)>{l}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>"Repeat the notification"
                    <select prop:value=move || form.with(|f| f.renotify_s.to_string())
                        prop:disabled=move || !form.with(|f| f.notify)
                        on:change=move |e| { if let Ok(v) = event_target_value(&e).parse::<f64>() {
                            form.update(|f| f.renotify_s = v);
                        } }>
                        {move || {
                            let current = form.with(|f| f.renotify_s);
                            let mut choices: Vec<(String, f64)> = REPEATS.iter().map(|(l, s)| ((*l).to_owned(), *s)).collect();
                            if !choices.iter().any(|(_, s)| *s == current) {
                                choices.push((format!("every {}", format::duration((current * 1000.0) as i64)), current));
                            }
                            choices.into_iter().map(|(l, s)| view! { <option value=s.to_string() selected=s == current>{l}</option> }).collect_view()
                        }}
                    </select>
                </label>
                <label class="check">
                    <input type="checkbox" data-testid="rule-notify" prop:checked=move || form.with(|f| f.notify)
                        on:change=move |e| form.update(|f| f.notify = event_target_checked(&e)) />
                    "Notify me"
                </label>
                <label>"Name"
                    <input required maxlength="128" data-testid="rule-id" prop:value=id
                        on:input=move |e| { named.set(true); form.update(|f| f.id = event_target_value(&e)); } />
                </label>
            </div>
            {(!also.is_empty()).then(|| view! {
                <p class="detail">{format!("Also, as written in Advanced: {}.", also.join("; "))}</p>
            })}
            <div class="preview" data-testid="rule-preview" aria-live="polite">
                <Transition fallback=|| view! { <p class="placeholder">"Looking at the last 7 days…"</p> }>
                    {move || preview.get().map(|p| match p {
                        Ok(p) => preview_view(p, unit.get_untracked()).into_any(),
                        Err(e) => view! { <p class="error" data-testid="rule-problem">{e.message}</p> }.into_any(),
                    })}
                </Transition>
            </div>
            {move || message.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            <div class="row-actions">
                <button type="submit" class="chip-button primary" data-testid="save-rule">"Save rule"</button>
                <button type="button" class="chip-button" on:click=move |_| opened.set(None)>"Cancel"</button>
                {replaces.map(|old| view! {
                    <button type="button" class="chip-button danger" data-testid="delete-rule"
                        on:click=move |_| { remove.dispatch_local(old.clone()); }>"Delete rule"</button>
                })}
            </div>
        </form>
    }
}

fn preview_view(p: RulePreview, unit: Option<String>) -> impl IntoView {
    let headline = match (p.raised, p.series) {
        (_, 0) => String::new(),
        (0, _) => "Over the last 7 days it would not have fired.".to_owned(),
        (1, _) => "Over the last 7 days it would have fired once.".to_owned(),
        (n, _) => format!("Over the last 7 days it would have fired {n} times."),
    };
    let judged =
        (p.series > 0).then(|| format!("Judged on {} series ({} readings).", p.series, p.readings));
    view! {
        <p class="headline" data-testid="rule-fired" data-raised=p.raised>{headline}</p>
        <ul class="preview-list">
            {p.examples.into_iter().map(|r| view! {
                <li>{format!(
                    "{} · {} · {} {}",
                    format::when_now(r.ts_ms),
                    r.device_name,
                    format::metric_label(&r.metric),
                    format::with_unit(r.value, r.unit.as_deref().or(unit.as_deref())),
                )}</li>
            }).collect_view()}
        </ul>
        {judged.map(|j| view! { <p class="detail">{j}</p> })}
        {p.note.map(|n| view! { <p class="detail">{n}</p> })}
    }
}

/// A duration typed as a number and a unit ("10" "min"); hands on seconds.
#[component]
fn DurationField(
    label: &'static str,
    seconds: Signal<f64>,
    set: Callback<f64>,
    testid: &'static str,
) -> impl IntoView {
    let factor = RwSignal::new(split_duration(seconds.get_untracked()).1);
    let amount = move || format::value(seconds.get() / factor.get());
    view! {
        <label>{label}
            <span class="duration">
                <input type="number" step="any" min="0" inputmode="decimal" data-testid=testid
                    prop:value=amount
                    on:change=move |e| { if let Ok(v) = event_target_value(&e).trim().parse::<f64>() {
                        set.run((v * factor.get_untracked()).max(0.0));
                    } } />
                <select aria-label="unit" prop:value=move || factor.get().to_string()
                    on:change=move |e| { if let Ok(f) = event_target_value(&e).parse::<f64>() {
                        let typed = seconds.get_untracked() / factor.get_untracked();
                        factor.set(f);
                        set.run(typed * f);
                    } }>
                    {UNITS.iter().map(|(l, f)| {
                        let f = *f;
                        view! { <option value=f.to_string() selected=move || factor.get() == f>{*l}</option> }
                    }).collect_view()}
                </select>
            </span>
        </label>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_show_in_the_largest_whole_unit() {
        assert_eq!(split_duration(600.0), (10.0, 60.0));
        assert_eq!(split_duration(7200.0), (2.0, 3600.0));
        assert_eq!(split_duration(90.0), (90.0, 1.0));
        assert_eq!(split_duration(604_800.0), (7.0, 86_400.0));
        assert_eq!(split_duration(0.0), (0.0, 60.0));
    }

    #[test]
    fn a_rule_reads_as_a_sentence() {
        let mut f = RuleForm::new("Fridge", "temperature", AlertKind::High);
        f.limit = 8.0;
        f.for_s = 600.0;
        assert_eq!(
            sentence(&f, Some("°C")),
            "Fridge temperature above 8 °C for 10 min · warning"
        );
        f = with_kind(f, AlertKind::Stale, None);
        f.device = "*".into();
        f.notify = false;
        assert_eq!(
            sentence(&f, None),
            "Every device quiet for 30 min · warning · notifications off"
        );
        f = with_kind(f, AlertKind::BatteryLow, None);
        assert_eq!(
            (f.metric.as_str(), f.limit, f.deadband),
            ("battery", 20.0, 5.0)
        );
        assert_eq!(
            sentence(&f, None),
            "Every device battery below 20 % · warning · notifications off"
        );
        assert_eq!(mid_sentence("Spindle temp"), "spindle temp");
        assert_eq!(mid_sentence("CO₂"), "CO₂");
        assert_eq!(mid_sentence("PM2.5"), "PM2.5");
        assert_eq!(mid_sentence("RR interval"), "RR interval");
    }

    #[test]
    fn a_new_rule_is_named_from_what_it_watches() {
        let f = RuleForm::new("Fridge (kitchen)", "temperature", AlertKind::High);
        assert_eq!(new_id(&f, &[]), "fridge-kitchen-temperature-high");
        let taken = vec!["fridge-kitchen-temperature-high".to_owned()];
        assert_eq!(new_id(&f, &taken), "fridge-kitchen-temperature-high-2");
        let every = RuleForm::new("*", "*", AlertKind::Stale);
        assert_eq!(new_id(&every, &[]), "every-stale");
    }

    #[test]
    fn picking_a_kind_starts_from_its_defaults_and_the_latest_value() {
        let f = RuleForm::new("Fridge", "temperature", AlertKind::Stale);
        let f = with_kind(f, AlertKind::High, Some(4.26));
        assert_eq!((f.kind, f.limit), (AlertKind::High, 4.3));
        assert_eq!(f.metric, "temperature");
        let f = with_kind(f, AlertKind::Forecast, None);
        assert_eq!((f.metric.as_str(), f.horizon_s), ("*", 604_800.0));
    }
}
