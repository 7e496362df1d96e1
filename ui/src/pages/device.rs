//! A device's page: its values, how fresh they are, and a chart of one metric's history over a
//! chosen range, with CSV and picture exports and the series' retention.

use super::dashboard::error_view;
use crate::{api, chart, export, format, Page};
use leptos::prelude::*;
use leptos::task::spawn_local;
use telltale_model::view::{ChartExport, ChartFormat, ChartView, SeriesRef, ViewRange};
use telltale_model::{
    ApiError, DeviceId, DeviceSummary, ExportRequest, Freshness, History, HistoryQuery,
    RetentionSetting, KEEP_FOREVER,
};

const MINUTE: i64 = 60_000;

/// While new readings of the charted series are pushed, the chart is asked for again at most
/// this often (a 1 Hz sensor must not cost two queries a second).
const LIVE_CHART_EVERY_MS: f64 = 2_000.0;
const DAY: i64 = 1_440 * MINUTE;

/// Range presets: (label, test id, length).
pub(crate) const RANGES: [(&str, &str, i64); 6] = [
    ("10 min", "10m", 10 * MINUTE),
    ("1 h", "1h", 60 * MINUTE),
    ("24 h", "24h", DAY),
    ("7 d", "7d", 7 * DAY),
    ("30 d", "30d", 30 * DAY),
    ("1 y", "1y", 365 * DAY),
];

/// Raw-retention choices: (label, setting).
const KEEP_RAW: [(&str, Option<i64>); 4] = [
    ("30 days (default)", None),
    ("7 days", Some(7 * DAY)),
    ("1 year", Some(365 * DAY)),
    ("forever", Some(KEEP_FOREVER)),
];

/// What the chart shows: the last so-many ms (following the clock), or a fixed window.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Range {
    Last(i64),
    Between(i64, i64),
}

impl Range {
    fn bounds(self, now: i64) -> (i64, i64) {
        match self {
            Range::Last(len) => (now - len, now + 1),
            Range::Between(from, to) => (from, to),
        }
    }
}

