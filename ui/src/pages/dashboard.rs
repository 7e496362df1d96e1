//! The dashboard: every device, grouped by site, with its newest values and how fresh they are.

use crate::live::Live;
use crate::{format, Page};
use leptos::prelude::*;
use telltale_model::{
    ApiError, Dashboard as DashboardData, DeviceId, DeviceSummary, Freshness, SourceState,
    SourceStatus,
};

/// The cards a site shows until asked for all of them: a whole number of rows in the grid's one
/// to four columns, and more than a phone's or a desktop's screen holds. A fleet of a hundred
/// sensors is a hundred screens on a phone, and every card on the page costs the web process
/// memory and repaint work whether or not it is in view (`cargo xtask measure`: about 0.12 MiB
/// a card); past a page, the dashboard offers a search instead, which a long scroll lacks.
pub const PAGE: usize = 24;

/// Whether a device answers a search: every word of it (any case) in its name, kind, id, site
/// or tags. An empty search matches every device.
pub fn matches(s: &DeviceSummary, search: &str) -> bool {
    if search.trim().is_empty() {
        return true;
    }
    let d = &s.device;
    let fields = [&d.name, &d.kind.replace('_', " "), &d.id.0, &d.site]
        .into_iter()
        .chain(&d.tags)
        .map(|f| f.to_lowercase())
        .collect::<Vec<_>>();
    search
        .to_lowercase()
        .split_whitespace()
        .all(|word| fields.iter().any(|f| f.contains(word)))
}

#[component]
pub fn Dashboard() -> impl IntoView {
    let live = Live::get();
    // Pushed readings keep values current; names, kinds and new devices come with a full read,
    // once per visit.
    live.refetch();
    let data = live.dashboard;
    // Cards are keyed by device and read their values reactively, so a refresh updates text in
    // place: nothing flickers, and a card being tapped is never swapped out under the finger.
    let dashboard =
        Memo::new(move |_| data.with(|d| d.as_ref().and_then(|r| r.as_ref().ok()).cloned()));
    // The strip is drawn again only when the sources change, not with every pushed reading.
    let sources = Memo::new(move |_| dashboard.with(|d| d.as_ref().map(|d| d.sources.clone())));
    let sites = Memo::new(move |_| {
        let mut sites: Vec<String> = Vec::new();
        dashboard.with(|d| {
            for s in d
                .iter()
                .flat_map(|d| d.devices.iter())
                .map(|s| &s.device.site)
            {
                if !sites.contains(s) {
                    sites.push(s.clone());
                }
            }
        });
        sites
    });
    // More devices than a site's page: a search finds what the page does not show.
    let search = RwSignal::new(String::new());
    let searchable = Memo::new(move |_| {
        dashboard.with(|d| {
            d.as_ref().is_some_and(|d| {
                d.devices.len() + d.historian.len() > PAGE || !search.with(String::is_empty)
            })
        })
    });
    let found_none = Memo::new(move |_| {
        search.with(|words| {
            !words.trim().is_empty()
                && dashboard.with(|d| {
                    d.as_ref().is_some_and(|d| {
                        !d.devices
                            .iter()
                            .chain(&d.historian)
                            .any(|s| matches(s, words))
                    })
                })
        })
    });
    view! {
        {move || match data.get() {
            None => Some(view! { <p class="placeholder">"Loading…"</p> }.into_any()),
            Some(Err(e)) => Some(error_view(e).into_any()),
            Some(Ok(_)) => None,
        }}
        {move || sources.get().map(|sources| view! { <SourceStrip sources=sources /> })}
        {move || {
            dashboard
                .with(|d| d.as_ref().is_some_and(|d| d.devices.is_empty() && d.historian.is_empty()))
                .then(|| view! { <FirstRun /> })
        }}
        <Show when=move || searchable.get()>
            <label class="filter dash-search">
                <span>"Find a device"</span>
                <input type="search" data-testid="device-search" placeholder="Name, kind or site"
                    prop:value=move || search.get()
                    on:input=move |ev| search.set(event_target_value(&ev)) />
            </label>
        </Show>
        <Show when=move || found_none.get()>
            <p class="placeholder" data-testid="search-empty">"No device matches."</p>
        </Show>
        <For each=move || sites.get() key=|site| site.clone() let:site>
            <Site site=site dashboard=dashboard search=search />
        </For>
        <HistorianDevices dashboard=dashboard search=search />
        <Show when=move || dashboard.with(|d| d.as_ref().is_some_and(|d| !d.devices.is_empty() || !d.historian.is_empty()))>
            <SavedViews />
        </Show>
    }
}

