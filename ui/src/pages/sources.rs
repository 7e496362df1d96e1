//! Sources: what is connected and how it is doing, and the MQTT brokers configured in the app.
//!
//! Passwords go from the form straight into the OS keyring through the engine; this page never
//! receives one back (a broker only says whether it has one).

use crate::api;
use crate::pages::dashboard::error_view;
use leptos::prelude::*;
use std::path::PathBuf;
use telltale_model::broker::{
    BrokerCheck, BrokerConfig, BrokerEntry, PayloadFormat, Protocol, SaveBroker, TlsSettings,
    TopicMap,
};
use telltale_model::secret::SecretInput;
use telltale_model::{ApiError, SourceState, SourceStatus};

/// The configured brokers, read once per visit and again after each save or delete.
type Brokers = LocalResource<Result<Vec<BrokerEntry>, ApiError>>;

/// Set by the first run's "Connect a plant gateway": the Sources page opens on a new broker's
/// form (a context, as pages are not addressed).
#[derive(Clone, Copy)]
pub struct NewGateway(pub RwSignal<bool>);

#[component]
pub fn SourcesPage() -> impl IntoView {
    let dashboard = crate::live::Live::get().dashboard;
    let statuses = Memo::new(move |_| {
        dashboard.with(|d| match d {
            Some(Ok(d)) => d.sources.clone(),
            _ => Vec::new(),
        })
    });
    // Refetched after every save or delete; the list on screen stays until the new one is in.
    let brokers: Brokers = LocalResource::new(api::brokers);
    // Removing a broker: one action for the page, so its answer outlives the row it came from.
    // Its value says which broker it was about.
    let remove = Action::new_local(|id: &String| {
        let id = id.clone();
        async move {
            let result = api::delete_broker(&id).await;
            (id, result)
        }
    });
    let removed = remove.value();
    Effect::new(move |_| {
        if let Some((_, Ok(()))) = removed.get() {
            brokers.refetch();
        }
    });
    // None: no form; Some(None): a new broker; Some(Some(entry)): editing one.
    let editing = RwSignal::new(None::<Option<BrokerEntry>>);
    if let Some(NewGateway(asked)) = use_context::<NewGateway>() {
        if asked.get_untracked() {
            asked.set(false);
            editing.set(Some(None));
        }
    }
    view! {
        <h1 class="page-title">"Sources"</h1>
        <section class="panel">
            <h2>"Status"</h2>
            <Show
                when=move || !statuses.with(Vec::is_empty)
                fallback=|| view! { <p class="placeholder">"No sources running."</p> }
            >
                // Re-rendered whole on each refresh: a few rows, and every field may change.
                <ul class="status-list">
                    {move || {
                        statuses
                            .get()
                            .into_iter()
                            .map(|s| view! { <StatusRow status=s /> })
                            .collect_view()
                    }}
                </ul>
            </Show>
        </section>
        <section class="panel">
            <h2>"MQTT brokers"</h2>
            <Transition fallback=|| view! { <p class="placeholder">"Loading…"</p> }>
                {move || brokers.get().map(|list| match list {
                    Err(e) => error_view(e).into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="placeholder">"No broker configured. Add your plant's gateway below."</p>
                    }
                    .into_any(),
                    Ok(list) => view! {
                        <ul class="broker-list">
                            {list
                                .into_iter()
                                .map(|entry| view! { <BrokerRow entry=entry editing=editing remove=remove /> })
                                .collect_view()}
                        </ul>
                    }
                    .into_any(),
                })}
            </Transition>
            <Show when=move || editing.with(Option::is_none)>
                <button
                    class="chip-button"
                    data-testid="add-broker"
                    on:click=move |_| editing.set(Some(None))
                >
                    "Add broker"
                </button>
            </Show>
            {move || editing.get().map(|initial| view! { <BrokerForm initial=initial editing=editing brokers=brokers /> })}
        </section>
        <crate::pages::historian::HistorianPanel />
    }
}

