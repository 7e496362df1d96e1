//! Alerts: what needs attention now (acknowledge, shelve), what happened, and the rules.

use crate::pages::dashboard::error_view;
use crate::pages::rule_form::{self, RuleEditor};
use crate::{api, format};
use leptos::prelude::*;
use telltale_model::alert::{
    ActiveAlert, AlertHistoryQuery, AlertId, AlertKind, AlertRecord, AlertState,
    NotificationSettings, QuietHours, RuleChange, RuleForm,
};
use telltale_model::{ApiError, Dashboard};

/// What a person did to an alert.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Act {
    Acknowledge,
    Shelve,
    Unshelve,
}

/// (what, which alert, whose it is in words): answered with (is an error, message).
type AlertAction = Action<(Act, AlertId, String), (bool, String)>;

const DAY_MS: i64 = 86_400_000;

#[component]
pub fn AlertsPage() -> impl IntoView {
    // The rules and the evaluator's health once per visit; what needs attention as the engine
    // pushes it (never polled).
    let overview = LocalResource::new(api::alerts);
    let live = crate::live::Live::get();
    let active = Memo::new(move |_| {
        live.alerts.get().unwrap_or_else(|| {
            overview.with(|o| match o {
                Some(Ok(o)) => o.active.clone(),
                _ => Vec::new(),
            })
        })
    });
    // The last thing said about an alert or the rules: (is an error, message).
    let message = RwSignal::new(None::<(bool, String)>);
    // One action for the page's alerts: a row is drawn again as the engine pushes the alert's
    // new state, and the answer must outlive it.
    let act: AlertAction = Action::new_local(|(what, id, who): &(Act, AlertId, String)| {
        let (what, id, who) = (*what, id.clone(), who.clone());
        async move {
            let result = match what {
                Act::Acknowledge => api::acknowledge_alert(&id).await,
                Act::Shelve => api::shelve_alert(&id, 60).await,
                Act::Unshelve => api::unshelve_alert(&id).await,
            };
            match result {
                Ok(()) => (false, format!("{} on {who}: done.", id.rule)),
                Err(e) => (true, e.message),
            }
        }
    });
    // The rule form: what it edits (None: closed), the ids in use, and what it did.
    let opened: rule_form::Opened = RwSignal::new(None);
    let forms = Memo::new(move |_| {
        overview.with(|o| match o {
            Some(Ok(o)) => o.forms.clone(),
            _ => Vec::new(),
        })
    });
    let taken = Signal::derive(move || forms.with(|f| f.iter().map(|f| f.id.clone()).collect()));
    let done = Callback::new(move |said: String| {
        message.set(Some((false, said)));
        overview.refetch();
    });
    // Opens a rule's form from its alert.
    let edit = Callback::new(move |rule: String| {
        if let Some(form) = forms.with_untracked(|f| f.iter().find(|f| f.id == rule).cloned()) {
            opened.set(Some(RuleChange {
                form,
                replaces: Some(rule),
            }));
            scroll_to("rule-form");
        }
    });
    let acted = act.value();
    Effect::new(move |_| {
        if let Some(said) = acted.get() {
            message.set(Some(said));
        }
    });
    view! {
        <h1 class="page-title">"Alerts"</h1>
        <Transition>
            {move || overview.get().and_then(|o| match o {
                Err(e) => Some(error_view(e).into_any()),
                Ok(o) if o.missed_batches > 0 => Some(view! {
                    <p class="error">{format!(
                        "The alert engine fell behind and skipped {} batches of readings.",
                        o.missed_batches
                    )}</p>
                }.into_any()),
                Ok(_) => None,
            })}
        </Transition>
        {move || message.get().map(|(bad, m)| view! {
            <p class:error=bad class:status=!bad role="status" data-testid="alert-status">{m}</p>
        })}
        // A landscape tablet shows what happens beside what is set up.
        <div class="columns" data-testid="columns">
        <div class="column">
        <section class="panel">
            <h2>"Needs attention"</h2>
            <Show
                when=move || !active.with(Vec::is_empty)
                fallback=|| view! { <p class="placeholder" data-testid="no-alerts">"All clear."</p> }
            >
                <ul class="alert-list">
                    {move || active.get().into_iter().map(|a| view! { <AlertRow alert=a act=act edit=edit /> }).collect_view()}
                </ul>
            </Show>
        </section>
        <History kinds=Memo::new(move |_| overview.with(|o| match o {
            Some(Ok(o)) => o.rule_kinds.clone(),
            _ => Vec::new(),
        })) />
        </div>
        <div class="column">
        <section class="panel" id="rules">
            <h2>"Rules"</h2>
            <RuleEditor opened=opened taken=taken done=done />
            <Show when=move || opened.with(Option::is_none)>
                <ul class="rule-list">
                    {move || forms.get().into_iter().map(|f| view! { <RuleRow form=f opened=opened /> }).collect_view()}
                </ul>
                <div class="row-actions">
                    <button class="chip-button primary" data-testid="new-rule" on:click=move |_| {
                        opened.set(Some(RuleChange { form: RuleForm::new("", "", AlertKind::High), replaces: None }));
                    }>"New rule"</button>
                </div>
            </Show>
            <details class="advanced">
                <summary>"Advanced: the rules as TOML"</summary>
                <Rules overview_rules=Memo::new(move |_| overview.with(|o| match o {
                    Some(Ok(o)) => Some(o.rules.clone()),
                    _ => None,
                })) message=message on_saved=Callback::new(move |()| overview.refetch()) />
            </details>
        </section>
        <Notifications settings=Memo::new(move |_| overview.with(|o| match o {
            Some(Ok(o)) => Some(o.notifications.clone()),
            _ => None,
        })) message=message />
        </div>
        </div>
    }
}