/// Saved comparisons, and a way to start one.
#[component]
fn SavedViews() -> impl IntoView {
    let page = expect_context::<RwSignal<Page>>();
    let views = LocalResource::new(crate::api::chart_views);
    let fresh = || telltale_model::view::ChartView {
        name: String::new(),
        series: Vec::new(),
        range: telltale_model::view::ViewRange::Last { ms: 86_400_000 },
    };
    view! {
        <section class="dash-views" data-testid="dashboard-views">
            <h2>"Compare"</h2>
            <div class="row-actions">
                {move || views.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|v| {
                    let name = v.name.clone();
                    view! {
                        <button class="chip-button" data-testid="open-view"
                            on:click=move |_| page.set(Page::Compare(v.clone()))>{name}</button>
                    }
                }).collect_view()}
                <button class="chip-button" data-testid="new-comparison"
                    on:click=move |_| page.set(Page::Compare(fresh()))>"Compare series…"</button>
            </div>
        </section>
    }
}

/// Devices only the plant historian holds (other sites'): their history opens like any other.
#[component]
fn HistorianDevices(
    dashboard: Memo<Option<DashboardData>>,
    search: RwSignal<String>,
) -> impl IntoView {
    let page = expect_context::<RwSignal<Page>>();
    let whole = RwSignal::new(false);
    let matching = Memo::new(move |_| {
        search.with(|words| {
            dashboard.with(|d| {
                d.iter()
                    .flat_map(|d| d.historian.iter())
                    .filter(|s| matches(s, words))
                    .cloned()
                    .collect::<Vec<_>>()
            })
        })
    });
    let devices = Memo::new(move |_| {
        let shown = if whole.get() { usize::MAX } else { PAGE };
        matching.with(|m| m.iter().take(shown).cloned().collect::<Vec<_>>())
    });
    let more = move || {
        let rest = matching.with(Vec::len).saturating_sub(PAGE);
        (!whole.get() && rest > 0).then(|| format!("Show {rest} more"))
    };
    view! {
        <Show when=move || !matching.with(Vec::is_empty)>
            <section class="site" data-testid="historian-devices">
                <h2>"In the plant historian"</h2>
                <div class="cards">
                    <For each=move || devices.get() key=|s| s.device.id.clone() let:s>
                        {
                            let id = s.device.id.clone();
                            let seen = s
                                .last_seen_ms
                                .map(|t| format!("last shipped {}", format::when_now(t)))
                                .unwrap_or_default();
                            let site = if s.device.site.is_empty() { String::new() } else { format!(" · {}", s.device.site) };
                            view! {
                                <button class="card stale" data-testid="historian-device"
                                    data-device-id=id.0.clone()
                                    on:click=move |_| page.set(Page::Device(id.clone()))>
                                    <div class="card-head">
                                        <span class="name">{s.device.name.clone()}</span>
                                        <span class="kind">{format!("{}{site}", s.device.kind.replace('_', " "))}</span>
                                    </div>
                                    <div class="seen">{seen}</div>
                                </button>
                            }
                        }
                    </For>
                </div>
                {show_more(more, whole)}
            </section>
        </Show>
    }
}

