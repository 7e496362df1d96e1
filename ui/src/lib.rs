//! Telltale's UI: Leptos, client-side rendered to WebAssembly, talking to the engine only through
//! typed IPC calls (`api`). Layouts are responsive from 360 px phones to desktop, with touch-sized
//! targets.

mod api;
mod chart;
mod explore;
mod export;
mod format;
mod live;
mod pages;
mod spark;

use leptos::prelude::*;
use telltale_model::DeviceId;
use wasm_bindgen::prelude::wasm_bindgen;

/// Which screen is showing. Kept in a context signal: a phone-sized app has no address bar.
#[derive(Debug, Clone, PartialEq)]
pub enum Page {
    Dashboard,
    Device(DeviceId),
    Sources,
    Alerts,
    Upkeep,
    Bluetooth,
    /// Several series on one chart, from a saved view or being made.
    Compare(telltale_model::view::ChartView),
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    let page = RwSignal::new(Page::Dashboard);
    provide_context(page);
    provide_context(pages::sources::NewGateway(RwSignal::new(false)));
    let live = live::provide();
    // Alerts waiting for someone, on every page: pushed as they change, never polled.
    let attention = Memo::new(move |_| {
        live.alerts
            .with(|a| a.iter().flatten().filter(|a| a.state.is_unacked()).count())
    });
    view! {
        <header class="topbar">
            <button class="brand" data-testid="nav-dashboard" on:click=move |_| page.set(Page::Dashboard)>
                <span class="logo" aria-hidden="true"></span>
                <span class="brand-name">"Telltale"</span>
            </button>
            <nav class="nav" aria-label="Sections">
                // The brand leads home on wide screens; a phone's bottom bar needs its own tab.
                <button
                    class="nav-button nav-home"
                    data-testid="nav-home"
                    class:current=move || matches!(page.get(), Page::Dashboard | Page::Device(_) | Page::Compare(_))
                    on:click=move |_| page.set(Page::Dashboard)
                >
                    "Devices"
                </button>
                <button
                    class="nav-button"
                    data-testid="nav-alerts"
                    class:current=move || page.get() == Page::Alerts
                    on:click=move |_| page.set(Page::Alerts)
                >
                    "Alerts"
                    {move || {
                        let n = attention.get();
                        (n > 0).then(|| view! { <span class="badge" data-testid="alert-count">{n}</span> })
                    }}
                </button>
                <button
                    class="nav-button"
                    data-testid="nav-upkeep"
                    class:current=move || page.get() == Page::Upkeep
                    on:click=move |_| page.set(Page::Upkeep)
                >
                    "Upkeep"
                </button>
                <button
                    class="nav-button"
                    data-testid="nav-bluetooth"
                    class:current=move || page.get() == Page::Bluetooth
                    on:click=move |_| page.set(Page::Bluetooth)
                >
                    "Bluetooth"
                </button>
                <button
                    class="nav-button"
                    data-testid="nav-sources"
                    class:current=move || page.get() == Page::Sources
                    on:click=move |_| page.set(Page::Sources)
                >
                    "Sources"
                </button>
            </nav>
        </header>
        <main>
            {move || match page.get() {
                Page::Dashboard => view! { <pages::dashboard::Dashboard /> }.into_any(),
                Page::Device(id) => view! { <pages::device::DevicePage id=id /> }.into_any(),
                Page::Sources => view! { <pages::sources::SourcesPage /> }.into_any(),
                Page::Alerts => view! { <pages::alerts::AlertsPage /> }.into_any(),
                Page::Upkeep => view! { <pages::upkeep::UpkeepPage /> }.into_any(),
                Page::Bluetooth => view! { <pages::bluetooth::BluetoothPage /> }.into_any(),
                Page::Compare(v) => view! { <pages::compare::ComparePage start=v /> }.into_any(),
            }}
        </main>
    }
}