#[component]
pub fn DevicePage(id: DeviceId) -> impl IntoView {
    let page = expect_context::<RwSignal<Page>>();
    let dashboard = crate::live::Live::get().dashboard;
    let summary = {
        let id = id.clone();
        Memo::new(move |_| {
            dashboard.with(|d| match d {
                // A device of another site is known from the plant historian only.
                Some(Ok(d)) => d
                    .devices
                    .iter()
                    .chain(&d.historian)
                    .find(|s| s.device.id == id)
                    .cloned(),
                _ => None,
            })
        })
    };
    let now = Memo::new(move |_| {
        dashboard.with(|d| match d {
            Some(Ok(d)) => d.now_ms,
            _ => js_sys::Date::now() as i64,
        })
    });
    let metric = RwSignal::new(None::<String>);
    let range = RwSignal::new(Range::Last(60 * MINUTE));
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

    let overlay = RwSignal::new(telltale_model::alert::SeriesAlerts::default());
    // Asks for the chart's history and overlay with the selection as it is now. Each ask is
    // numbered: a slow answer to an earlier one (another range, another metric) never
    // overwrites a newer one.
    //
    // Deliberately not a `LocalResource`: a resource (leptos 0.8) runs its fetches one after
    // another and commits each run's answer before starting the next, so a zoom or pan during a
    // slow ask would wait for it and then draw the window already left behind. Here every ask
    // goes out at once, superseded answers are dropped unseen, and the throttled live refresh
    // below decides itself when to ask.
    let asked = StoredValue::new(0u64);
    let last_ask = StoredValue::new(f64::NEG_INFINITY);
    // When the latest ask went out (`performance.now()`): the chart says how long it took to be
    // drawn, query + IPC + draw, for anyone measuring (the e2e prints it).
    let asked_at = StoredValue::new(0.0f64);
    let answered_at = StoredValue::new(0.0f64);
    let query_id = id.clone();
    let ask = move || {
        let Some(m) = metric.get_untracked() else {
            return;
        };
        let (from_ms, to_ms) = range.get_untracked().bounds(js_sys::Date::now() as i64);
        let query = HistoryQuery {
            device: query_id.clone(),
            metric: m,
            from_ms,
            to_ms,
            points: chart::points(canvas.get_untracked().as_ref()),
        };
        let number = asked.get_value() + 1;
        asked.set_value(number);
        last_ask.set_value(js_sys::Date::now());
        asked_at.set_value(crate::explore::now());
        spawn_local(async move {
            // Limits and alert periods are drawn with the history; without them the chart
            // still draws (an alert engine that is down must not hide the data).
            // Both asked at once: one round trip's wait, not two.
            let (alerts, result) = futures::join!(api::series_alerts(&query), api::history(&query));
            let alerts = alerts.unwrap_or_default();
            if asked.try_get_value() != Some(number) {
                return;
            }
            answered_at.set_value(crate::explore::now());
            let _ = overlay.try_set(alerts);
            let _ = history.try_set(Some(result));
        });
    };
    let ask = StoredValue::new(ask);
    // A new selection: ask at once.
    Effect::new(move |_| {
        metric.track();
        range.track();
        ask.with_value(|ask| ask());
    });
    // A reading of this series was pushed (the live dashboard's newest value for it moved): ask
    // again, at most every LIVE_CHART_EVERY_MS, with a trailing ask so the last one is drawn.
    let newest = Memo::new(move |_| {
        let m = metric.get()?;
        summary.with(|s| {
            s.as_ref()?
                .latest
                .iter()
                .find(|v| v.metric == m)
                .map(|v| v.ts_ms)
        })
    });
    let trailing = StoredValue::new(false);
    Effect::new(move |previous: Option<Option<i64>>| {
        let current = newest.get();
        if previous.is_some() && previous != Some(current) && !trailing.get_value() {
            let wait = last_ask.get_value() + LIVE_CHART_EVERY_MS - js_sys::Date::now();
            if wait <= 0.0 {
                ask.with_value(|ask| ask());
            } else {
                trailing.set_value(true);
                set_timeout(
                    move || {
                        // None: set, so the page is still open.
                        if trailing.try_set_value(false).is_none() {
                            ask.with_value(|ask| ask());
                        }
                    },
                    std::time::Duration::from_millis(wait as u64),
                );
            }
        }
        current
    });

    // Where the last drawing put the data: the crosshair maps pointer and cursor through it.
    let frame = RwSignal::new(None::<telltale_chart::Frame>);
    // The crosshair's time: it snaps to the nearest point of whatever is drawn, so a chart that
    // refreshes under it keeps pointing at the same moment.
    let cursor = RwSignal::new(None::<i64>);
    let snapped = Memo::new(move |_| {
        let t = cursor.get()?;
        history.with(|h| {
            let h = h.as_ref()?.as_ref().ok()?;
            let i = telltale_chart::nearest(&h.buckets, t)?;
            Some((h.buckets[i], h.bucket_ms, h.unit.clone()))
        })
    });
    let point_at = move |x: f64| {
        if let Some(f) = frame.get_untracked() {
            cursor.set(Some(f.time_at(x)));
        }
    };
    // Pan, pinch and wheel, with the picture following at once.
    let explore = crate::explore::Explore::new(
        Callback::new(move |()| range.get_untracked().bounds(js_sys::Date::now() as i64)),
        Callback::new(point_at),
    );
    // Drawn again when the wheel rests, if it was turning when the data came.
    let rested = RwSignal::new(0u32);
    Effect::new(move |_| {
        resized.track();
        rested.track();
        history.track();
        let Some(el) = canvas.get() else { return };
        if explore.turning(Callback::new(move |()| rested.update(|n| *n += 1))) {
            return;
        }
        history.with(|h| {
            if let Some(Ok(h)) = h {
                let began = crate::explore::now();
                match overlay.with_untracked(|a| chart::draw(&el, h, a)) {
                    Ok(f) => {
                        let painting = crate::explore::now() - began;
                        frame.set(Some(f));
                        explore.drawn();
                        let took = crate::explore::now() - asked_at.get_value();
                        let draws = el
                            .get_attribute("data-draws")
                            .and_then(|n| n.parse::<u64>().ok())
                            .unwrap_or(0);
                        let _ = el.set_attribute("data-draw-ms", &format!("{took:.1}"));
                        let asking = answered_at.get_value() - asked_at.get_value();
                        let _ = el.set_attribute("data-ask-ms", &format!("{asking:.1}"));
                        let _ = el.set_attribute("data-paint-ms", &format!("{painting:.1}"));
                        let _ = el.set_attribute("data-draws", &(draws + 1).to_string());
                    }
                    Err(e) => leptos::logging::error!("chart: {e}"),
                }
            }
        });
    });
    // Exploring: the wheel (or +/−) zooms around the pointer (or the cursor), a drag pans, a
    // double click (or 0) returns to the preset last chosen. Each new window asks for its own
    // data (finer when zoomed in, down to raw readings); the old picture stays until it arrives.
    let preset = StoredValue::new(Range::Last(60 * MINUTE));
    Effect::new(move |_| {
        if let r @ Range::Last(_) = range.get() {
            preset.set_value(r);
        }
    });
    let zoom = move |around: i64, factor: f64| {
        let window = range.get_untracked().bounds(js_sys::Date::now() as i64);
        let (from, to) = telltale_chart::zoom_window(window, around, factor);
        range.set(Range::Between(from, to));
    };
    let on_up = move |_: leptos::ev::PointerEvent| {
        if let Some((from, to)) = explore.ended(frame.get_untracked().as_ref()) {
            range.set(Range::Between(from, to));
        }
    };
    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        let Some(f) = frame.get_untracked() else {
            return;
        };
        let (factor, x) = explore.wheel(&ev);
        zoom(f.time_at(x), factor);
    };
    // Keyboard: ←/→ step reading by reading (bucket by bucket), Home/End jump, Esc hides.
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let step: Option<isize> = match ev.key().as_str() {
            "ArrowLeft" => Some(-1),
            "ArrowRight" => Some(1),
            "Home" => Some(isize::MIN),
            "End" => Some(isize::MAX),
            "Escape" => {
                cursor.set(None);
                None
            }
            "+" | "=" | "-" | "_" => {
                let (from, to) = range.get_untracked().bounds(js_sys::Date::now() as i64);
                let around = cursor.get_untracked().unwrap_or((from + to) / 2);
                zoom(
                    around,
                    if matches!(ev.key().as_str(), "+" | "=") {
                        0.8
                    } else {
                        1.25
                    },
                );
                ev.prevent_default();
                None
            }
            "0" => {
                range.set(preset.get_value());
                None
            }
            _ => None,
        };
        let Some(step) = step else { return };
        ev.prevent_default();
        history.with_untracked(|h| {
            let Some(Ok(h)) = h else { return };
            if h.buckets.is_empty() {
                return;
            }
            let last = h.buckets.len() - 1;
            let at = cursor
                .get_untracked()
                .and_then(|t| telltale_chart::nearest(&h.buckets, t));
            let next = match (step, at) {
                (isize::MIN, _) => 0,
                (isize::MAX, _) | (_, None) => last,
                (s, Some(i)) => i.saturating_add_signed(s).min(last),
            };
            cursor.set(Some(h.buckets[next].t));
        });
    };
    let readout = move || {
        let (b, bucket_ms, unit) = snapped.get()?;
        let f = frame.get()?;
        let unit = unit.as_deref();
        let text = if bucket_ms == 0 {
            format!(
                "{} · {}",
                format::when_exact(b.t),
                format::with_unit(b.mean, unit)
            )
        } else {
            format!(
                "{} · mean {} (min {}, max {}, {} readings)",
                format::when_now(b.t),
                format::with_unit(b.mean, unit),
                format::value(b.min),
                format::value(b.max),
                b.count
            )
        };
        let x = f.x_of(b.t);
        let y = f.y_of(b.mean);
        // The label sits on the side with more room.
        let side = if x > f64::from(f.left + f.right) / 2.0 {
            "right"
        } else {
            "left"
        };
        Some(view! {
            <div class="crosshair" aria-hidden="true" style=format!("left: {x:.1}px; top: {}px; height: {}px", f.top, f.bottom - f.top)></div>
            <div class="crosshair-dot" aria-hidden="true" style=format!("left: {x:.1}px; top: {y:.1}px")></div>
            <div class=format!("readout {side}") role="status" data-testid="readout"
                style=format!("{side}: {:.1}px", if side == "left" { x + 10.0 } else { f64::from(f.right) - x + 10.0 + 12.0 })>
                {text}
            </div>
        })
    };
    let spoken = move || {
        history.with(|h| match h {
            Some(Ok(h)) => telltale_chart::summary(h),
            _ => String::new(),
        })
    };
    let table = RwSignal::new(false);
    // "Alert me…": the rule form on this device's charted metric.
    let alert_me = crate::pages::rule_form::AlertMe::new();
    let open_rule = move |_| {
        let Some((device, latest)) = summary.with_untracked(|s| {
            s.as_ref().map(|s| {
                let m = metric.get_untracked();
                let latest = s
                    .latest
                    .iter()
                    .find(|l| Some(&l.metric) == m.as_ref())
                    .map(|l| l.value);
                let name = if s.device.name.is_empty() {
                    s.device.id.0.clone()
                } else {
                    s.device.name.clone()
                };
                (name, latest)
            })
        }) else {
            return;
        };
        let m = metric.get_untracked().unwrap_or_default();
        alert_me.open(&device, &m, latest);
    };

    // "Compare…": this series, over this window, on a chart others can join.
    let compare_id = id.clone();
    let compare = move |_| {
        let Some(m) = metric.get_untracked() else {
            return;
        };
        let range = match range.get_untracked() {
            Range::Last(ms) => ViewRange::Last { ms },
            Range::Between(from_ms, to_ms) => ViewRange::Between { from_ms, to_ms },
        };
        page.set(Page::Compare(ChartView {
            name: String::new(),
            series: vec![SeriesRef {
                device: compare_id.clone(),
                metric: m,
            }],
            range,
        }));
    };

    view! {
        <nav class="crumbs">
            <button class="back" on:click=move |_| page.set(Page::Dashboard)>"← All devices"</button>
        </nav>
        {move || summary.with(Option::is_none).then(|| view! { <p class="placeholder">"Loading…"</p> })}
        <DeviceHeader summary=summary metric=metric now=now />
        <RangePicker range=range now=now />
        <div class="chart-box">
            <canvas id="history-chart" data-testid="chart" node_ref=canvas tabindex="0" role="img"
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
                on:dblclick=move |_| range.set(preset.get_value())
                on:keydown=on_key></canvas>
            {readout}
        </div>
        <p class="sr-only" data-testid="chart-summary">{spoken}</p>
        <div class="row-actions">
            // What one point of the line is: the resolution changes as the window does.
            <span class="fine-print" data-testid="resolution">{move || history.with(|h| match h {
                Some(Ok(h)) => format::resolution(h),
                _ => String::new(),
            })}</span>
            <button class="chip-button" data-testid="show-table" aria-pressed=move || table.get().to_string()
                on:click=move |_| table.update(|t| *t = !*t)>
                {move || if table.get() { "Hide table" } else { "Show as table" }}
            </button>
            <button class="chip-button" data-testid="alert-me" on:click=open_rule>"Alert me…"</button>
            <button class="chip-button" data-testid="compare" on:click=compare>"Compare…"</button>
        </div>
        {alert_me.view()}
        {move || table.get().then(|| history.with(|h| match h {
            Some(Ok(h)) => Some(view! { <HistoryTable h=h.clone() /> }),
            _ => None,
        }))}
        {move || history.with(|h| match h {
            Some(Ok(h)) if !h.from_historian.is_empty() => {
                let spans = h
                    .from_historian
                    .iter()
                    .take(3)
                    .map(|[a, b]| format!("{} – {}", format::when_now(*a), format::when_now(*b)))
                    .collect::<Vec<_>>()
                    .join(", ");
                let more = if h.from_historian.len() > 3 { " …" } else { "" };
                Some(view! {
                    <p class="hint" data-testid="from-historian">
                        {format!("From the plant historian: {spans}{more}")}
                    </p>
                })
            }
            _ => None,
        })}
        {move || match history.get() {
            Some(Err(e)) => Some(error_view(e)),
            _ => None,
        }}
        <SeriesTools id=id.clone() metric=metric range=range now=now history=history canvas=canvas />
        <DeviceTags id=id summary=summary />
    }
}

