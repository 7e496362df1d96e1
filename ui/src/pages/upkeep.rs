//! Upkeep: when each watched series is expected to reach its alert limit, soonest first, with
//! the interval and what the date rests on. Series with no trend say so instead of a date.
//! Below, the service plans: runtime counters counted from the data, "mark serviced", and a
//! form to add one.

use crate::live::{Live, Upkeep};
use crate::pages::dashboard::error_view;
use crate::{api, format, Page};
use leptos::prelude::*;
use leptos::task::spawn_local;
use telltale_model::alert::Forecast;
use telltale_model::upkeep::{FleetRul, ServicePlan, ServiceStatus};
use telltale_model::{ApiError, DeviceId, LiveTopic};
const DAY_MS: f64 = 86_400_000.0;

fn days(from: i64, to: i64) -> String {
    let d = (to - from) as f64 / DAY_MS;
    if d < 1.0 {
        format!("{:.0} h", (d * 24.0).max(0.0))
    } else {
        format!("{d:.0} days")
    }
}

#[component]
pub fn UpkeepPage() -> impl IntoView {
    // Forecasts and plans as the engine's upkeep pass pushes them (every minute, and at
    // once after a change of rules or plans).
    let live = Live::get();
    // Pushed at once on watching, while the alert engine runs; without it, read once. The
    // answer seeds the app-wide live store, not this page, so it is a task, not a resource.
    live.watch(LiveTopic::Upkeep, move || {
        spawn_local(async move {
            if let (Ok(forecasts), Ok(plans)) = (api::forecasts().await, api::service_plans().await)
            {
                let _ = live.upkeep.try_set(Some(Upkeep { forecasts, plans }));
            }
        })
    });
    let data = Memo::new(move |_| {
        live.upkeep
            .with(|u| u.as_ref().map(|u| Ok::<_, ApiError>(u.forecasts.clone())))
    });
    view! {
        <h1 class="page-title">"Upkeep"</h1>
        <p class="detail intro">
            "When each series is expected to reach its alert limit, from its trend over the last 30 days."
        </p>
        {move || match data.get() {
            None => view! { <p class="placeholder">"Computing forecasts…"</p> }.into_any(),
            Some(Err(e)) => error_view(e).into_any(),
            Some(Ok(list)) if list.is_empty() => view! {
                <p class="placeholder" data-testid="no-forecasts">
                    "Nothing to forecast: no series is watched by a high or low alert limit."
                </p>
            }.into_any(),
            Some(Ok(list)) => view! {
                <ul class="forecast-list">
                    {list.into_iter().map(|f| view! { <ForecastRow f=f /> }).collect_view()}
                </ul>
            }.into_any(),
        }}
        <ServicePlans />
        <FleetRemainingLife />
    }
}

/// A history file the user picked: its name and text.
type Picked = Option<(String, String)>;

