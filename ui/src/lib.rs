//! Telltale's UI: Leptos, client-side rendered to WebAssembly, talking to the engine only through
//! typed IPC calls (`api`). Layouts are responsive from 360 px phones to desktop, with touch-sized
//! targets.

mod api;
mod chart;
mod format;
mod pages;

use leptos::prelude::*;
use telltale_model::DeviceId;
use wasm_bindgen::prelude::wasm_bindgen;

/// Which screen is showing. Kept in a context signal: a phone-sized app has no address bar.
#[derive(Debug, Clone, PartialEq)]
pub enum Page {
    Dashboard,
    Device(DeviceId),
    Sources,
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
    view! {
        <header class="topbar">
            <button class="brand" on:click=move |_| page.set(Page::Dashboard)>
                <span class="logo" aria-hidden="true"></span>
                "Telltale"
            </button>
            <nav class="nav">
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
            }}
        </main>
    }
}