#[component]
fn RangePicker(range: RwSignal<Range>, now: Memo<i64>) -> impl IntoView {
    let custom_open = RwSignal::new(false);
    let from_text = RwSignal::new(String::new());
    let to_text = RwSignal::new(String::new());
    let custom_error = RwSignal::new(None::<String>);
    let open_custom = move |_| {
        let (from, to) = range.get_untracked().bounds(now.get_untracked());
        from_text.set(format::local_input(from));
        to_text.set(format::local_input(to));
        custom_open.set(true);
    };
    let apply = move |_| match (
        format::parse_local_input(&from_text.get()),
        format::parse_local_input(&to_text.get()),
    ) {
        (Some(from), Some(to)) if from < to => {
            custom_error.set(None);
            range.set(Range::Between(from, to));
        }
        (Some(_), Some(_)) => custom_error.set(Some("The start must be before the end.".into())),
        _ => custom_error.set(Some("Enter both a start and an end.".into())),
    };
    view! {
        <div class="ranges" role="group" aria-label="Time range">
            {RANGES
                .into_iter()
                .map(|(label, key, len)| {
                    view! {
                        <button
                            class="chip-button"
                            data-range=key
                            class:selected=move || range.get() == Range::Last(len)
                            on:click=move |_| {
                                custom_open.set(false);
                                range.set(Range::Last(len));
                            }
                        >
                            {label}
                        </button>
                    }
                })
                .collect_view()}
            <button
                class="chip-button"
                data-range="custom"
                class:selected=move || matches!(range.get(), Range::Between(..))
                on:click=open_custom
            >
                "Custom…"
            </button>
        </div>
        <Show when=move || custom_open.get()>
            <div class="custom-range">
                <label>"From" <input type="datetime-local" prop:value=from_text on:input=move |ev| from_text.set(event_target_value(&ev)) /></label>
                <label>"To" <input type="datetime-local" prop:value=to_text on:input=move |ev| to_text.set(event_target_value(&ev)) /></label>
                <button class="chip-button" on:click=apply>"Show"</button>
                {move || custom_error.get().map(|e| view! { <p class="error">{e}</p> })}
            </div>
        </Show>
    }
}