/// Remaining life of a fleet's running units from its failed units' run-to-failure histories,
/// from files the user picks (the model `telltale forecast rul` runs, here on the device).
#[component]
fn FleetRemainingLife() -> impl IntoView {
    let failed = RwSignal::new(None::<(String, String)>);
    let running = RwSignal::new(None::<(String, String)>);
    let result = RwSignal::new(None::<Result<FleetRul, String>>);
    let estimate = Action::new_local(|(failed, running): &(String, String)| {
        let (failed, running) = (failed.clone(), running.clone());
        async move {
            api::fleet_rul(&failed, &running)
                .await
                .map_err(|e| e.message)
        }
    });
    let estimated = estimate.value();
    Effect::new(move |_| {
        if let Some(out) = estimated.get() {
            result.set(Some(out));
        }
    });
    let busy = estimate.pending();
    let pick = move |target: RwSignal<Picked>| {
        move |ev: leptos::ev::Event| {
            let input: web_sys::HtmlInputElement = event_target(&ev);
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                target.set(None);
                return;
            };
            let name = file.name();
            spawn_local(async move {
                match wasm_bindgen_futures::JsFuture::from(file.text()).await {
                    Ok(text) => {
                        let _ = target.try_set(Some((name, text.as_string().unwrap_or_default())));
                    }
                    Err(_) => {
                        let _ = result.try_set(Some(Err(format!("{name} could not be read"))));
                    }
                }
            });
        }
    };
    let on_estimate = move |_| {
        if let (Some((_, f)), Some((_, r))) = (failed.get_untracked(), running.get_untracked()) {
            estimate.dispatch_local((f, r));
        }
    };
    view! {
        <section class="panel" data-testid="fleet-rul">
            <h2>"Fleet remaining life"</h2>
            <p class="detail">
                "How many cycles each running unit of one kind has left, learnt from the \
                 run-to-failure histories of units that failed. Files in the C-MAPSS layout \
                 (asset cycle setting1..3 sensor1..21, one row per cycle), as \
                 telltale forecast rul reads them; nothing leaves this device."
            </p>
            <div class="fields">
                <label>"Failed units' histories"
                    <input type="file" accept=".txt,.csv,text/plain" data-testid="fleet-failed"
                        on:change=pick(failed) />
                </label>
                <label>"Running units' histories"
                    <input type="file" accept=".txt,.csv,text/plain" data-testid="fleet-running"
                        on:change=pick(running) />
                </label>
            </div>
            <div class="row-actions">
                <button class="chip-button primary" data-testid="fleet-estimate"
                    disabled=move || busy.get() || failed.get().is_none() || running.get().is_none()
                    on:click=on_estimate>
                    {move || if busy.get() { "Estimating…" } else { "Estimate" }}
                </button>
            </div>
            {move || result.get().map(|r| match r {
                Err(message) => view! {
                    <p class="error" data-testid="fleet-error">{message}</p>
                }.into_any(),
                Ok(fleet) => fleet_view(fleet).into_any(),
            })}
        </section>
    }
}

