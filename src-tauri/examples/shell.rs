//! The shell alone: Telltale's window, with WebKit started exactly as the app starts it, and no
//! engine. `cargo xtask measure` runs it before the app, so that the app's memory reads against
//! what Tauri and WebKitGTK cost on the same machine before Telltale adds anything; with
//! `--parts` it then adds the UI's parts one at a time, so each one's cost in the web process
//! reads on its own. The page, the one argument:
//!
//! - `empty` (the default): a page with a line of text;
//! - `style`: the UI's stylesheet over a few dashboard cards written as plain HTML (the UI's
//!   look, none of its code);
//! - `wasm`: that, and the UI's wasm compiled by the page and kept, never run;
//! - `ui`: the UI itself, loaded as the app loads it, with no engine behind it (no command is
//!   registered, so each of its calls fails and it shows its error states).

use tauri::http::Response;
use tauri::{WebviewUrl, WebviewWindowBuilder};

const EMPTY: &str = "<p>An empty page.</p>";

/// Cards as the dashboard draws them (the same classes), so the stylesheet's rules apply.
const CARDS: &str = "<header class=\"topbar\"><h1>Telltale</h1></header><main>\
    <section class=\"site\"><h2>Plant</h2><div class=\"cards\">\
    <button class=\"card\"><div class=\"card-head\"><span class=\"name\">press-01</span>\
    <span class=\"kind\">machine</span></div><ul class=\"values\"><li><span class=\"metric\">Vibration</span>\
    <span class=\"value\">2.31 mm/s</span></li><li><span class=\"metric\">Temperature</span>\
    <span class=\"value\">41.2 °C</span></li></ul><div class=\"seen\">live · 2 s ago</div></button>\
    <button class=\"card\"><div class=\"card-head\"><span class=\"name\">pump-02</span>\
    <span class=\"kind\">machine</span></div><ul class=\"values\"><li><span class=\"metric\">Vibration</span>\
    <span class=\"value\">3.05 mm/s</span></li></ul><div class=\"seen\">as of 14:32</div></button></div></section></main>";

/// Compiles the module as the UI's loader (`ui/static/boot.js`) does, and keeps it from being
/// collected.
const COMPILE: &str = "<script>\
    fetch('telltale_ui_bg.wasm').then((r) => r.arrayBuffer()).then((b) => WebAssembly.compile(b))\
    .then((m) => { window.kept = m; document.title = 'compiled'; })\
    .catch((e) => { document.title = 'failed: ' + e; });</script>";

/// The page for `step`; None for `ui`, which is the UI's own `index.html`.
fn page(step: &str) -> Result<Option<String>, String> {
    const STYLE: &str = "<link rel=\"stylesheet\" href=\"style.css\">";
    let (head, body, script) = match step {
        "empty" => ("", EMPTY, ""),
        "style" => (STYLE, CARDS, ""),
        "wasm" => (STYLE, CARDS, COMPILE),
        "ui" => return Ok(None),
        _ => return Err(format!("no page {step:?} (empty, style, wasm or ui)")),
    };
    Ok(Some(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Telltale</title>{head}</head><body>{body}{script}</body></html>"
    )))
}

fn main() {
    let step = std::env::args().nth(1).unwrap_or_else(|| "empty".into());
    let html = page(&step).unwrap_or_else(|e| {
        eprintln!("shell: {e}");
        std::process::exit(2);
    });
    let url = match html {
        None => WebviewUrl::App("index.html".into()),
        Some(_) => {
            WebviewUrl::CustomProtocol("shell://localhost/".parse().expect("a constant URL parses"))
        }
    };
    telltale_app::prepare_webkit();
    let built = tauri::Builder::default()
        // Not about:blank: WebKit shows that without starting a web process at all.
        .register_uri_scheme_protocol("shell", move |ctx, request| {
            let path = request.uri().path().trim_start_matches('/');
            let found = if path.is_empty() {
                html.clone()
                    .map(|h| ("text/html; charset=utf-8".to_string(), h.into_bytes()))
            } else {
                // The UI's own files, as the app embeds them.
                ctx.app_handle()
                    .asset_resolver()
                    .get(path.to_string())
                    .map(|asset| (asset.mime_type, asset.bytes))
            };
            let response = match found {
                Some((mime, body)) => Response::builder().header("Content-Type", mime).body(body),
                None => Response::builder().status(404).body(Vec::new()),
            };
            response.unwrap_or_default()
        })
        .setup(move |app| {
            // The app's own window: its size and title from the same configuration.
            let window = app
                .config()
                .app
                .windows
                .first()
                .cloned()
                .unwrap_or_default();
            WebviewWindowBuilder::new(app, "main", url)
                .title(window.title)
                .inner_size(window.width, window.height)
                .build()?;
            Ok(())
        })
        .run(tauri::generate_context!("tauri.conf.json"));
    if let Err(e) = built {
        eprintln!("shell: {e}");
        std::process::exit(1);
    }
}