/// The button under a list cut at [`PAGE`], while `label` says there is more; it shows the rest.
fn show_more(
    label: impl Fn() -> Option<String> + Send + Sync + 'static,
    whole: RwSignal<bool>,
) -> impl IntoView {
    move || {
        label().map(|label| {
            view! {
                <button class="chip-button more" data-testid="site-more"
                    on:click=move |_| whole.set(true)>{label}</button>
            }
        })
    }
}

pub fn error_view(e: ApiError) -> impl IntoView {
    view! { <p class="error" role="alert">{e.message}</p> }
}

#[component]
fn Site(
    site: String,
    dashboard: Memo<Option<DashboardData>>,
    search: RwSignal<String>,
) -> impl IntoView {
    // Asked for every card of this site, not only the first page.
    let whole = RwSignal::new(false);
    // This site's devices that answer the search: (id, quiet), in the dashboard's order.
    let matching = {
        let site = site.clone();
        Memo::new(move |_| {
            search.with(|words| {
                dashboard.with(|d| {
                    d.iter()
                        .flat_map(|d| d.devices.iter())
                        .filter(|s| s.device.site == site && matches(s, words))
                        .map(|s| {
                            let quiet =
                                matches!(s.freshness, Freshness::Stale | Freshness::Offline);
                            (s.device.id.clone(), quiet)
                        })
                        .collect::<Vec<_>>()
                })
            })
        })
    };
    let ids = Memo::new(move |_| {
        let shown = if whole.get() { usize::MAX } else { PAGE };
        matching.with(|m| {
            m.iter()
                .take(shown)
                .map(|(id, _)| id.clone())
                .collect::<Vec<_>>()
        })
    });
    // The button says how many more, and how many of those have gone quiet: a card out of view
    // must not hide a sensor that needs a look.
    let more = move || {
        if whole.get() {
            return None;
        }
        matching.with(|m| {
            let rest = m.get(PAGE..)?;
            let quiet = rest.iter().filter(|(_, quiet)| *quiet).count();
            Some(match quiet {
                0 => format!("Show {} more", rest.len()),
                q => format!("Show {} more ({q} not heard from lately)", rest.len()),
            })
        })
    };
    let title = if site.is_empty() {
        "Other".to_owned()
    } else {
        site
    };
    view! {
        <Show when=move || !matching.with(Vec::is_empty)>
            <section class="site">
                <h2>{title.clone()}</h2>
                <div class="cards">
                    <For each=move || ids.get() key=|id| id.clone() let:id>
                        <DeviceCard id=id dashboard=dashboard />
                    </For>
                </div>
                {show_more(more, whole)}
            </section>
        </Show>
    }
}

#[component]
fn SourceStrip(sources: Vec<SourceStatus>) -> impl IntoView {
    let offline = sources.is_empty().then(|| {
        view! {
            <span class="chip bad" data-testid="source">
                "No sources running: showing cached history"
            </span>
        }
    });
    let chips = sources
        .into_iter()
        .map(|s| {
            let class = match s.state {
                SourceState::Connected => "chip ok",
                SourceState::Starting | SourceState::Reconnecting => "chip warn",
                SourceState::Stopped | SourceState::Failed => "chip bad",
            };
            view! {
                <span class=class title=s.detail.clone() data-testid="source">
                    {format!("{} · {}", s.id, s.detail)}
                </span>
            }
        })
        .collect_view();
    view! {
        {offline}
        {chips}
    }
}

