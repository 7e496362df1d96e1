//! A device's page: its values and a chart of one metric's history.

use super::dashboard::{error_view, poll};
use crate::{api, chart, format, Page};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;
use telltale_model::{DeviceId, DeviceSummary, HistoryQuery, MAX_POINTS};

/// Range presets, in minutes. Longer ranges come with the store's rollups.
const RANGES: [(&str, i64); 4] = [
    ("10 min", 10),
    ("1 h", 60),
    ("24 h", 1_440),
    ("7 d", 10_080),
];

#[component]
pub fn DevicePage(id: DeviceId) -> impl IntoView {
    let page = expect_context::<RwSignal<Page>>();
    let dashboard = poll(Duration::from_secs(2), api::dashboard);
    let summary = {
        let id = id.clone();
        Memo::new(move |_| {
            dashboard.with(|d| match d {
                Some(Ok(d)) => d.devices.iter().find(|s| s.device.id == id).cloned(),
                _ => None,
            })
        })
    };
    let metric = RwSignal::new(None::<String>);
    let range_min = RwSignal::new(10i64);
    let history = RwSignal::new(None);
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    // Window resizes and rotations redraw the chart at the new width.
    let resized = RwSignal::new(0u32);
    let listener = window_event_listener(leptos::ev::resize, move |_| resized.update(|n| *n += 1));
    on_cleanup(move || listener.remove());

    // Pick the first displayable metric once the device's metrics are known.
    Effect::new(move |_| {
        if metric.with_untracked(Option::is_none) {
            if let Some(s) = summary.get() {
                let first = s
                    .latest
                    .iter()
                    .find(|v| !format::is_diagnostic(&v.metric))
                    .or(s.latest.first())
                    .map(|v| v.metric.clone());
                metric.set(first);
            }
        }
    });

    // Re-query whenever the dashboard refreshes (every 2 s) or the selection changes.
    let query_id = id.clone();
    Effect::new(move |_| {
        dashboard.track();
        let (Some(m), minutes) = (metric.get(), range_min.get()) else {
            return;
        };
        let now = js_sys::Date::now() as i64;
        let query = HistoryQuery {
            device: query_id.clone(),
            metric: m,
            from_ms: now - minutes * 60_000,
            to_ms: now + 1,
            points: 600.min(MAX_POINTS),
        };
        spawn_local(async move {
            let _ = history.try_set(Some(api::history(&query).await));
        });
    });

    Effect::new(move |_| {
        resized.track();
        let Some(el) = canvas.get() else { return };
        history.with(|h| {
            if let Some(Ok(h)) = h {
                if let Err(e) = chart::draw(&el, h) {
                    leptos::logging::error!("chart: {e}");
                }
            }
        });
    });

    view! {
        <nav class="crumbs">
            <button class="back" on:click=move |_| page.set(Page::Dashboard)>"← All devices"</button>
        </nav>
        {move || summary.with(Option::is_none).then(|| view! { <p class="placeholder">"Loading…"</p> })}
        <DeviceHeader summary=summary metric=metric />
        <div class="ranges" role="group" aria-label="Time range">
            {RANGES
                .into_iter()
                .map(|(label, minutes)| {
                    view! {
                        <button
                            class="chip-button"
                            class:selected=move || range_min.get() == minutes
                            on:click=move |_| range_min.set(minutes)
                        >
                            {label}
                        </button>
                    }
                })
                .collect_view()}
        </div>
        <div class="chart-box">
            <canvas id="history-chart" data-testid="chart" node_ref=canvas></canvas>
        </div>
        {move || match history.get() {
            Some(Err(e)) => Some(error_view(e)),
            _ => None,
        }}
    }
}

/// Name, description and one chip per metric. Chips are keyed by metric and update in place, so
/// a tap is never lost to a refresh.
#[component]
fn DeviceHeader(
    summary: Memo<Option<DeviceSummary>>,
    metric: RwSignal<Option<String>>,
) -> impl IntoView {
    let name = move || {
        summary.with(|s| {
            s.as_ref()
                .map(|s| s.device.name.clone())
                .unwrap_or_default()
        })
    };
    let sub = move || {
        summary.with(|s| {
            s.as_ref()
                .map(|s| {
                    format!(
                        "{} · {} · {}",
                        s.device.kind.replace('_', " "),
                        s.device.transport.as_str().to_uppercase(),
                        s.device.id
                    )
                })
                .unwrap_or_default()
        })
    };
    let metrics = move || {
        summary.with(|s| {
            s.iter()
                .flat_map(|s| s.latest.iter())
                .map(|v| v.metric.clone())
                .collect::<Vec<_>>()
        })
    };
    view! {
        <header class="device-head">
            <h1 data-testid="device-name">{name}</h1>
            <p class="sub">{sub}</p>
        </header>
        <div class="metric-chips">
            <For each=metrics key=|m| m.clone() let:m>
                <MetricChip name=m summary=summary metric=metric />
            </For>
        </div>
    }
}

#[component]
fn MetricChip(
    name: String,
    summary: Memo<Option<DeviceSummary>>,
    metric: RwSignal<Option<String>>,
) -> impl IntoView {
    let value = {
        let name = name.clone();
        move || {
            summary.with(|s| {
                s.iter()
                    .flat_map(|s| s.latest.iter())
                    .find(|v| v.metric == name)
                    .map(|v| format::with_unit(v.value, v.unit.as_deref()))
                    .unwrap_or_default()
            })
        }
    };
    let selected = name.clone();
    let label = format::metric_label(&name);
    view! {
        <button
            class="metric-chip"
            class:selected=move || metric.get().as_deref() == Some(selected.as_str())
            data-testid="metric"
            data-metric=name.clone()
            on:click=move |_| metric.set(Some(name.clone()))
        >
            <span class="metric">{label}</span>
            <span class="value">{value}</span>
        </button>
    }
}