#[component]
fn StatusRow(status: SourceStatus) -> impl IntoView {
    let class = match status.state {
        SourceState::Connected => "chip ok",
        SourceState::Starting | SourceState::Reconnecting => "chip warn",
        SourceState::Stopped | SourceState::Failed => "chip bad",
    };
    let state = format!("{:?}", status.state).to_lowercase();
    let rejected = status
        .rejected
        .into_iter()
        .map(|r| {
            view! {
                <li class="rejected" data-testid="rejected">
                    <code>{r.topic}</code>
                    {format!(": {} unreadable, last: {}", r.count, r.last_reason)}
                </li>
            }
        })
        .collect_view();
    view! {
        <li class="status-row" data-testid="source-status">
            <span class=class>{format!("{} · {state}", status.id)}</span>
            <span class="detail">{status.detail}</span>
            <ul class="rejected-list">{rejected}</ul>
        </li>
    }
}

#[component]
fn BrokerRow(
    entry: BrokerEntry,
    editing: RwSignal<Option<Option<BrokerEntry>>>,
    remove: Action<String, (String, Result<(), ApiError>)>,
) -> impl IntoView {
    let id = entry.config.id.clone();
    // Why removing this broker failed, if the last removal was of this one and failed.
    let removed = remove.value();
    let error = {
        let id = id.clone();
        move || {
            removed.with(|v| match v {
                Some((of, Err(e))) if *of == id => Some(e.message.clone()),
                _ => None,
            })
        }
    };
    let insecure = entry
        .config
        .tls
        .as_ref()
        .is_some_and(|t| t.insecure_skip_verify);
    let summary = format!(
        "{} · {} topic map(s){}",
        entry.config.url,
        entry.config.topics.len(),
        if entry.has_password {
            " · password in keyring"
        } else {
            ""
        }
    );
    let edit_entry = entry.clone();
    view! {
        <li class="broker-row" data-testid="broker">
            <div class="broker-name">{entry.config.id.clone()}</div>
            <div class="detail">{summary}</div>
            {insecure.then(|| view! {
                <div class="warning">"Certificate verification is OFF for this broker"</div>
            })}
            <div class="row-actions">
                <button class="chip-button" on:click=move |_| editing.set(Some(Some(edit_entry.clone())))>
                    "Edit"
                </button>
                <button class="chip-button danger" data-testid="remove-broker"
                    on:click=move |_| { remove.dispatch_local(id.clone()); }>
                    "Remove"
                </button>
            </div>
            {move || error().map(|m| view! { <p class="error">{m}</p> })}
        </li>
    }
}

/// One topic mapping being edited. Signals are `Copy`, so the row is too.
#[derive(Clone, Copy)]
struct TopicRow {
    key: u32,
    filter: RwSignal<String>,
    format: RwSignal<String>,
    device: RwSignal<String>,
    metric: RwSignal<String>,
    value_path: RwSignal<String>,
    unit: RwSignal<String>,
}

impl TopicRow {
    fn new(key: u32, t: Option<&TopicMap>) -> Self {
        let text = |s: Option<&String>| RwSignal::new(s.cloned().unwrap_or_default());
        Self {
            key,
            filter: RwSignal::new(t.map_or("factory/+/+".into(), |t| t.filter.clone())),
            format: RwSignal::new(
                match t.map_or(PayloadFormat::Number, |t| t.format) {
                    PayloadFormat::Number => "number",
                    PayloadFormat::Json => "json",
                    PayloadFormat::Sparkplug => "sparkplug",
                    PayloadFormat::Availability => "availability",
                }
                .into(),
            ),
            device: RwSignal::new(t.map_or("{1}".into(), |t| t.device.clone())),
            metric: RwSignal::new(t.map_or("{2}".into(), |t| t.metric.clone())),
            value_path: text(t.and_then(|t| t.value_path.as_ref())),
            unit: text(t.and_then(|t| t.unit.as_ref())),
        }
    }

    fn to_map(self) -> TopicMap {
        let format = match self.format.get_untracked().as_str() {
            "json" => PayloadFormat::Json,
            "sparkplug" => PayloadFormat::Sparkplug,
            "availability" => PayloadFormat::Availability,
            _ => PayloadFormat::Number,
        };
        TopicMap {
            filter: self.filter.get_untracked().trim().to_owned(),
            format,
            device: self.device.get_untracked().trim().to_owned(),
            metric: self.metric.get_untracked().trim().to_owned(),
            value_path: non_empty(self.value_path.get_untracked()),
            unit_path: None,
            ts_path: None,
            online: None,
            offline: None,
            unit: non_empty(self.unit.get_untracked()),
        }
    }
}

