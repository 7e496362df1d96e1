//! Alerts: what needs attention now (acknowledge, shelve), what happened, and the rules.

use crate::pages::dashboard::error_view;
use crate::{api, format};
use leptos::prelude::*;
use telltale_model::alert::{ActiveAlert, AlertHistoryQuery, AlertId, AlertRecord, AlertState};
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
        <section class="panel">
            <h2>"Needs attention"</h2>
            <Show
                when=move || !active.with(Vec::is_empty)
                fallback=|| view! { <p class="placeholder" data-testid="no-alerts">"All clear."</p> }
            >
                <ul class="alert-list">
                    {move || active.get().into_iter().map(|a| view! { <AlertRow alert=a act=act /> }).collect_view()}
                </ul>
            </Show>
        </section>
        <History kinds=Memo::new(move |_| overview.with(|o| match o {
            Some(Ok(o)) => o.rule_kinds.clone(),
            _ => Vec::new(),
        })) />
        <Rules overview_rules=Memo::new(move |_| overview.with(|o| match o {
            Some(Ok(o)) => Some(o.rules.clone()),
            _ => None,
        })) message=message />
    }
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
fn AlertRow(alert: ActiveAlert, act: AlertAction) -> impl IntoView {
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
) -> impl IntoView {
    // The editor holds the user's text; it is filled from the engine once, not on every poll.
    let text = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if text.get_untracked().is_none() {
            if let Some(r) = overview_rules.get() {
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
            Some(Ok(())) => (false, "Rules saved and in force.".to_owned()),
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
        <section class="panel">
            <h2>"Rules"</h2>
            <p class="detail">
                "Each [[rule]] watches a metric of one device (or \"*\", or every device of a kind): \
                 high, low, rate, stale, battery_low or anomaly, with deadband, on/off delays and a severity."
            </p>
            <textarea class="rules" spellcheck="false" data-testid="rules"
                prop:value=move || text.get().unwrap_or_default()
                on:input=move |e| text.set(Some(event_target_value(&e)))></textarea>
            <div class="row-actions">
                <button class="chip-button primary" data-testid="save-rules" on:click=on_save>"Save rules"</button>
            </div>
        </section>
    }
}