#[component]
fn DeviceCard(id: DeviceId, dashboard: Memo<Option<DashboardData>>) -> impl IntoView {
    let page = expect_context::<RwSignal<Page>>();
    // The card's own data, apart from the clock: a pushed reading for another device, or the
    // clock moving on, re-renders nothing here but the "seen" line, and that only when its text
    // changes.
    let card = {
        let id = id.clone();
        Memo::new(move |_| {
            dashboard.with(|d| {
                d.as_ref()
                    .and_then(|d| d.devices.iter().find(|s| s.device.id == id).cloned())
            })
        })
    };
    let now = Memo::new(move |_| dashboard.with(|d| d.as_ref().map_or(0, |d| d.now_ms)));
    let fresh = move || {
        card.with(|c| match c {
            Some(s) => s.freshness,
            None => Freshness::Unknown,
        })
    };
    let seen = Memo::new(move |_| {
        card.with(|c| {
            let Some(s) = c else {
                return String::new();
            };
            match (s.freshness, s.last_seen_ms) {
                (Freshness::Live, Some(t)) => format!("live · {}", format::ago(t, now.get())),
                (Freshness::Stale, Some(t)) => format!("as of {}", format::when(t, now.get())),
                (Freshness::Offline, Some(t)) => {
                    format!("offline · as of {}", format::when(t, now.get()))
                }
                _ => "not heard from yet".to_owned(),
            }
        })
    });
    let name = move || {
        card.with(|c| {
            c.as_ref()
                .map(|s| s.device.name.clone())
                .unwrap_or_default()
        })
    };
    let kind = move || {
        card.with(|c| {
            c.as_ref()
                .map(|s| s.device.kind.replace('_', " "))
                .unwrap_or_default()
        })
    };
    // What the card shows, as text: a reading that does not change it (a diagnostic metric, the
    // same value again) changes nothing on screen.
    let shown = Memo::new(move |_| {
        card.with(|c| {
            c.iter()
                .flat_map(|s| s.latest.iter())
                .filter(|v| !format::is_diagnostic(&v.metric))
                .take(4)
                .map(|v| {
                    (
                        format::metric_label(&v.metric),
                        format::with_unit(v.value, v.unit.as_deref()),
                    )
                })
                .collect::<Vec<_>>()
        })
    });
    // One row per metric, kept while the metric is shown: a new value changes the row's text,
    // never the rows themselves (four repaints a second must not rebuild the card).
    let labels = Memo::new(move |_| {
        shown.with(|rows| {
            rows.iter()
                .map(|(label, _)| label.clone())
                .collect::<Vec<_>>()
        })
    });
    let values = move || {
        view! {
            <For each=move || labels.get() key=|label| label.clone() let:label>
                {
                    let value = {
                        let label = label.clone();
                        move || {
                            shown.with(|rows| {
                                rows.iter()
                                    .find(|(l, _)| *l == label)
                                    .map(|(_, v)| v.clone())
                                    .unwrap_or_default()
                            })
                        }
                    };
                    view! {
                        <li>
                            <span class="metric">{label}</span>
                            <span class="value" data-testid="value">{value}</span>
                        </li>
                    }
                }
            </For>
        }
    };
    // The day at a glance: read with the full dashboard (not with each pushed reading).
    let spark = Memo::new(move |_| {
        card.with(|c| {
            let line = c.as_ref()?.sparkline.as_ref()?;
            Some((
                line.metric.clone(),
                crate::spark::path(&line.means, 100.0, 20.0)?,
            ))
        })
    });
    let device_attr = id.0.clone();
    view! {
        <button
            class="card"
            class:stale=move || matches!(fresh(), Freshness::Stale | Freshness::Offline)
            data-testid="device-card"
            data-device-id=device_attr
            on:click=move |_| page.set(Page::Device(id.clone()))
        >
            <div class="card-head">
                <span class="name">{name}</span>
                <span class="kind">{kind}</span>
            </div>
            <ul class="values">{values}</ul>
            {move || spark.get().map(|(metric, d)| view! {
                <svg class="sparkline" data-testid="sparkline" viewBox="0 0 100 20"
                    preserveAspectRatio="none" role="img"
                    aria-label=format!("{} over the last 24 hours", format::metric_label(&metric))>
                    <path d=d />
                </svg>
            })}
            <div class="seen" data-testid="seen">{seen}</div>
        </button>
    }
}

