//! Bluetooth: the user's BLE devices with their health, and a scanner listing what is nearby,
//! with a decoded preview and "Add".
//!
//! Bindkeys go from the form straight into the OS keyring through the engine; this page only
//! ever learns whether a device has one.

use crate::api;
use crate::format;
use crate::live::{Bluetooth, Live};
use crate::pages::dashboard::error_view;
use leptos::prelude::*;
use leptos::task::spawn_local;
use telltale_model::ble::{BleDeviceConfig, BleDeviceStatus, NearbyDevice, SaveBleDevice};
use telltale_model::secret::SecretInput;
use telltale_model::{ApiError, LiveTopic};

/// Removing a device, (address, also delete its history): answered with the address and how it
/// went.
type RemoveAction = Action<(String, bool), (String, Result<(), ApiError>)>;

/// What the form edits: a device being added (from the scanner) or changed.
#[derive(Debug, Clone, PartialEq)]
struct Draft {
    config: BleDeviceConfig,
    is_new: bool,
    has_bindkey: bool,
}

#[component]
pub fn BluetoothPage() -> impl IntoView {
    // Both lists as the engine pushes them while this page is shown (it compares them every
    // second, in memory): a device's health and what the scanners hear change on screen
    // without asking.
    let live = Live::get();
    // Pushed at once on watching; should the stream not push them, read once. The answer seeds
    // the app-wide live store, not this page, so it is a task, not a resource.
    live.watch(LiveTopic::Bluetooth, move || {
        spawn_local(async move {
            if let (Ok(devices), Ok(nearby)) = (api::ble_devices().await, api::ble_nearby().await) {
                let _ = live.bluetooth.try_set(Some(Bluetooth { devices, nearby }));
            }
        })
    });
    let devices = Memo::new(move |_| {
        live.bluetooth
            .with(|b| b.as_ref().map(|b| Ok::<_, ApiError>(b.devices.clone())))
    });
    let nearby = Memo::new(move |_| {
        live.bluetooth
            .with(|b| b.as_ref().map(|b| Ok::<_, ApiError>(b.nearby.clone())))
    });
    let editing = RwSignal::new(None::<Draft>);
    // Removing a device: one action for the page, as a row is drawn again with every push and
    // the answer must outlive it. Its value says which device it was about.
    let remove: RemoveAction = Action::new_local(|(address, delete_history): &(String, bool)| {
        let (address, delete_history) = (address.clone(), *delete_history);
        async move {
            let result = api::remove_ble_device(&address, delete_history).await;
            (address, result)
        }
    });
    view! {
        <h1 class="page-title">"Bluetooth"</h1>
        {move || editing.get().map(|draft| view! { <DeviceForm draft=draft editing=editing /> })}
        <section class="panel">
            <h2>"Your devices"</h2>
            {move || match devices.get() {
                None => view! { <p class="placeholder">"Loading…"</p> }.into_any(),
                Some(Err(e)) => error_view(e).into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <p class="placeholder">"None yet: add one from the list of nearby devices below."</p>
                }
                .into_any(),
                Some(Ok(list)) => view! {
                    <ul class="ble-list">
                        {list
                            .into_iter()
                            .map(|d| view! { <MyDevice status=d editing=editing remove=remove /> })
                            .collect_view()}
                    </ul>
                }
                .into_any(),
            }}
        </section>
        <section class="panel">
            <h2>"Nearby"</h2>
            <p class="detail">
                "Everything the radio hears, strongest first. Sensors are read from their \
                 advertisements without connecting; straps and thermometers that offer Heart Rate, \
                 Health Thermometer or Environmental Sensing are connected to."
            </p>
            {move || match nearby.get() {
                None => view! { <p class="placeholder">"Scanning…"</p> }.into_any(),
                Some(Err(e)) => error_view(e).into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <p class="placeholder">"Nothing heard yet. Is Bluetooth on? (See Sources for the adapter's state.)"</p>
                }
                .into_any(),
                Some(Ok(list)) => view! {
                    <ul class="ble-list">
                        {list
                            .into_iter()
                            .map(|d| view! { <NearbyRow device=d editing=editing /> })
                            .collect_view()}
                    </ul>
                }
                .into_any(),
            }}
        </section>
    }
}

fn rssi_text(rssi: Option<i16>) -> String {
    rssi.map_or("no signal".into(), |r| format!("{r} dBm"))
}