/// Brings an element into view once it is drawn (the form opens above the list).
fn scroll_to(testid: &'static str) {
    request_animation_frame(move || {
        if let Some(e) = document()
            .query_selector(&format!("[data-testid={testid}]"))
            .ok()
            .flatten()
        {
            e.scroll_into_view();
        }
    });
}

/// One rule in a sentence, with its form a tap away.
#[component]
fn RuleRow(form: RuleForm, opened: rule_form::Opened) -> impl IntoView {
    let dashboard = crate::live::Live::get().dashboard;
    let unit = dashboard.with_untracked(|d| match d {
        Some(Ok(d)) => d
            .devices
            .iter()
            .filter(|s| {
                form.device == "*"
                    || s.device.name == form.device
                    || s.device.id.as_str() == form.device
            })
            .flat_map(|s| s.latest.iter())
            .find(|l| l.metric == form.metric)
            .and_then(|l| l.unit.clone()),
        _ => None,
    });
    let text = rule_form::sentence(&form, unit.as_deref());
    let id = form.id.clone();
    view! {
        <li class="rule-row" data-testid="rule" data-rule=id.clone()>
            <span class="rule-text">{text}</span>
            <span class="detail">{format!(" ({id})")}</span>
            <button class="chip-button" data-testid="edit-rule" on:click=move |_| {
                opened.set(Some(RuleChange { form: form.clone(), replaces: Some(form.id.clone()) }));
                scroll_to("rule-form");
            }>"Change"</button>
        </li>
    }
}

/// Quiet hours, and a test notification.
#[component]
fn Notifications(
    settings: Memo<Option<NotificationSettings>>,
    message: RwSignal<Option<(bool, String)>>,
) -> impl IntoView {
    let quiet_on = RwSignal::new(false);
    let from = RwSignal::new("22:00".to_owned());
    let to = RwSignal::new("07:00".to_owned());
    Effect::new(move |_| {
        if let Some(s) = settings.get() {
            quiet_on.set(s.quiet.is_some());
            if let Some(q) = s.quiet {
                from.set(hhmm(q.from_min));
                to.set(hhmm(q.to_min));
            }
        }
    });
    let save = Action::new_local(|settings: &NotificationSettings| {
        let settings = settings.clone();
        async move { api::save_notifications(settings).await }
    });
    let test = Action::new_local(|_: &()| api::test_notification());
    Effect::new(move |_| {
        let said = match save.value().get() {
            None => return,
            Some(Ok(())) => (false, "Notification settings saved.".to_owned()),
            Some(Err(e)) => (true, e.message),
        };
        message.set(Some(said));
    });
    Effect::new(move |_| {
        let said = match test.value().get() {
            None => return,
            Some(Ok(s)) => (false, s),
            Some(Err(e)) => (true, e.message),
        };
        message.set(Some(said));
    });
    let on_save = move |_| {
        let quiet = if quiet_on.get_untracked() {
            match (minutes(&from.get_untracked()), minutes(&to.get_untracked())) {
                (Some(from_min), Some(to_min)) => Some(QuietHours { from_min, to_min }),
                _ => {
                    message.set(Some((
                        true,
                        "Quiet hours need a start and an end time.".into(),
                    )));
                    return;
                }
            }
        } else {
            None
        };
        save.dispatch_local(NotificationSettings { quiet });
    };
    view! {
        <section class="panel" data-testid="notifications">
            <h2>"Notifications"</h2>
            <div class="fields">
                <label class="check wide">
                    <input type="checkbox" data-testid="quiet-on" prop:checked=quiet_on
                        on:change=move |e| quiet_on.set(event_target_checked(&e)) />
                    "Quiet hours: only critical alerts notify"
                </label>
                <label>"From"
                    <input type="time" data-testid="quiet-from" prop:value=from prop:disabled=move || !quiet_on.get()
                        on:change=move |e| from.set(event_target_value(&e)) />
                </label>
                <label>"To"
                    <input type="time" data-testid="quiet-to" prop:value=to prop:disabled=move || !quiet_on.get()
                        on:change=move |e| to.set(event_target_value(&e)) />
                </label>
            </div>
            <p class="detail">"What still needs attention when quiet hours end is notified then. Each rule can also be silenced on its own."</p>
            <div class="row-actions">
                <button class="chip-button primary" data-testid="save-notifications" on:click=on_save>"Save"</button>
                <button class="chip-button" data-testid="test-notification"
                    on:click=move |_| { test.dispatch_local(()); }>"Send a test notification"</button>
            </div>
        </section>
    }
}