/// An app with nothing in it yet: the ways in, each one tap away.
#[component]
fn FirstRun() -> impl IntoView {
    // Taken here: an event handler runs outside the component's owner.
    let new_gateway = use_context::<crate::pages::sources::NewGateway>();
    let page = expect_context::<RwSignal<Page>>();
    let live = Live::get();
    let start = Action::new_local(|_: &()| crate::api::start_demo());
    // New devices arrive with the next full read of the dashboard.
    let (started, answer) = (start.version(), start.value());
    Effect::new(move |_| {
        if started.get() > 0 {
            live.refetch();
        }
    });
    let demo = move |_| {
        start.dispatch_local(());
    };
    view! {
        <section class="panel first-run" data-testid="first-run">
            <h2>"Nothing to show yet"</h2>
            <p class="hint">"Telltale keeps every reading of your sensors and machines on this device. Start with one of these:"</p>
            <div class="ways">
                <button class="way" data-testid="first-run-bluetooth" on:click=move |_| page.set(Page::Bluetooth)>
                    <span class="way-title">"Add a Bluetooth sensor"</span>
                    <span class="way-detail">"Thermometers, air and heart-rate sensors nearby: scan, pick, name."</span>
                </button>
                <button class="way" data-testid="first-run-gateway" on:click=move |_| {
                    if let Some(crate::pages::sources::NewGateway(asked)) = new_gateway {
                        asked.set(true);
                    }
                    page.set(Page::Sources);
                }>
                    <span class="way-title">"Connect a plant gateway"</span>
                    <span class="way-detail">"An MQTT broker (number, JSON or Sparkplug B topics): its address and credentials."</span>
                </button>
                <button class="way" data-testid="first-run-demo" on:click=demo>
                    <span class="way-title">"Try the demo"</span>
                    <span class="way-detail">"A simulated home and plant, with alerts and forecasts."</span>
                </button>
            </div>
            {move || match answer.get() {
                Some(Err(e)) => Some(error_view(e).into_any()),
                Some(Ok(())) => Some(view! { <p class="status" role="status">"Starting the demo…"</p> }.into_any()),
                None => None,
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::matches;
    use telltale_model::{Device, DeviceId, DeviceSummary, Freshness, Transport};

    fn summary(id: &str, name: &str, kind: &str, site: &str, tags: &[&str]) -> DeviceSummary {
        DeviceSummary {
            device: Device {
                id: DeviceId(id.into()),
                name: name.into(),
                kind: kind.into(),
                transport: Transport::Ble,
                site: site.into(),
                expected_interval_ms: 60_000,
                tags: tags.iter().map(|t| t.to_string()).collect(),
            },
            last_seen_ms: None,
            latest: Vec::new(),
            freshness: Freshness::Unknown,
            sparkline: None,
        }
    }

    #[test]
    fn a_search_matches_every_word_in_any_field_in_any_case() {
        let freezer = summary(
            "ble:A4:C1:38:00:00:01",
            "Garage freezer",
            "thermometer",
            "Home",
            &["cold-chain"],
        );
        let pump = summary(
            "plant/line-2/pump-07",
            "Pump 7",
            "centrifugal_pump",
            "Plant",
            &[],
        );
        for (search, freezer_matches, pump_matches) in [
            ("", true, true),
            ("   ", true, true),
            ("FREEZER", true, false),
            ("garage thermo", true, false),
            ("garage pump", false, false),
            ("centrifugal pump", false, true),
            ("line-2", false, true),
            ("cold", true, false),
            ("a4:c1", true, false),
            ("plant 7", false, true),
            ("kitchen", false, false),
        ] {
            assert_eq!(
                matches(&freezer, search),
                freezer_matches,
                "{search:?} on the freezer"
            );
            assert_eq!(
                matches(&pump, search),
                pump_matches,
                "{search:?} on the pump"
            );
        }
    }
}