/// Export of the shown range (its readings as CSV, or the chart as drawn as a picture), and how
/// long this series keeps its raw readings.
#[component]
fn SeriesTools(
    id: DeviceId,
    metric: RwSignal<Option<String>>,
    range: RwSignal<Range>,
    now: Memo<i64>,
    history: RwSignal<Option<Result<History, ApiError>>>,
    canvas: NodeRef<leptos::html::Canvas>,
) -> impl IntoView {
    // The last thing said about this series, by the exports or the retention.
    let status = RwSignal::new(None::<String>);
    let export_csv = export::exporter(
        status,
        |r| format!("Saved {} readings to {}", r.rows, r.path),
        |request: &ExportRequest| {
            let request = request.clone();
            async move { api::export_csv(&request).await }
        },
    );
    let export_id = id.clone();
    let on_export = move |_| {
        let Some(m) = metric.get_untracked() else {
            return;
        };
        let (from_ms, to_ms) = range.get_untracked().bounds(now.get_untracked());
        export_csv(ExportRequest {
            device: export_id.clone(),
            metric: m,
            from_ms,
            to_ms,
        });
    };
    let export_picture = export::exporter(
        status,
        |r| format!("Saved a chart of {} readings to {}", r.rows, r.path),
        |request: &ChartExport| {
            let request = request.clone();
            async move { api::export_chart(&request).await }
        },
    );
    // The chart as drawn: the series and window of the history on the canvas, at its size.
    let picture_id = id.clone();
    let on_picture = move |format: ChartFormat| {
        let Some(el) = canvas.get_untracked() else {
            return;
        };
        let drawn = history.with_untracked(|h| match h {
            Some(Ok(h)) => Some((h.metric.clone(), (h.from_ms, h.to_ms))),
            _ => None,
        });
        let Some((m, window)) = drawn.or_else(|| {
            let m = metric.get_untracked()?;
            Some((m, range.get_untracked().bounds(now.get_untracked())))
        }) else {
            return;
        };
        let series = vec![SeriesRef {
            device: picture_id.clone(),
            metric: m,
        }];
        export_picture(export::picture_of(&el, series, window, format));
    };
    // The shown metric's retention, read again when the metric changes or a new one is saved.
    let load_id = id.clone();
    let keep = LocalResource::new(move || {
        let metric = metric.get();
        let id = load_id.clone();
        async move {
            match metric {
                Some(m) => api::retention(&id, &m).await.ok(),
                None => None,
            }
        }
    });
    let set_keep = Action::new_local(
        |(id, metric, setting): &(DeviceId, String, RetentionSetting)| {
            let (id, metric, setting) = (id.clone(), metric.clone(), *setting);
            async move { api::set_retention(&id, &metric, setting).await }
        },
    );
    let kept = set_keep.value();
    Effect::new(move |_| {
        let text = match kept.get() {
            None => return,
            Some(Ok(())) => {
                keep.refetch();
                "Retention saved.".to_owned()
            }
            Some(Err(e)) => format!("Retention not saved: {}", e.message),
        };
        status.set(Some(text));
    });
    let change_keep = move |ev: leptos::ev::Event| {
        let Some(m) = metric.get_untracked() else {
            return;
        };
        let choice: usize = event_target_value(&ev).parse().unwrap_or(0);
        let setting = RetentionSetting {
            raw_ms: KEEP_RAW.get(choice).and_then(|(_, v)| *v),
            minute_ms: keep.get_untracked().flatten().and_then(|k| k.minute_ms),
        };
        set_keep.dispatch_local((id.clone(), m, setting));
    };
    let selected = move || {
        let raw = keep.get().flatten().and_then(|k| k.raw_ms);
        KEEP_RAW
            .iter()
            .position(|(_, v)| *v == raw)
            .unwrap_or(0)
            .to_string()
    };
    view! {
        <div class="series-tools">
            <button class="chip-button" data-testid="export" on:click=on_export>"Export CSV"</button>
            <button class="chip-button" data-testid="export-png" title="Save the chart as drawn as a PNG picture"
                on:click={let on_picture = on_picture.clone(); move |_| on_picture(ChartFormat::Png)}>"PNG"</button>
            <button class="chip-button" data-testid="export-svg" title="Save the chart as drawn as an SVG picture"
                on:click=move |_| on_picture(ChartFormat::Svg)>"SVG"</button>
            <label class="keep">
                "Keep raw readings "
                <select prop:value=selected on:change=change_keep data-testid="keep-raw">
                    {KEEP_RAW
                        .iter()
                        .enumerate()
                        .map(|(i, (label, _))| view! { <option value=i.to_string()>{*label}</option> })
                        .collect_view()}
                </select>
            </label>
            <p class="status" data-testid="export-status" role="status">{move || status.get()}</p>
        </div>
    }
}

