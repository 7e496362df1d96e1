//! The Sources page's "Plant historian": where the plant's PostgreSQL is, its password (into the
//! OS keyring, never shown back), and a *Test connection* that says what the historian holds
//! before anything is saved.

use crate::api;
use crate::pages::sources::PasswordFields;
use leptos::prelude::*;
use telltale_model::historian::SaveHistorian;
use telltale_model::secret::SecretInput;

#[component]
pub fn HistorianPanel() -> impl IntoView {
    // The settings in force: read once per visit, and again after a save or a removal.
    let current = LocalResource::new(api::historian);
    let url = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let clear_password = RwSignal::new(false);
    // (is an error, message): the last thing said, by whichever of the calls below said it.
    let status = RwSignal::new(None::<(bool, String)>);
    // The field shows the URL in force, unless the person has typed over the one shown.
    let shown_url = StoredValue::new(String::new());
    Effect::new(move |_| match current.get() {
        Some(Ok(settings)) => {
            let loaded = settings.map(|s| s.url).unwrap_or_default();
            if url.with_untracked(|u| *u == shown_url.get_value()) {
                url.set(loaded.clone());
            }
            shown_url.set_value(loaded);
        }
        Some(Err(e)) => status.set(Some((true, e.message))),
        None => {}
    });
    let has_password = move || current.with(|c| matches!(c, Some(Ok(Some(s))) if s.has_password));
    let request = move || SaveHistorian {
        url: url.get_untracked().trim().to_owned(),
        // Not trimmed: spaces can be part of a password.
        password: SecretInput::typed(password.get_untracked()),
        clear_password: clear_password.get_untracked(),
    };
    let test = Action::new_local(|request: &SaveHistorian| {
        let request = request.clone();
        async move { api::test_historian(&request).await }
    });
    let tested = test.value();
    Effect::new(move |_| {
        let said = match tested.get() {
            None => return,
            Some(Ok(c)) => (
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
            Some(Err(e)) => (true, e.message),
        };
        status.set(Some(said));
    });
    let save = Action::new_local(|request: &SaveHistorian| {
        let request = request.clone();
        async move { api::save_historian(&request).await }
    });
    let saved = save.value();
    Effect::new(move |_| match saved.get() {
        Some(Ok(())) => {
            password.set(String::new());
            clear_password.set(false);
            status.set(Some((
                false,
                "Saved. Charts reach back into the historian where this device has no history."
                    .into(),
            )));
            current.refetch();
        }
        Some(Err(e)) => status.set(Some((true, e.message))),
        None => {}
    });
    let remove = Action::new_local(|_: &()| api::remove_historian());
    let removed = remove.value();
    Effect::new(move |_| {
        let said = match removed.get() {
            None => return,
            Some(Ok(())) => (false, "The historian is no longer read.".to_owned()),
            Some(Err(e)) => (true, e.message),
        };
        status.set(Some(said));
        current.refetch();
    });
    let on_test = move |_| {
        status.set(Some((false, "Connecting…".into())));
        test.dispatch_local(request());
    };
    let on_save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        status.set(Some((false, "Saving…".into())));
        save.dispatch_local(request());
    };
    let on_remove = move |_| {
        remove.dispatch_local(());
    };
    view! {
        <section class="panel" data-testid="historian-panel">
            <h2>"Plant historian"</h2>
            <p class="hint">
                "A PostgreSQL database your collectors ship their history to. Charts fill what this device lacks from it, and keep it for offline viewing."
            </p>
            <form class="broker-form" on:submit=on_save>
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
                    <button type="button" class="chip-button" data-testid="test-historian" on:click=on_test>"Test connection"</button>
                    <button type="submit" class="chip-button primary" data-testid="save-historian">"Save"</button>
                    <Show when=move || current.with(|c| matches!(c, Some(Ok(Some(_)))))>
                        <button type="button" class="chip-button" data-testid="remove-historian" on:click=on_remove>"Remove"</button>
                    </Show>
                </div>
                {move || status.get().map(|(bad, m)| view! {
                    <p class:error=bad class:status=!bad role="status" data-testid="historian-status">{m}</p>
                })}
            </form>
        </section>
    }
}