/// A password for the OS keyring: never shown back; blank keeps the stored one, and a stored one
/// can be removed.
#[component]
pub fn PasswordFields(
    /// What is typed, and whether to remove the stored password.
    password: (RwSignal<String>, RwSignal<bool>),
    has_password: Signal<bool>,
    testid: &'static str,
) -> impl IntoView {
    let (typed, clear) = password;
    view! {
        <label>"Password (kept in the OS keyring)"
            <input type="password" autocomplete="new-password" data-testid=testid
                placeholder=move || if has_password.get() { "unchanged" } else { "" }
                prop:value=typed on:input=move |e| typed.set(event_target_value(&e)) />
        </label>
        <Show when=move || has_password.get()>
            <label class="check">
                <input type="checkbox" prop:checked=clear
                    on:change=move |e| clear.set(event_target_checked(&e)) />
                "Remove the stored password"
            </label>
        </Show>
    }
}

fn non_empty(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

#[component]
fn BrokerForm(
    initial: Option<BrokerEntry>,
    editing: RwSignal<Option<Option<BrokerEntry>>>,
    brokers: Brokers,
) -> impl IntoView {
    let is_new = initial.is_none();
    let has_password = initial.as_ref().is_some_and(|e| e.has_password);
    let c = initial.map(|e| e.config);
    let tls = c.as_ref().and_then(|c| c.tls.clone()).unwrap_or_default();
    let path = |p: &Option<PathBuf>| {
        RwSignal::new(
            p.as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        )
    };
    let id = RwSignal::new(c.as_ref().map_or(String::new(), |c| c.id.clone()));
    let url = RwSignal::new(c.as_ref().map_or("mqtts://".to_owned(), |c| c.url.clone()));
    let client_id = RwSignal::new(
        c.as_ref()
            .map_or("telltale".to_owned(), |c| c.client_id.clone()),
    );
    let protocol = RwSignal::new(c.as_ref().map_or(Protocol::V311, |c| c.protocol));
    let username = RwSignal::new(
        c.as_ref()
            .and_then(|c| c.username.clone())
            .unwrap_or_default(),
    );
    let password = RwSignal::new(String::new());
    let clear_password = RwSignal::new(false);
    let site = RwSignal::new(c.as_ref().map_or("Plant".to_owned(), |c| c.site.clone()));
    let ca_file = path(&tls.ca_file);
    let cert_file = path(&tls.client_cert_file);
    let key_file = path(&tls.client_key_file);
    let insecure = RwSignal::new(tls.insecure_skip_verify);
    let persistent = RwSignal::new(c.as_ref().is_none_or(|c| c.persistent_session));
    let next_key = RwSignal::new(0u32);
    let topics = RwSignal::new(Vec::<TopicRow>::new());
    let base = c.clone();
    {
        let initial_topics = c.as_ref().map(|c| c.topics.clone()).unwrap_or_default();
        let mut rows: Vec<TopicRow> = initial_topics
            .iter()
            .enumerate()
            .map(|(i, t)| TopicRow::new(i as u32, Some(t)))
            .collect();
        if rows.is_empty() {
            rows.push(TopicRow::new(0, None));
        }
        next_key.set(rows.len() as u32);
        topics.set(rows);
    }
    let save = Action::new_local(|request: &SaveBroker| {
        let request = request.clone();
        async move { api::save_broker(&request).await }
    });
    // Saved: the list reads the brokers again and the form closes.
    let (saving, saved) = (save.pending(), save.value());
    Effect::new(move |_| {
        if let Some(Ok(())) = saved.get() {
            brokers.refetch();
            editing.set(None);
        }
    });
    // (is an error, message).
    let status = move || {
        if saving.get() {
            return Some((false, "Saving…".to_owned()));
        }
        match saved.get() {
            Some(Err(e)) => Some((true, e.message)),
            _ => None,
        }
    };
    let is_tls = move || url.with(|u| u.trim().starts_with("mqtts://"));
    let base = StoredValue::new(base);
    // The settings as the form says them now, for saving or for a test.
    let request = move || -> SaveBroker {
        let base = base.get_value();
        let tls = is_tls().then(|| TlsSettings {
            ca_file: non_empty(ca_file.get_untracked()).map(PathBuf::from),
            client_cert_file: non_empty(cert_file.get_untracked()).map(PathBuf::from),
            client_key_file: non_empty(key_file.get_untracked()).map(PathBuf::from),
            insecure_skip_verify: insecure.get_untracked(),
        });
        let config = BrokerConfig {
            id: id.get_untracked().trim().to_owned(),
            url: url.get_untracked().trim().to_owned(),
            client_id: client_id.get_untracked().trim().to_owned(),
            persistent_session: persistent.get_untracked(),
            protocol: protocol.get_untracked(),
            username: non_empty(username.get_untracked()),
            tls,
            site: site.get_untracked().trim().to_owned(),
            device_kind: base
                .as_ref()
                .map_or("machine".to_owned(), |c| c.device_kind.clone()),
            expected_interval_ms: base.as_ref().map_or(60_000, |c| c.expected_interval_ms),
            sparkplug: base.as_ref().and_then(|c| c.sparkplug.clone()),
            max_message_bytes: base
                .as_ref()
                .map_or(telltale_model::broker::DEFAULT_MAX_MESSAGE_BYTES, |c| {
                    c.max_message_bytes
                }),
            max_devices: base.as_ref().map_or(10_000, |c| c.max_devices),
            max_series: base.as_ref().map_or(100_000, |c| c.max_series),
            max_queued_messages: base.as_ref().map_or(100_000, |c| c.max_queued_messages),
            topics: topics
                .get_untracked()
                .into_iter()
                .map(TopicRow::to_map)
                .collect(),
        };
        SaveBroker {
            config,
            // Not trimmed: spaces can be part of a password.
            password: SecretInput::typed(password.get_untracked()),
            clear_password: clear_password.get_untracked(),
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch_local(request());
    };
    // "Test connection": five seconds of what the broker sends, read with these settings,
    // before anything is saved.
    let test = Action::new_local(|request: &SaveBroker| {
        let request = request.clone();
        async move { api::test_broker(&request).await }
    });
    let (testing, tested) = (test.pending(), test.value());
    let report = move || {
        if testing.get() {
            return Some((false, "Listening for 5 s…".to_owned()));
        }
        tested.get().map(|answer| match answer {
            Ok(check) => (false, check_sentence(&check)),
            Err(e) => (true, e.message),
        })
    };
    let add_topic = move |_| {
        let key = next_key.get_untracked();
        next_key.set(key + 1);
        topics.update(|t| t.push(TopicRow::new(key, None)));
    };
    view! {
        <form class="broker-form" data-testid="broker-form" on:submit=submit>
            <h3>{if is_new { "New broker" } else { "Edit broker" }}</h3>
            <div class="fields">
                <label>"Name (id)"
                    <input required prop:value=id on:input=move |e| id.set(event_target_value(&e))
                        prop:readonly=!is_new data-testid="broker-id" />
                </label>
                <label>"URL"
                    <input required prop:value=url on:input=move |e| url.set(event_target_value(&e))
                        placeholder="mqtts://gateway.plant.local:8883" data-testid="broker-url" />
                </label>
                <label>"Client id"
                    <input required prop:value=client_id on:input=move |e| client_id.set(event_target_value(&e)) />
                </label>
                <label>"MQTT version"
                    <select on:change=move |e| protocol.set(if event_target_value(&e) == "5" { Protocol::V5 } else { Protocol::V311 })
                        prop:value=move || if protocol.get() == Protocol::V5 { "5" } else { "3.1.1" }>
                        <option value="3.1.1">"3.1.1"</option>
                        <option value="5">"5"</option>
                    </select>
                </label>
                <label>"Site"
                    <input prop:value=site on:input=move |e| site.set(event_target_value(&e)) />
                </label>
                <label>"Username"
                    <input prop:value=username on:input=move |e| username.set(event_target_value(&e)) autocomplete="off" data-testid="broker-username" />
                </label>
                <PasswordFields password=(password, clear_password)
                    has_password=Signal::derive(move || has_password) testid="broker-password" />
                <label class="check">
                    <input type="checkbox" prop:checked=persistent
                        on:change=move |e| persistent.set(event_target_checked(&e)) />
                    "Persistent session (no reading lost while disconnected)"
                </label>
            </div>
            <Show when=is_tls>
                <fieldset class="fields">
                    <legend>"TLS"</legend>
                    <label>"CA certificate file (PEM; empty = system roots)"
                        <input prop:value=ca_file on:input=move |e| ca_file.set(event_target_value(&e)) />
                    </label>
                    <label>"Client certificate file (PEM)"
                        <input prop:value=cert_file on:input=move |e| cert_file.set(event_target_value(&e)) />
                    </label>
                    <label>"Client key file (PEM)"
                        <input prop:value=key_file on:input=move |e| key_file.set(event_target_value(&e)) />
                    </label>
                    <label class="check warning">
                        <input type="checkbox" prop:checked=insecure
                            on:change=move |e| insecure.set(event_target_checked(&e)) />
                        "Do not verify the broker's certificate (insecure: anyone on the network can read and forge data)"
                    </label>
                </fieldset>
            </Show>
            <fieldset class="fields">
                <legend>"Topics"</legend>
                <For each=move || topics.get() key=|t| t.key let:row>
                    <div class="topic-row" data-testid="topic-row">
                        <label>"Filter"
                            <input prop:value=row.filter on:input=move |e| row.filter.set(event_target_value(&e)) />
                        </label>
                        <label>"Payload"
                            <select prop:value=row.format on:change=move |e| row.format.set(event_target_value(&e))>
                                <option value="number">"number"</option>
                                <option value="json">"JSON"</option>
                                <option value="sparkplug">"Sparkplug B"</option>
                                <option value="availability">"online/offline (last will)"</option>
                            </select>
                        </label>
                        <label>"Device ({N} = N-th wildcard)"
                            <input prop:value=row.device on:input=move |e| row.device.set(event_target_value(&e)) />
                        </label>
                        <label>"Metric"
                            <input prop:value=row.metric on:input=move |e| row.metric.set(event_target_value(&e)) />
                        </label>
                        <label>"JSON value path"
                            <input prop:value=row.value_path placeholder="value"
                                on:input=move |e| row.value_path.set(event_target_value(&e)) />
                        </label>
                        <label>"Unit"
                            <input prop:value=row.unit on:input=move |e| row.unit.set(event_target_value(&e)) />
                        </label>
                        <button type="button" class="chip-button"
                            on:click=move |_| topics.update(|t| t.retain(|r| r.key != row.key))>
                            "Remove topic"
                        </button>
                    </div>
                </For>
                <button type="button" class="chip-button" on:click=add_topic>"Add topic"</button>
            </fieldset>
            <div class="row-actions">
                <button type="submit" class="chip-button primary" data-testid="save-broker">"Save and connect"</button>
                <button type="button" class="chip-button" data-testid="test-broker"
                    prop:disabled=move || testing.get()
                    on:click=move |_| { test.dispatch_local(request()); }>
                    "Test connection"
                </button>
                <button type="button" class="chip-button" on:click=move |_| editing.set(None)>"Cancel"</button>
            </div>
            {move || report().map(|(bad, m)| view! {
                <p class:error=bad class:status=!bad role="status" data-testid="broker-test">{m}</p>
            })}
            {move || status().map(|(bad, m)| view! {
                <p class:error=bad class:status=!bad role="status" data-testid="broker-status">{m}</p>
            })}
        </form>
    }
}

/// A test's answer in words: what arrived, what it made, what it could not read.
fn check_sentence(check: &BrokerCheck) -> String {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    if check.messages == 0 {
        return format!(
            "Connected, but nothing arrived on these topics in {:.0} s: check the topic filters, or \
             whether the gateway is publishing.",
            check.seconds
        );
    }
    let mut s = format!(
        "Received {} on {} in {:.0} s: {}",
        plural(check.messages, "message", "messages"),
        plural(check.topics, "topic", "topics"),
        check.seconds,
        plural(check.readings, "reading", "readings"),
    );
    if check.sparkplug > 0 {
        s.push_str(&format!(
            " (from {})",
            plural(check.sparkplug, "Sparkplug message", "Sparkplug messages")
        ));
    }
    s.push('.');
    if !check.examples.is_empty() {
        s.push_str(&format!(" For example {}.", check.examples.join("; ")));
    }
    if !check.rejected.is_empty() {
        let what: Vec<String> = check
            .rejected
            .iter()
            .map(|r| format!("{} ({}×: {})", r.topic, r.count, r.last_reason))
            .collect();
        s.push_str(&format!(" Not understood: {}.", what.join("; ")));
    }
    s
}