/// Name, description and one chip per metric. Chips are keyed by metric and update in place, so
/// a tap is never lost to a refresh.
#[component]
fn DeviceHeader(
    summary: Memo<Option<DeviceSummary>>,
    metric: RwSignal<Option<String>>,
    now: Memo<i64>,
) -> impl IntoView {
    // Cached values must never pass for live ones: say plainly how old they are.
    let seen = move || {
        summary.with(|s| {
            let s = s.as_ref()?;
            let now = now.get();
            Some(match (s.freshness, s.last_seen_ms) {
                (Freshness::Live, Some(t)) => (
                    false,
                    format!("Live · last reading {}", format::ago(t, now)),
                ),
                (Freshness::Offline, Some(t)) => (
                    true,
                    format!(
                        "Offline (its gateway says so): values as of {}",
                        format::when(t, now)
                    ),
                ),
                (Freshness::Stale, Some(t)) => (
                    true,
                    format!("Not live: values as of {}", format::when(t, now)),
                ),
                // Judged only for devices this store hears: one with values but no judgement is
                // another site's, known from the plant historian.
                (Freshness::Unknown, Some(t)) => (
                    true,
                    format!(
                        "From the plant historian: values as of {}",
                        format::when(t, now)
                    ),
                ),
                _ => (true, "Never heard from".to_owned()),
            })
        })
    };
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
            <p
                class="seen"
                class:stale=move || seen().is_some_and(|(stale, _)| stale)
                data-testid="device-seen"
            >
                {move || seen().map(|(_, text)| text)}
            </p>
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

/// The device's tags, which alert rules can aim at ("every device tagged freezer").
#[component]
fn DeviceTags(id: DeviceId, summary: Memo<Option<DeviceSummary>>) -> impl IntoView {
    // The field holds what the person types; it is filled from the device once.
    let text = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if text.get_untracked().is_none() {
            if let Some(tags) = summary.with(|s| s.as_ref().map(|s| s.device.tags.join(", "))) {
                text.set(Some(tags));
            }
        }
    });
    let save = Action::new_local(|(id, tags): &(DeviceId, Vec<String>)| {
        let (id, tags) = (id.clone(), tags.clone());
        async move { api::set_device_tags(&id, &tags).await }
    });
    let saved = save.value();
    // (is an error, message).
    let status = move || {
        saved.get().map(|result| match result {
            Ok(()) => (false, "Tags saved.".to_owned()),
            Err(e) => (true, e.message),
        })
    };
    let on_save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let tags: Vec<String> = text
            .get_untracked()
            .unwrap_or_default()
            .split(',')
            .map(str::to_owned)
            .collect();
        save.dispatch_local((id.clone(), tags));
    };
    view! {
        <form class="device-tags" on:submit=on_save>
            <label>
                "Tags (comma-separated; alert rules can target them)"
                <input
                    data-testid="device-tags"
                    prop:value=move || text.get().unwrap_or_default()
                    on:input=move |e| text.set(Some(event_target_value(&e)))
                    placeholder="freezer, kitchen"
                />
            </label>
            <button type="submit" class="chip-button" data-testid="save-tags">"Save tags"</button>
            {move || status().map(|(bad, m)| view! {
                <p class:error=bad class:status=!bad data-testid="tags-status">{m}</p>
            })}
        </form>
    }
}