#[component]
fn MyDevice(
    status: BleDeviceStatus,
    editing: RwSignal<Option<Draft>>,
    remove: RemoveAction,
) -> impl IntoView {
    let now = js_sys::Date::now() as i64;
    let c = status.config.clone();
    let health = [
        // A connected device's notifications carry no signal strength: say nothing then.
        status.rssi.map(|r| format!("{r} dBm")),
        status.battery_pct.map(|b| format!("battery {b:.0} %")),
        status
            .last_event
            .as_ref()
            .map(|(event, t)| format!("{event} {}", format::ago(*t, now))),
        status
            .last_seen_ms
            .map(|t| format!("heard {}", format::ago(t, now))),
        status
            .learned_interval_ms
            .map(|i| format!("every {:.1} s (learned)", i as f64 / 1000.0)),
        status.link.clone(),
        status.has_bindkey.then(|| "bindkey in keyring".to_owned()),
        // A restarted counter is a reboot, or a replay that waited for the device to fall
        // silent: either way worth seeing.
        (status.restarts > 0).then(|| match status.last_restart_ms {
            Some(t) => format!(
                "counter restarted {}× (last {})",
                status.restarts,
                format::when_now(t)
            ),
            None => format!("counter restarted {}×", status.restarts),
        }),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    let draft = Draft {
        config: c.clone(),
        is_new: false,
        has_bindkey: status.has_bindkey,
    };
    let address = c.address.clone();
    let confirming = RwSignal::new(false);
    let delete_history = RwSignal::new(false);
    // Why removing this device failed, if the last removal was of this one and failed.
    let removed = remove.value();
    let error = {
        let address = address.clone();
        move || {
            removed.with(|v| match v {
                Some((of, Err(e))) if *of == address => Some(e.message.clone()),
                _ => None,
            })
        }
    };
    let remove = move |_| {
        remove.dispatch_local((address.clone(), delete_history.get_untracked()));
    };
    view! {
        <li class="ble-row" data-testid="ble-device">
            <div class="ble-name">
                {c.name.clone()}
                {status.stale.then(|| view! { <span class="chip bad">"stale"</span> })}
                {status.demo.then(|| view! { <span class="chip">"demo"</span> })}
            </div>
            <div class="detail">{format!("{} · {}", c.address, c.kind)}</div>
            <div class="detail" data-testid="ble-health">{health}</div>
            {status.problem.clone().map(|p| view! {
                <div class="warning" data-testid="ble-problem">{p}</div>
            })}
            <div class="row-actions">
                <button class="chip-button" data-testid="edit-ble"
                    on:click=move |_| editing.set(Some(draft.clone()))>
                    "Edit"
                </button>
                {(!status.demo).then(|| view! {
                    <button class="chip-button danger" data-testid="remove-ble"
                        on:click=move |_| confirming.set(true)>
                        "Remove"
                    </button>
                })}
            </div>
            <Show when=move || confirming.get()>
                <div class="confirm">
                    <label class="check">
                        <input type="checkbox" prop:checked=delete_history
                            on:change=move |e| delete_history.set(event_target_checked(&e)) />
                        "Also delete its history"
                    </label>
                    <button class="chip-button danger" data-testid="confirm-remove-ble" on:click=remove.clone()>
                        "Remove it"
                    </button>
                    <button class="chip-button" on:click=move |_| confirming.set(false)>"Keep it"</button>
                </div>
            </Show>
            {move || error().map(|m| view! { <p class="error">{m}</p> })}
        </li>
    }
}

/// A kind to start the form with, from what the device says about itself.
fn guess_kind(d: &NearbyDevice) -> &'static str {
    if d.profiles.iter().any(|p| p == "heart_rate") {
        "heart_rate_strap"
    } else if d.profiles.iter().any(|p| p == "health_thermometer") {
        "body_thermometer"
    } else if d.format.as_deref().is_some_and(|f| f.starts_with("ruuvi")) {
        "environment_sensor"
    } else {
        "thermometer"
    }
}

