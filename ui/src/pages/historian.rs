//! The Sources page's "Plant historian": where the plant's PostgreSQL is, its password (into the
//! OS keyring, never shown back), and a *Test connection* that says what the historian holds
//! before anything is saved.

use crate::api;
use crate::pages::sources::PasswordFields;
use leptos::prelude::*;
use leptos::task::spawn_local;
use telltale_model::historian::{HistorianSettings, SaveHistorian};
use telltale_model::secret::SecretInput;

#[component]
pub fn HistorianPanel() -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let current = RwSignal::new(None::<Option<HistorianSettings>>);
    let url = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let clear_password = RwSignal::new(false);
    // (is an error, message).
    let status = RwSignal::new(None::<(bool, String)>);
    Effect::new(move |_| {
        reload.track();
        spawn_local(async move {
            match api::historian().await {
                Ok(settings) => {
                    let _ =
                        url.try_set(settings.as_ref().map(|s| s.url.clone()).unwrap_or_default());
                    let _ = current.try_set(Some(settings));
                }
                Err(e) => {
                    let _ = status.try_set(Some((true, e.message)));
                }
            }
        });
    });
    let has_password = move || current.with(|c| matches!(c, Some(Some(s)) if s.has_password));
    let request = move || SaveHistorian {
        url: url.get_untracked().trim().to_owned(),
        // Not trimmed: spaces can be part of a password.
        password: SecretInput::typed(password.get_untracked()),
        clear_password: clear_password.get_untracked(),
    };
    let test = move |_| {
        let request = request();
        status.set(Some((false, "Connecting…".into())));
        spawn_local(async move {
            let said = match api::test_historian(&request).await {
                Ok(c) => (
                    false,
                    format!(
                        "Reached {}{}: {} devices, {} series, {} readings from {} site{}.",
                        c.reached,
                        if c.tls {
                            " over TLS"
                        } else {
                            " (not encrypted)"
                        },
                        c.devices,
                        c.series,
                        c.readings,
                        c.sites,
                        if c.sites == 1 { "" } else { "s" }
                    ),
                ),
                Err(e) => (true, e.message),
            };
            let _ = status.try_set(Some(said));
        });
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = request();
        status.set(Some((false, "Saving…".into())));
        spawn_local(async move {
            match api::save_historian(&request).await {
                Ok(()) => {
                    let _ = password.try_set(String::new());
                    let _ = clear_password.try_set(false);
                    let _ = status.try_set(Some((false, "Saved. Charts reach back into the historian where this device has no history.".into())));
                    let _ = reload.try_update(|n| *n += 1);
                }
                Err(e) => {
                    let _ = status.try_set(Some((true, e.message)));
                }
            }
        });
    };
    let remove = move |_| {
        spawn_local(async move {
            let said = match api::remove_historian().await {
                Ok(()) => (false, "The historian is no longer read.".to_owned()),
                Err(e) => (true, e.message),
            };
            let _ = status.try_set(Some(said));
            let _ = reload.try_update(|n| *n += 1);
        });
    };
    view! {
        <section class="panel" data-testid="historian-panel">
            <h2>"Plant historian"</h2>
            <p class="hint">
                "A PostgreSQL database your collectors ship their history to. Charts fill what this device lacks from it, and keep it for offline viewing."
            </p>
            <form class="broker-form" on:submit=save>
                <div class="fields">
                    <label>"URL"
                        <input required prop:value=url on:input=move |e| url.set(event_target_value(&e))
                            placeholder="postgres://user@historian.plant.local:5432/history"
                            autocomplete="off" data-testid="historian-url" />
                    </label>
                    <PasswordFields password=(password, clear_password)
                        has_password=Signal::derive(has_password) testid="historian-password" />
                </div>
                <div class="row-actions">
                    <button type="button" class="chip-button" data-testid="test-historian" on:click=test>"Test connection"</button>
                    <button type="submit" class="chip-button primary" data-testid="save-historian">"Save"</button>
                    <Show when=move || current.with(|c| matches!(c, Some(Some(_))))>
                        <button type="button" class="chip-button" data-testid="remove-historian" on:click=remove>"Remove"</button>
                    </Show>
                </div>
                {move || status.get().map(|(bad, m)| view! {
                    <p class:error=bad class:status=!bad role="status" data-testid="historian-status">{m}</p>
                })}
            </form>
        </section>
    }
}
