//! Upkeep: when each watched series is expected to reach its alert limit, soonest first, with
//! the interval and what the date rests on. Series with no trend say so instead of a date.

use crate::pages::dashboard::{error_view, poll};
use crate::{api, format, Page};
use leptos::prelude::*;
use std::time::Duration;
use telltale_model::alert::MaintenanceForecast;

const REFRESH: Duration = Duration::from_secs(30);
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
pub fn MaintenancePage() -> impl IntoView {
    let data = poll(REFRESH, api::maintenance);
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
    }
}

#[component]
fn ForecastRow(f: MaintenanceForecast) -> impl IntoView {
    let page = expect_context::<RwSignal<Page>>();
    let now = js_sys::Date::now() as i64;
    let when = match (f.eta_ms, f.low_ms, f.high_ms) {
        (Some(eta), _, _) if eta <= now => "at the limit now".to_owned(),
        (Some(_), Some(low), Some(high)) => format!("in {}–{}", days(now, low), days(now, high)),
        _ => "no date".to_owned(),
    };
    let dated = f.eta_ms.is_some();
    let id = f.device.clone();
    let unit = f.unit.clone().unwrap_or_default();
    view! {
        <li class="forecast-row" class:undated=!dated data-testid="forecast">
            <button class="forecast-open" on:click=move |_| page.set(Page::Device(id.clone()))>
                <span class="alert-name">{format!("{} · {}", f.device_name, format::metric_label(&f.metric))}</span>
                <span class="when">{when}</span>
            </button>
            <div class="detail">{format!(
                "reaches {} {} ({}) · {}",
                format::value(f.threshold),
                unit,
                f.rule,
                f.basis
            )}</div>
        </li>
    }
}