#[component]
fn NearbyRow(device: NearbyDevice, editing: RwSignal<Option<Draft>>) -> impl IntoView {
    let title = device
        .name
        .clone()
        .unwrap_or_else(|| device.address.clone());
    let mut facts = vec![device.address.clone(), rssi_text(device.rssi)];
    if let Some(f) = &device.format {
        facts.push(f.clone());
    }
    if !device.profiles.is_empty() {
        facts.push(format!("GATT: {}", device.profiles.join(", ")));
    }
    let draft = Draft {
        config: BleDeviceConfig {
            address: device.address.clone(),
            name: title.clone(),
            kind: guess_kind(&device).into(),
            // Devices whose advertisements carry no data can only be read over a connection.
            connect: device.format.is_none() && !device.profiles.is_empty(),
        },
        is_new: true,
        has_bindkey: false,
    };
    let added = device.added;
    view! {
        <li class="ble-row" data-testid="nearby-device" data-address=device.address.clone()>
            <div class="ble-name">{title}</div>
            <div class="detail">{facts.join(" · ")}</div>
            {(!device.preview.is_empty()).then(|| view! {
                <div class="preview" data-testid="nearby-preview">{device.preview.join(" · ")}</div>
            })}
            {device.problem.clone().map(|p| view! {
                <div class="warning" data-testid="nearby-problem">{p}</div>
            })}
            <div class="row-actions">
                {if added {
                    view! { <span class="chip ok">"added"</span> }.into_any()
                } else {
                    view! {
                        <button class="chip-button primary" data-testid="add-ble"
                            on:click=move |_| editing.set(Some(draft.clone()))>
                            "Add"
                        </button>
                    }
                    .into_any()
                }}
            </div>
        </li>
    }
}

#[component]
fn DeviceForm(draft: Draft, editing: RwSignal<Option<Draft>>) -> impl IntoView {
    let c = draft.config.clone();
    let address = c.address.clone();
    let name = RwSignal::new(c.name.clone());
    let kind = RwSignal::new(c.kind.clone());
    let connect = RwSignal::new(c.connect);
    let bindkey = RwSignal::new(String::new());
    let clear_bindkey = RwSignal::new(false);
    let save = Action::new_local(|request: &SaveBleDevice| {
        let request = request.clone();
        async move { api::save_ble_device(&request).await }
    });
    // Saved: the form closes (the lists change as the engine pushes them).
    let (saving, saved) = (save.pending(), save.value());
    Effect::new(move |_| {
        if let Some(Ok(())) = saved.get() {
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
    let has_bindkey = draft.has_bindkey;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let key = bindkey.get_untracked();
        let request = SaveBleDevice {
            config: BleDeviceConfig {
                address: address.clone(),
                name: name.get_untracked(),
                kind: kind.get_untracked(),
                connect: connect.get_untracked(),
            },
            bindkey: SecretInput::typed(key),
            clear_bindkey: clear_bindkey.get_untracked(),
        };
        save.dispatch_local(request);
    };
    view! {
        <section class="panel">
            <form class="ble-form" data-testid="ble-form" on:submit=submit>
                <h3>{if draft.is_new { "Add device" } else { "Edit device" }}</h3>
                <p class="detail">{c.address.clone()}</p>
                <div class="fields">
                    <label>"Name"
                        <input required maxlength="64" prop:value=name data-testid="ble-name"
                            on:input=move |e| name.set(event_target_value(&e)) />
                    </label>
                    <label>"Kind (for rules aimed at a kind)"
                        <input prop:value=kind on:input=move |e| kind.set(event_target_value(&e)) />
                    </label>
                    <label>"Bindkey (32 hex digits, only for encrypted devices; kept in the OS keyring)"
                        <input type="password" autocomplete="off" data-testid="ble-bindkey"
                            placeholder=if has_bindkey { "unchanged" } else { "" }
                            prop:value=bindkey on:input=move |e| bindkey.set(event_target_value(&e)) />
                    </label>
                    <Show when=move || has_bindkey>
                        <label class="check">
                            <input type="checkbox" prop:checked=clear_bindkey data-testid="ble-clear-bindkey"
                                on:change=move |e| clear_bindkey.set(event_target_checked(&e)) />
                            "Remove the stored bindkey"
                        </label>
                    </Show>
                    <label class="check">
                        <input type="checkbox" prop:checked=connect
                            on:change=move |e| connect.set(event_target_checked(&e)) />
                        "Connect (GATT: heart rate, body temperature, environmental sensing, battery)"
                    </label>
                </div>
                <div class="row-actions">
                    <button type="submit" class="chip-button primary" data-testid="save-ble">
                        {if draft.is_new { "Add" } else { "Save" }}
                    </button>
                    <button type="button" class="chip-button" on:click=move |_| editing.set(None)>"Cancel"</button>
                </div>
                {move || status().map(|(bad, m)| view! {
                    <p class:error=bad class:status=!bad role="status" data-testid="ble-status">{m}</p>
                })}
            </form>
        </section>
    }
}