fn hhmm(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Minutes after midnight of `HH:MM`, as `<input type=time>` gives it.
fn minutes(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.get(..2)?.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

fn state_text(state: AlertState) -> &'static str {
    match state {
        AlertState::ActiveUnacked => "Active · not acknowledged",
        AlertState::ActiveAcked => "Active · acknowledged",
        AlertState::ClearedUnacked => "Cleared · not acknowledged",
        AlertState::Inactive => "Shelved",
    }
}

#[component]
fn AlertRow(alert: ActiveAlert, act: AlertAction, edit: Callback<String>) -> impl IntoView {
    let id = alert.id.clone();
    let who = if alert.device_name.is_empty() {
        alert.id.device.clone()
    } else {
        alert.device_name.clone()
    };
    let who_shown = who.clone();
    // Copy, so every button's handler can hold it.
    let who = StoredValue::new(who);
    let act = move |what: Act, id: AlertId| {
        act.dispatch_local((what, id, who.get_value()));
    };
    let unacked = alert.state.is_unacked();
    let shelved = alert.shelved_until_ms.is_some();
    let (ack_id, shelve_id) = (id.clone(), id.clone());
    let rule = id.rule.clone();
    let detail = format!(
        "{} · since {}{}{}",
        state_text(alert.state),
        format::when_now(alert.since_ms),
        match (alert.kind.judges_readings(), alert.last_value) {
            // Upkeep alerts carry the time left, in seconds.
            (false, Some(s)) if s <= 0.0 => " · due now".to_owned(),
            (false, Some(s)) => format!(" · due in {}", format::duration((s * 1000.0) as i64)),
            (true, Some(v)) => format!(" · last {}", format::value(v)),
            (_, None) => String::new(),
        },
        match (&alert.acked_by, alert.shelved_until_ms) {
            (_, Some(t)) => format!(" · shelved until {}", format::when_now(t)),
            (Some(by), None) => format!(" · acknowledged by {by}"),
            _ => String::new(),
        }
    );
    view! {
        <li class=format!("alert-row {}", alert.severity) data-testid="alert" data-state=alert.state.as_str()>
            <div class="alert-head">
                <span class=format!("severity {}", alert.severity)>{alert.severity.as_str()}</span>
                <span class="alert-name">{format!("{} · {}", who_shown, format::metric_label(&alert.id.metric))}</span>
            </div>
            <div class="detail">{format!("{} ({})", detail, alert.id.rule)}</div>
            <div class="row-actions">
                {unacked.then(|| view! {
                    <button class="chip-button primary" data-testid="ack"
                        on:click=move |_| act(Act::Acknowledge, ack_id.clone())>"Acknowledge"</button>
                })}
                <button class="chip-button" data-testid="alert-rule"
                    on:click=move |_| edit.run(rule.clone())>"Change rule"</button>
                {if shelved {
                    view! { <button class="chip-button" on:click=move |_| act(Act::Unshelve, shelve_id.clone())>"Unshelve"</button> }.into_any()
                } else {
                    view! { <button class="chip-button" data-testid="shelve" on:click=move |_| act(Act::Shelve, shelve_id.clone())>"Shelve 1 h"</button> }.into_any()
                }}
            </div>
        </li>
    }
}

/// The device a person typed, by name or id, as the history knows it: its id.
fn device_id(
    dashboard: RwSignal<Option<Result<Dashboard, ApiError>>>,
    typed: &str,
) -> Option<String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return None;
    }
    let found = dashboard.with_untracked(|d| match d {
        Some(Ok(d)) => d
            .devices
            .iter()
            .find(|s| s.device.id.as_str() == typed || s.device.name.eq_ignore_ascii_case(typed))
            .map(|s| s.device.id.0.clone()),
        _ => None,
    });
    Some(found.unwrap_or_else(|| typed.to_owned()))
}

