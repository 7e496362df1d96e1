//! A comparison: up to four series from any devices and sources on one chart (a BLE
//! thermometer beside a Sparkplug vibration tag), each in its own colour with an axis per unit,
//! saved under a name as a view.

use super::dashboard::error_view;
use super::device::RANGES;
use crate::{api, chart, format, Page};
use leptos::prelude::*;
use leptos::task::spawn_local;
use telltale_chart::Compared;
use telltale_model::view::{
    ChartExport, ChartFormat, ChartView, SeriesRef, ViewRange, MAX_COMPARED,
};
use telltale_model::{ApiError, History};

/// While the compared series get new readings, the chart is asked for again at most this often
/// (four 1 Hz sensors must not cost four queries a second).
const LIVE_EVERY_MS: f64 = 5_000.0;

/// Every series the app knows, as "Device · Metric", for the picker.
fn known_series() -> Vec<(SeriesRef, String)> {
    known().into_iter().map(|k| (k.series, k.label)).collect()
}

/// A series the dashboard lists: what it is called, its device's name and its latest value.
struct Known {
    series: SeriesRef,
    label: String,
    device: String,
    latest: f64,
}

fn known() -> Vec<Known> {
    crate::live::Live::get().dashboard.with(|d| match d {
        Some(Ok(d)) => d
            .devices
            .iter()
            .chain(&d.historian)
            .flat_map(|s| {
                let name = if s.device.name.is_empty() {
                    s.device.id.0.clone()
                } else {
                    s.device.name.clone()
                };
                s.latest.iter().map(move |l| Known {
                    series: SeriesRef {
                        device: s.device.id.clone(),
                        metric: l.metric.clone(),
                    },
                    label: format!("{name} · {}", format::metric_label(&l.metric)),
                    device: name.clone(),
                    latest: l.value,
                })
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// What a series is called on the chart: its device's name and the metric, as people say them.
fn label_of(s: &SeriesRef) -> String {
    known_series()
        .into_iter()
        .find(|(k, _)| k == s)
        .map(|(_, label)| label)
        .unwrap_or_else(|| format!("{} · {}", s.device.0, format::metric_label(&s.metric)))
}

#[component]
pub fn ComparePage(start: ChartView) -> impl IntoView {
    let page = expect_context::<RwSignal<Page>>();
    let dashboard = crate::live::Live::get().dashboard;
    let series = RwSignal::new(start.series.clone());
    let range = RwSignal::new(start.range);
    let name = RwSignal::new(start.name.clone());
    // Each series' answer, in the order of `series` (a series that fails says so on its own).
    let histories = RwSignal::new(None::<Vec<Result<History, ApiError>>>);
    // What each series is called, in the order of `series`: for the legend, crosshair, tables.
    let labels = Memo::new(move |_| series.with(|s| s.iter().map(label_of).collect::<Vec<_>>()));
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let resized = RwSignal::new(0u32);
    let listener = window_event_listener(leptos::ev::resize, move |_| resized.update(|n| *n += 1));
    on_cleanup(move || listener.remove());

    // Numbered asks, as on a device's page: a slow answer never overwrites a newer one.
    let asked = StoredValue::new(0u64);
    let last_ask = StoredValue::new(f64::NEG_INFINITY);
    let ask = move || {
        let list = series.get_untracked();
        let (from_ms, to_ms) = range.get_untracked().bounds(js_sys::Date::now() as i64);
        let points = chart::points(canvas.get_untracked().as_ref());
        let number = asked.get_value() + 1;
        asked.set_value(number);
        last_ask.set_value(js_sys::Date::now());
        spawn_local(async move {
            let queries: Vec<_> = list
                .iter()
                .map(|s| s.query(from_ms, to_ms, points))
                .collect();
            let asks = queries.iter().map(api::history);
            // All at once: four series cost one round trip's wait, not four.
            let answers = futures::future::join_all(asks).await;
            if asked.try_get_value() == Some(number) {
                let _ = histories.try_set(Some(answers));
            }
        });
    };
    Effect::new(move |_| {
        series.track();
        range.track();
        ask();
    });
    // New readings of a compared series (pushed to the dashboard): ask again, throttled.
    let newest = Memo::new(move |_| {
        let list = series.get();
        dashboard.with(|d| match d {
            Some(Ok(d)) => d
                .devices
                .iter()
                .flat_map(|s| s.latest.iter().map(move |l| (&s.device.id, l)))
                .filter(|(id, l)| {
                    list.iter()
                        .any(|s| &s.device == *id && s.metric == l.metric)
                })
                .map(|(_, l)| l.ts_ms)
                .max(),
            _ => None,
        })
    });
    Effect::new(move |previous: Option<Option<i64>>| {
        let current = newest.get();
        let following = matches!(range.get_untracked(), ViewRange::Last { .. });
        if following
            && previous.is_some_and(|p| p != current)
            && js_sys::Date::now() - last_ask.get_value() >= LIVE_EVERY_MS
        {
            ask();
        }
        current
    });

    let drawn = RwSignal::new(None::<telltale_chart::Comparison>);

    // The crosshair: every series' reading nearest the pointer's time, each in its colour.
    let cursor = RwSignal::new(None::<i64>);
    let point_at = move |x: f64| {
        if let Some(c) = drawn.get_untracked() {
            cursor.set(Some(c.frame.time_at(x)));
        }
    };
    // Pan, pinch and wheel, as on a device's chart.
    let explore = crate::explore::Explore::new(
        Callback::new(move |()| range.get_untracked().bounds(js_sys::Date::now() as i64)),
        Callback::new(point_at),
    );
    // Drawn again when the wheel rests, if it was turning when the data came.
    let rested = RwSignal::new(0u32);
    Effect::new(move |_| {
        resized.track();
        rested.track();
        histories.track();
        let Some(el) = canvas.get() else { return };
        if explore.turning(Callback::new(move |()| rested.update(|n| *n += 1))) {
            return;
        }
        histories.with(|hs| {
            let Some(hs) = hs else { return };
            let labels = labels.get_untracked();
            let shown: Vec<Compared<'_>> = hs
                .iter()
                .zip(&labels)
                .filter_map(|(h, label)| {
                    h.as_ref().ok().map(|history| Compared {
                        label: label.as_str(),
                        history,
                    })
                })
                .collect();
            if shown.is_empty() {
                return;
            }
            match chart::draw_comparison(&el, &shown) {
                Ok(c) => {
                    drawn.set(Some(c));
                    explore.drawn();
                }
                Err(e) => leptos::logging::error!("comparison: {e}"),
            }
        });
    });
    let zoom = move |around: i64, factor: f64| {
        let window = range.get_untracked().bounds(js_sys::Date::now() as i64);
        let (from_ms, to_ms) = telltale_chart::zoom_window(window, around, factor);
        range.set(ViewRange::Between { from_ms, to_ms });
    };
    let on_up = move |_: leptos::ev::PointerEvent| {
        let frame = drawn.get_untracked().map(|c| c.frame);
        if let Some((from_ms, to_ms)) = explore.ended(frame.as_ref()) {
            range.set(ViewRange::Between { from_ms, to_ms });
        }
    };
    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        let Some(c) = drawn.get_untracked() else {
            return;
        };
        let (factor, x) = explore.wheel(&ev);
        zoom(c.frame.time_at(x), factor);
    };
    // Keyboard, as on a device's chart: ←/→ step the crosshair along the first series' readings
    // (Home/End jump), +/− zoom around it, 0 returns to the last 24 hours, Esc hides it.
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let key = ev.key();
        let (from, to) = range.get_untracked().bounds(js_sys::Date::now() as i64);
        match key.as_str() {
            "+" | "=" | "-" | "_" => {
                let around = cursor.get_untracked().unwrap_or((from + to) / 2);
                let factor = if matches!(key.as_str(), "+" | "=") {
                    0.8
                } else {
                    1.25
                };
                zoom(around, factor);
            }
            "0" => range.set(ViewRange::Last { ms: 86_400_000 }),
            "Escape" => cursor.set(None),
            "ArrowLeft" | "ArrowRight" | "Home" | "End" => {
                histories.with_untracked(|hs| {
                    let Some(Some(Ok(h))) = hs.as_ref().map(|hs| hs.first()) else {
                        return;
                    };
                    let Some(last) = h.buckets.len().checked_sub(1) else {
                        return;
                    };
                    let at = cursor
                        .get_untracked()
                        .and_then(|t| telltale_chart::nearest(&h.buckets, t));
                    let next = match (key.as_str(), at) {
                        ("Home", _) => 0,
                        ("End", _) | (_, None) => last,
                        ("ArrowLeft", Some(i)) => i.saturating_sub(1),
                        (_, Some(i)) => (i + 1).min(last),
                    };
                    cursor.set(Some(h.buckets[next].t));
                });
            }
            _ => return,
        }
        ev.prevent_default();
    };
    let readout = move || {
        let t = cursor.get()?;
        let c = drawn.get()?;
        let labels = labels.get();
        histories.with(|hs| {
            let hs = hs.as_ref()?;
            let style = chart::theme();
            let x = c.frame.x_of(t);
            let mut dots = Vec::new();
            let mut lines = Vec::new();
            for (i, (h, label)) in hs.iter().zip(&labels).enumerate() {
                let Ok(h) = h else { continue };
                let Some(j) = telltale_chart::nearest(&h.buckets, t) else {
                    continue;
                };
                let b = h.buckets[j];
                let colour = telltale_chart::series_colour(&style, i);
                let css = format!("rgb({}, {}, {})", colour.0, colour.1, colour.2);
                dots.push(view! {
                    <div class="crosshair-dot" aria-hidden="true"
                        style=format!("left: {:.1}px; top: {:.1}px; background: {css}", c.frame.x_of(b.t), c.y_of(i, b.mean))></div>
                });
                lines.push(view! {
                    <li><span class="swatch" style=format!("background: {css}")></span>
                        {format!("{label}: {} at {}", format::with_unit(b.mean, h.unit.as_deref()), format::when_now(b.t))}
                    </li>
                });
            }
            Some(view! {
                <div class="crosshair" aria-hidden="true" style=format!("left: {x:.1}px; top: {}px; height: {}px", c.frame.top, c.frame.bottom - c.frame.top)></div>
                {dots}
                <ul class="readout compare-readout" role="status" data-testid="compare-readout">{lines}</ul>
            })
        })
    };
    let spoken = move || {
        let labels = labels.get();
        histories.with(|hs| {
            hs.iter()
                .flatten()
                .zip(&labels)
                .map(|(h, label)| match h {
                    Ok(h) => format!("{label}: {}", telltale_chart::summary(h)),
                    Err(e) => format!("{label}: {}", e.message),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
    };

    // Adding and removing series.
    let pick = move |ev: leptos::ev::Event| {
        let i: usize = match event_target_value(&ev).parse() {
            Ok(i) => i,
            Err(_) => return,
        };
        if let Some((s, _)) = known_series().into_iter().nth(i) {
            series.update(|list| {
                if list.len() < MAX_COMPARED && !list.contains(&s) {
                    list.push(s);
                }
            });
        }
    };

    // "Alert me on…": the rule form on one of the compared series.
    let alert_me = crate::pages::rule_form::AlertMe::new();
    let alert_on = move |ev: leptos::ev::Event| {
        let Some(s) = event_target_value(&ev)
            .parse::<usize>()
            .ok()
            .and_then(|i| series.with_untracked(|l| l.get(i).cloned()))
        else {
            return;
        };
        let (device, latest) = known()
            .into_iter()
            .find(|k| k.series == s)
            .map_or((s.device.0.clone(), None), |k| (k.device, Some(k.latest)));
        alert_me.open(&device, &s.metric, latest);
    };

    // "Show as table": what the chart shows, series by series.
    let table = RwSignal::new(false);
    let tables = move || {
        let labels = labels.get();
        histories.with(|hs| {
            hs.iter()
                .flatten()
                .zip(labels)
                .filter_map(|(h, label)| {
                    h.as_ref().ok().map(|h| {
                        view! {
                            <h3 class="table-title">{label}</h3>
                            <super::device::HistoryTable h=h.clone() />
                        }
                    })
                })
                .collect_view()
        })
    };

    // Saved views, and pictures of the comparison as drawn.
    let status = RwSignal::new(None::<String>);
    let export_picture = crate::export::exporter(
        status,
        |r| format!("Saved a chart of {} readings to {}", r.rows, r.path),
        |request: &ChartExport| {
            let request = request.clone();
            async move { api::export_chart(&request).await }
        },
    );
    let on_picture = move |format: ChartFormat| {
        let (Some(el), Some(c)) = (canvas.get_untracked(), drawn.get_untracked()) else {
            return;
        };
        let list = series.get_untracked();
        if list.is_empty() {
            return;
        }
        let window = (c.frame.from_ms, c.frame.to_ms);
        export_picture(crate::export::picture_of(&el, list, window, format));
    };
    let views = LocalResource::new(api::chart_views);
    let save = move |_| {
        let view = ChartView {
            name: name.get_untracked().trim().to_owned(),
            series: series.get_untracked(),
            range: range.get_untracked(),
        };
        spawn_local(async move {
            let said = match api::save_chart_view(&view).await {
                Ok(()) => {
                    views.refetch();
                    format!("Saved as “{}”.", view.name)
                }
                Err(e) => format!("Not saved: {}", e.message),
            };
            let _ = status.try_set(Some(said));
        });
    };
    let delete = move |view_name: String| {
        spawn_local(async move {
            let said = match api::delete_chart_view(&view_name).await {
                Ok(()) => {
                    views.refetch();
                    format!("“{view_name}” deleted.")
                }
                Err(e) => format!("Not deleted: {}", e.message),
            };
            let _ = status.try_set(Some(said));
        });
    };

    view! {
        <nav class="crumbs">
            <button class="back" on:click=move |_| page.set(Page::Dashboard)>"← All devices"</button>
        </nav>
        <h1 class="page-title">"Compare"</h1>
        <div class="compared" data-testid="compared">
            {move || {
                let style = chart::theme();
                series.get().into_iter().enumerate().map(|(i, s)| {
                    let colour = telltale_chart::series_colour(&style, i);
                    let label = label_of(&s);
                    let gone = s.clone();
                    view! {
                        <span class="chip compared-series" data-testid="compared-series">
                            <span class="swatch" style=format!("background: rgb({}, {}, {})", colour.0, colour.1, colour.2)></span>
                            {label.clone()}
                            <button class="remove" aria-label=format!("Remove {label}")
                                on:click=move |_| series.update(|l| l.retain(|x| *x != gone))>"×"</button>
                        </span>
                    }
                }).collect_view()
            }}
            // Made anew with each change of the series, so it shows its placeholder again.
            {move || (series.with(|s| s.len() < MAX_COMPARED)).then(|| view! {
                <label class="add-series">
                    <span class="sr-only">"Add a series"</span>
                    <select data-testid="add-series" on:change=pick prop:value="">
                        <option value="" selected=true>"Add a series…"</option>
                        {move || {
                            let on = series.get();
                            known_series().into_iter().enumerate().filter(|(_, (s, _))| !on.contains(s))
                                .map(|(i, (_, label))| view! { <option value=i.to_string()>{label}</option> })
                                .collect_view()
                        }}
                    </select>
                </label>
            })}
        </div>
        <div class="ranges" role="group" aria-label="Time range">
            {RANGES.into_iter().map(|(label, key, len)| view! {
                <button class="chip-button" data-range=key
                    class:selected=move || range.get() == ViewRange::Last { ms: len }
                    on:click=move |_| range.set(ViewRange::Last { ms: len })>{label}</button>
            }).collect_view()}
        </div>
        <div class="chart-box">
            <canvas id="compare-chart" data-testid="compare-chart" node_ref=canvas tabindex="0" role="img"
                aria-label=spoken
                style=move || explore.preview.get()
                on:pointermove=move |ev| explore.moved(&ev)
                on:pointerdown=move |ev| explore.down(&ev)
                on:pointerup=on_up
                on:pointercancel=move |_| { explore.ended(None); }
                on:pointerleave=move |ev: leptos::ev::PointerEvent| {
                    // A finger lifted keeps its reading on screen; a mouse that leaves hides it.
                    if ev.pointer_type() == "mouse" {
                        cursor.set(None);
                    }
                    on_up(ev);
                }
                on:wheel=on_wheel
                on:dblclick=move |_| range.set(ViewRange::Last { ms: 86_400_000 })
                on:keydown=on_key></canvas>
            {readout}
        </div>
        <p class="sr-only" data-testid="compare-summary">{spoken}</p>
        // The series may come from different resolutions (one keeps raw readings longer).
        <p class="fine-print" data-testid="compare-resolution">{move || {
            let labels = labels.get();
            let each = histories.with(|hs| {
                hs.iter()
                    .flatten()
                    .zip(&labels)
                    .filter_map(|(h, label)| h.as_ref().ok().map(|h| (format::resolution(h), label)))
                    .filter(|(r, _)| !r.is_empty())
                    .map(|(r, label)| format!("{label} {}", r.trim_start_matches("Each point: ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            });
            if each.is_empty() { each } else { format!("Each point: {each}") }
        }}</p>
        {move || histories.with(|hs| {
            hs.iter().flatten().find_map(|h| h.as_ref().err().cloned()).map(error_view)
        })}
        <div class="row-actions">
            <button class="chip-button" data-testid="compare-table" aria-pressed=move || table.get().to_string()
                on:click=move |_| table.update(|t| *t = !*t)>
                {move || if table.get() { "Hide table" } else { "Show as table" }}
            </button>
            // Made anew as the form opens and closes, so it shows its placeholder again.
            {move || {
                let _open = alert_me.is_open();
                let list = labels.get();
                (!list.is_empty()).then(|| view! {
                    <label class="alert-on">
                        <span class="sr-only">"Alert me on a series"</span>
                        <select data-testid="compare-alert" on:change=alert_on prop:value="">
                            <option value="" selected=true>"Alert me on…"</option>
                            {list.into_iter().enumerate()
                                .map(|(i, label)| view! { <option value=i.to_string()>{label}</option> })
                                .collect_view()}
                        </select>
                    </label>
                })
            }}
        </div>
        {alert_me.view()}
        {move || table.get().then(tables)}
        <div class="save-view">
            <label>"Name "
                <input type="text" data-testid="view-name" maxlength="80" prop:value=name
                    on:input=move |ev| name.set(event_target_value(&ev)) />
            </label>
            <button class="chip-button" data-testid="save-view" on:click=save>"Save view"</button>
            <button class="chip-button" data-testid="compare-png" on:click=move |_| on_picture(ChartFormat::Png)>"PNG"</button>
            <button class="chip-button" data-testid="compare-svg" on:click=move |_| on_picture(ChartFormat::Svg)>"SVG"</button>
            <p class="status" role="status" data-testid="view-status">{move || status.get()}</p>
        </div>
        <section class="saved-views">
            <h2>"Saved views"</h2>
            {move || views.get().map(|v| match v {
                Ok(list) if list.is_empty() => view! { <p class="hint">"None yet."</p> }.into_any(),
                Ok(list) => view! {
                    <ul class="view-list">
                        {list.into_iter().map(|v| {
                            let open = v.clone();
                            let gone = v.name.clone();
                            view! {
                                <li data-testid="saved-view">
                                    <button class="link" on:click=move |_| page.set(Page::Compare(open.clone()))>{v.name.clone()}</button>
                                    <span class="hint">{format!(" {} series", v.series.len())}</span>
                                    <button class="chip-button" aria-label=format!("Delete {}", v.name)
                                        on:click=move |_| delete(gone.clone())>"Delete"</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
                Err(e) => error_view(e).into_any(),
            })}
        </section>
    }
}