fn fleet_view(fleet: FleetRul) -> impl IntoView {
    let sensors = fleet
        .sensors
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let cap = fleet.cap;
    view! {
        <p class="detail" data-testid="fleet-basis">
            {format!(
                "Learnt from {} failed units; health index from sensors {sensors}. Soonest first; \
                 \"{cap:.0}+\" means at least that many.",
                fleet.failed_units
            )}
        </p>
        <ul class="forecast-list">
            {fleet.estimates.into_iter().map(|e| {
                let left = if e.rul >= cap {
                    format!("{cap:.0}+ cycles left")
                } else {
                    format!("{:.0} cycles left", e.rul)
                };
                view! {
                    <li class="forecast" data-testid="fleet-row">
                        <div class="ble-name">{format!("Unit {}", e.asset)}</div>
                        <div>{left}</div>
                        <div class="detail">
                            {format!(
                                "80 %: {:.0}–{:.0} cycles · {} cycles reported",
                                e.low, e.high, e.cycles
                            )}
                        </div>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// "2.4 h", "-0.5 h" (overdue).
fn hours(h: f64) -> String {
    format!("{h:.1} h")
}

/// A change to the service plans: (answered with) is an error, message.
type PlanAction<I> = Action<I, (bool, String)>;

/// What a plan's row does to it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PlanAct {
    Serviced,
    Removed,
}

#[component]
fn ServicePlans() -> impl IntoView {
    let live = Live::get();
    let plans = RwSignal::new(None::<Result<Vec<ServiceStatus>, ApiError>>);
    // Each upkeep pass's plans as it is pushed.
    Effect::new(move |_| {
        if let Some(u) = live.upkeep.get() {
            plans.set(Some(Ok(u.plans)));
        }
    });
    // The changes this section makes: one action each for the page, so an answer outlives the
    // row it came from (rows are drawn again with every pass).
    let act: PlanAction<(PlanAct, String)> = Action::new_local(|(what, id): &(PlanAct, String)| {
        let (what, id) = (*what, id.clone());
        async move {
            let (result, word) = match what {
                PlanAct::Serviced => (api::mark_serviced(&id).await, "serviced"),
                PlanAct::Removed => (api::delete_service_plan(&id).await, "removed"),
            };
            match result {
                Ok(()) => (false, format!("{id}: {word}.")),
                Err(e) => (true, e.message),
            }
        }
    });
    let save: PlanAction<Result<ServicePlan, String>> =
        Action::new_local(|plan: &Result<ServicePlan, String>| {
            let plan = plan.clone();
            async move {
                let result = match plan {
                    Ok(plan) => api::save_service_plan(&plan).await.map_err(|e| e.message),
                    Err(e) => Err(e),
                };
                match result {
                    Ok(()) => (false, "Plan saved.".to_owned()),
                    Err(e) => (true, e),
                }
            }
        });
    let message = RwSignal::new(None::<(bool, String)>);
    let (acted, saved) = (act.value(), save.value());
    let changes = (act.version(), save.version());
    Effect::new(move |_| {
        if let Some(said) = acted.get() {
            message.set(Some(said));
        }
    });
    Effect::new(move |_| {
        if let Some(said) = saved.get() {
            message.set(Some(said));
        }
    });
    // After a change of ours, read at once rather than wait for the pass it wakes: whichever
    // of this read and a pushed pass comes last is shown.
    let reread = LocalResource::new(move || {
        let changes = changes.0.get() + changes.1.get();
        async move {
            if changes == 0 {
                None
            } else {
                Some(api::service_plans().await)
            }
        }
    });
    Effect::new(move |_| {
        if let Some(Some(read)) = reread.get() {
            plans.set(Some(read));
        }
    });
    view! {
        <section class="panel" data-testid="service-plans">
            <h2>"Service plans"</h2>
            <p class="detail">
                "Operating hours and starts counted from the readings since the last service; gaps in the data never count as running."
            </p>
            {move || message.get().map(|(bad, m)| view! {
                <p class:error=bad class:status=!bad role="status">{m}</p>
            })}
            {move || match plans.get() {
                None => view! { <p class="placeholder">"Counting…"</p> }.into_any(),
                Some(Err(e)) => error_view(e).into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <p class="placeholder">"No service plans yet."</p>
                }.into_any(),
                Some(Ok(list)) => view! {
                    <ul class="forecast-list">
                        {list.into_iter().map(|s| view! { <PlanRow s=s act=act /> }).collect_view()}
                    </ul>
                }.into_any(),
            }}
            <PlanForm save=save />
        </section>
    }
}

#[component]
fn PlanRow(s: ServiceStatus, act: PlanAction<(PlanAct, String)>) -> impl IntoView {
    let now = js_sys::Date::now() as i64;
    let left = [
        s.hours_left.map(|h| {
            if h <= 0.0 {
                format!("{} overdue", hours(-h))
            } else {
                format!("due in {}", hours(h))
            }
        }),
        s.cycles_left.map(|c| {
            if c <= 0 {
                format!("{} starts overdue", -c)
            } else {
                format!("due in {c} starts")
            }
        }),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" or ");
    let when = match s.due_ms {
        Some(t) if t <= now => "due now".to_owned(),
        Some(t) => format!(
            "around {} ({})",
            format::when(t, now),
            format::relative(t, now)
        ),
        None => "no date".to_owned(),
    };
    let last = s
        .history
        .first()
        .map(|r| format!(" · last serviced {} by {}", format::when_now(r.ts_ms), r.by))
        .unwrap_or_default();
    let act = move |what: PlanAct, id: String| {
        act.dispatch_local((what, id));
    };
    let (id_a, id_b) = (s.plan.id.clone(), s.plan.id.clone());
    view! {
        <li class="forecast-row" class:undated=s.due_ms.is_none() data-testid="service-plan">
            <div class="alert-head">
                <span class="alert-name">{format!("{} · {} ({})", s.device_name, s.plan.id, format::metric_label(&s.plan.metric))}</span>
                <span class="when">{when}</span>
            </div>
            <div class="detail">{format!(
                "{} · {} and {} starts since {}{} · {}",
                left,
                hours(s.hours),
                s.cycles,
                format::when_now(s.since_ms),
                last,
                s.basis
            )}</div>
            <div class="row-actions">
                <button class="chip-button primary" data-testid="mark-serviced"
                    on:click=move |_| act(PlanAct::Serviced, id_a.clone())>"Mark serviced"</button>
                <button class="chip-button" on:click=move |_| act(PlanAct::Removed, id_b.clone())>"Remove"</button>
            </div>
        </li>
    }
}

#[component]
fn PlanForm(save: PlanAction<Result<ServicePlan, String>>) -> impl IntoView {
    let devices = crate::live::Live::get().dashboard;
    let id = RwSignal::new(String::new());
    let device = RwSignal::new(String::new());
    let metric = RwSignal::new(String::new());
    let on_above = RwSignal::new("0.5".to_owned());
    let every_hours = RwSignal::new(String::new());
    let every_cycles = RwSignal::new(String::new());
    let number = |text: String| -> Result<Option<f64>, String> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        t.parse::<f64>()
            .map(Some)
            .map_err(|_| format!("\"{t}\" is not a number"))
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let plan = (|| -> Result<ServicePlan, String> {
            Ok(ServicePlan {
                id: id.get_untracked().trim().to_owned(),
                device: DeviceId::new(device.get_untracked()),
                metric: metric.get_untracked().trim().to_owned(),
                on_above: number(on_above.get_untracked())?.unwrap_or(0.0),
                every_hours: number(every_hours.get_untracked())?,
                every_cycles: match number(every_cycles.get_untracked())? {
                    Some(c) if c >= 0.0 && c.fract() == 0.0 => Some(c as u64),
                    Some(_) => return Err("starts must be a whole number".into()),
                    None => None,
                },
            })
        })();
        // A plan that does not parse is said so like a refused one.
        save.dispatch_local(plan);
    };
    view! {
        <form class="broker-form" data-testid="plan-form" on:submit=submit>
            <h3>"Add or change a plan"</h3>
            <div class="fields">
                <label>"Name (id)"
                    <input required prop:value=id on:input=move |e| id.set(event_target_value(&e)) />
                </label>
                <label>"Device"
                    <select required prop:value=device on:change=move |e| device.set(event_target_value(&e))>
                        <option value="">"choose…"</option>
                        {move || devices.get().and_then(Result::ok).map(|d| d.devices.into_iter().map(|s| {
                            let value = s.device.id.as_str().to_owned();
                            let label = if s.device.name.is_empty() { value.clone() } else { s.device.name.clone() };
                            view! { <option value=value>{label}</option> }
                        }).collect_view())}
                    </select>
                </label>
                <label>"Metric (e.g. current, running)"
                    <input required prop:value=metric on:input=move |e| metric.set(event_target_value(&e)) />
                </label>
                <label>"Operating while above"
                    <input inputmode="decimal" prop:value=on_above on:input=move |e| on_above.set(event_target_value(&e)) />
                </label>
                <label>"Service every … operating hours"
                    <input inputmode="decimal" prop:value=every_hours on:input=move |e| every_hours.set(event_target_value(&e)) />
                </label>
                <label>"… or every … starts"
                    <input inputmode="numeric" prop:value=every_cycles on:input=move |e| every_cycles.set(event_target_value(&e)) />
                </label>
            </div>
            <div class="row-actions">
                <button class="chip-button primary" type="submit">"Save plan"</button>
            </div>
        </form>
    }
}

#[component]
fn ForecastRow(f: Forecast) -> impl IntoView {
    let page = expect_context::<RwSignal<Page>>();
    let now = js_sys::Date::now() as i64;
    let when = match (f.eta_ms, f.low_ms, f.high_ms) {
        (Some(eta), _, _) if eta <= now => "at the limit now".to_owned(),
        (Some(_), Some(low), Some(high)) => format!("in {}–{}", days(now, low), days(now, high)),
        _ => "no date".to_owned(),
    };
    let dated = f.eta_ms.is_some();
    let id = f.device.clone();
    view! {
        <li class="forecast-row" class:undated=!dated data-testid="forecast">
            <button class="forecast-open" on:click=move |_| page.set(Page::Device(id.clone()))>
                <span class="alert-name">{format!("{} · {}", f.device_name, format::metric_label(&f.metric))}</span>
                <span class="when">{when}</span>
            </button>
            <div class="detail">{format!(
                "reaches {} ({}) · {}",
                format::with_unit(f.threshold, f.unit.as_deref()),
                f.rule,
                f.basis
            )}</div>
        </li>
    }
}