#[component]
fn History(
    /// Each rule's kind: a upkeep rule records time left, the others a reading.
    kinds: Memo<Vec<(String, telltale_model::alert::AlertKind)>>,
) -> impl IntoView {
    let dashboard = crate::live::Live::get().dashboard;
    // A recorded value in words: time left for upkeep kinds, else the reading with its
    // series' unit.
    let value_text = move |r: &AlertRecord| -> String {
        let Some(v) = r.value else {
            return String::new();
        };
        let kind = kinds.with(|k| k.iter().find(|(id, _)| *id == r.id.rule).map(|(_, k)| *k));
        if kind.is_some_and(|k| !k.judges_readings()) {
            return if v <= 0.0 {
                " · due now".to_owned()
            } else {
                format!(" · due in {}", format::duration((v * 1000.0) as i64))
            };
        }
        let unit = dashboard.with_untracked(|d| {
            d.as_ref()?
                .as_ref()
                .ok()?
                .devices
                .iter()
                .find(|s| s.device.id.as_str() == r.id.device)?
                .latest
                .iter()
                .find(|l| l.metric == r.id.metric)?
                .unit
                .clone()
        });
        format!(" = {}", format::with_unit(v, unit.as_deref()))
    };
    let device = RwSignal::new(String::new());
    // Read again when the filter changes, and whenever an alert changes (every record changes
    // what needs attention), not on a timer. The list on screen stays until the new one is in;
    // an answer to a superseded read is never the last one shown.
    let live = crate::live::Live::get();
    let records = LocalResource::new(move || {
        live.alerts.track();
        let now = js_sys::Date::now() as i64;
        let query = AlertHistoryQuery {
            from_ms: (now - 7 * DAY_MS).max(0),
            to_ms: now + DAY_MS,
            device: device_id(dashboard, &device.get()),
            limit: 200,
        };
        async move { api::alert_history(&query).await }
    });
    view! {
        <section class="panel">
            <h2>"History (7 days)"</h2>
            <label class="filter">"Device "
                <input prop:value=device placeholder="all devices" data-testid="history-device"
                    on:change=move |e| device.set(event_target_value(&e)) />
            </label>
            <Transition fallback=|| view! { <p class="placeholder">"Loading…"</p> }>
            {move || records.get().map(|list| match list {
                Err(e) => error_view(e).into_any(),
                Ok(list) if list.is_empty() => view! { <p class="placeholder">"Nothing recorded."</p> }.into_any(),
                Ok(list) => view! {
                    <ul class="history-list">
                        {list.into_iter().map(|r| view! {
                            <li class="history-row" data-testid="alert-record">
                                <span class="when">{format::when_now(r.ts_ms)}</span>
                                <span class=format!("event {}", r.event.word())>{r.event.to_string()}</span>
                                <span class="what">{format!(
                                    "{} · {} ({}){}{}",
                                    r.device_name.as_deref().unwrap_or(&r.id.device),
                                    format::metric_label(&r.id.metric),
                                    r.id.rule,
                                    value_text(&r),
                                    r.by.map(|b| format!(" by {b}")).unwrap_or_default(),
                                )}</span>
                                // Why an anomaly rule fired, in its own words.
                                {r.note.map(|n| view! { <span class="why">{format!(" · {n}")}</span> })}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
            })}
            </Transition>
        </section>
    }
}

#[component]
fn Rules(
    overview_rules: Memo<Option<String>>,
    message: RwSignal<Option<(bool, String)>>,
    on_saved: Callback<()>,
) -> impl IntoView {
    // The editor holds the user's text: it follows the rules in force (a form's save changes
    // them) until a person starts typing, and again once their text is saved.
    let text = RwSignal::new(None::<String>);
    let typing = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(r) = overview_rules.get() {
            if !typing.get_untracked() {
                text.set(Some(r));
            }
        }
    });
    let save = Action::new_local(|rules: &String| {
        let rules = rules.clone();
        async move { api::save_alert_rules(&rules).await }
    });
    let saved = save.value();
    Effect::new(move |_| {
        let said = match saved.get() {
            None => return,
            Some(Ok(())) => {
                typing.set(false);
                on_saved.run(());
                (false, "Rules saved and in force.".to_owned())
            }
            Some(Err(e)) => (true, format!("Rules not saved: {}", e.message)),
        };
        message.set(Some(said));
    });
    let on_save = move |_| {
        if let Some(rules) = text.get_untracked() {
            save.dispatch_local(rules);
        }
    };
    view! {
        <div>
            <p class="detail">
                "Each [[rule]] watches a metric of one device (or \"*\", or every device of a kind): \
                 high, low, rate, stale, battery_low or anomaly, with deadband, on/off delays and a severity."
            </p>
            <textarea class="rules" spellcheck="false" data-testid="rules"
                prop:value=move || text.get().unwrap_or_default()
                on:input=move |e| { typing.set(true); text.set(Some(event_target_value(&e))); }></textarea>
            <div class="row-actions">
                <button class="chip-button primary" data-testid="save-rules" on:click=on_save>"Save rules"</button>
            </div>
        </div>
    }
}