/// What the chart shows, as rows: the time and the value, or min, mean and max with the count
/// when the readings were aggregated.
#[component]
pub(crate) fn HistoryTable(h: telltale_model::History) -> impl IntoView {
    let aggregated = h.bucket_ms > 0;
    let unit = h.unit.clone().unwrap_or_default();
    let rows = h
        .buckets
        .iter()
        .rev()
        .map(|b| {
            let when = if aggregated {
                format::when_now(b.t)
            } else {
                format::when_exact(b.t)
            };
            if aggregated {
                view! {
                    <tr>
                        <td>{when}</td>
                        <td>{format::value(b.min)}</td>
                        <td>{format::value(b.mean)}</td>
                        <td>{format::value(b.max)}</td>
                        <td>{b.count}</td>
                    </tr>
                }
                .into_any()
            } else {
                view! {
                    <tr>
                        <td>{when}</td>
                        <td>{format::value(b.mean)}</td>
                    </tr>
                }
                .into_any()
            }
        })
        .collect_view();
    let head = if aggregated {
        view! {
            <tr>
                <th scope="col">"Time (start)"</th>
                <th scope="col">{format!("Min {unit}")}</th>
                <th scope="col">{format!("Mean {unit}")}</th>
                <th scope="col">{format!("Max {unit}")}</th>
                <th scope="col">"Readings"</th>
            </tr>
        }
        .into_any()
    } else {
        view! {
            <tr>
                <th scope="col">"Time"</th>
                <th scope="col">{format!("Value {unit}")}</th>
            </tr>
        }
        .into_any()
    };
    view! {
        <div class="table-box">
            <table class="history-table" data-testid="history-table">
                <caption>{format!("{} rows, newest first", h.buckets.len())}</caption>
                <thead>{head}</thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
