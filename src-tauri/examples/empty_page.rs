//! The shell alone: Telltale's window, with WebKit started exactly as the app starts it, around
//! an empty page; no engine, no UI. `cargo xtask measure` runs it before the app, so that the
//! app's memory reads against what Tauri and WebKitGTK cost on the same machine before Telltale
//! adds anything.

use tauri::http::Response;
use tauri::{WebviewUrl, WebviewWindowBuilder};

const PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
    <title>Telltale</title></head><body><p>An empty page.</p></body></html>";

fn main() {
    telltale_app::prepare_webkit();
    let built = tauri::Builder::default()
        // Not about:blank: WebKit shows that without starting a web process at all.
        .register_uri_scheme_protocol("empty", |_, _| {
            Response::builder()
                .header("Content-Type", "text/html; charset=utf-8")
                .body(PAGE.as_bytes().to_vec())
                .unwrap_or_default()
        })
        .setup(|app| {
            // The app's own window: its size and title from the same configuration.
            let window = app
                .config()
                .app
                .windows
                .first()
                .cloned()
                .unwrap_or_default();
            let url = "empty://localhost/".parse()?;
            WebviewWindowBuilder::new(app, "main", WebviewUrl::CustomProtocol(url))
                .title(window.title)
                .inner_size(window.width, window.height)
                .build()?;
            Ok(())
        })
        .run(tauri::generate_context!("tauri.conf.json"));
    if let Err(e) = built {
        eprintln!("empty_page: {e}");
        std::process::exit(1);
    }
}
