//! The Tauri shell: the only crate that knows Tauri. It opens the engine, starts the sources,
//! and exposes thin commands whose errors cross IPC as `{code, message}`.

mod args;
mod commands;
mod live;
#[cfg(target_os = "linux")]
mod web_egl;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tauri::{Manager, RunEvent, Runtime};
use telltale_engine::Engine;

/// What commands reach through `State`. The engine is shut down on exit; commands then answer
/// "shutting down".
pub struct AppState {
    engine: Engine,
    /// The one live stream to the main window; a reloaded page's new stream replaces it.
    live: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
    /// The topics the page on screen asked the live stream for.
    watching: tokio::sync::watch::Sender<live::Watching>,
    /// The shell's own background tasks (the writer's watch, `give_back_freed_memory`),
    /// aborted on exit before the engine shuts down.
    tasks: Vec<tauri::async_runtime::JoinHandle<()>>,
}

impl AppState {
    /// The engine, until the app began to shut it down.
    fn engine(&self) -> Result<&Engine, telltale_model::ApiError> {
        if self.engine.is_shut_down() {
            Err(shutting_down())
        } else {
            Ok(&self.engine)
        }
    }
}

fn shutting_down() -> telltale_model::ApiError {
    telltale_model::ApiError::new(
        telltale_model::ErrorCode::Unavailable,
        "the engine is shutting down",
    )
}

/// When the app started, to say how long the first dashboard took (`cargo xtask measure` reads
/// the line; so can anyone wondering why a phone feels slow to open).
pub struct Launch {
    started: std::sync::OnceLock<std::time::Instant>,
    told: std::sync::atomic::AtomicBool,
}

pub static LAUNCH: Launch = Launch {
    started: std::sync::OnceLock::new(),
    told: std::sync::atomic::AtomicBool::new(false),
};

impl Launch {
    fn start(&self) {
        let _ = self.started.set(std::time::Instant::now());
    }

    /// The first dashboard answered: the page draws it as the answer arrives.
    fn first_dashboard(&self) {
        let Some(started) = self.started.get() else {
            return;
        };
        if !self.told.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::info!(
                target: "telltale::launch",
                ms = started.elapsed().as_millis() as u64,
                "first dashboard answered"
            );
        }
    }
}

/// Desktop `main` and the Android/iOS entry point both land here.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    LAUNCH.start();
    one_heap();
    prepare_webkit();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    tell_web_egl();
    let app = build(tauri::Builder::default())
        .build(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("telltale: cannot start the app: {e}");
            std::process::exit(1);
        });
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            shutdown(handle);
        }
    });
}

/// Sets up the environment WebKitGTK reads when it starts the web process: what the app needs
/// from WebKit and no more (`software_compositing_off`, `optimizing_compilers_off`,
/// `script_heap_small`).
/// Public so that the shell-alone example (`src-tauri/examples/shell.rs`, which `cargo xtask
/// measure` runs beside the app) starts WebKit exactly as the app does. Must run first in
/// `main`, before GTK or any other thread starts: the environment must not change under other
/// threads. What the app itself starts inherits it too: only the demo's broker, which reads none
/// of it.
pub fn prepare_webkit() {
    software_compositing_off();
    optimizing_compilers_off();
    script_heap_small();
}

/// Turns WebKitGTK's accelerated compositing off unless asked to keep it
/// (`TELLTALE_GPU_COMPOSITING=1`) or told otherwise (`WEBKIT_DISABLE_COMPOSITING_MODE` already
/// set). Without a GPU (an edge box, a VM, most tablets running Linux) WebKit composites in
/// software through Mesa: measured beside 1000 stored series, that cost the web process about
/// 166 MiB more and doubled the idle CPU, for a page of cards and one chart that needs no
/// compositing.
fn software_compositing_off() {
    #[cfg(target_os = "linux")]
    {
        let keep = std::env::var_os("TELLTALE_GPU_COMPOSITING").is_some_and(|v| v == "1");
        if !keep && std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
            std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
        }
        if !keep {
            no_gl_in_this_process();
        }
        let compositing_off =
            std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_some_and(|v| v != "0");
        if compositing_off {
            let _ = WEB_EGL.set(web_egl::offer());
        }
    }
}

/// What `web_egl::offer` did, said once logging is up.
#[cfg(target_os = "linux")]
static WEB_EGL: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();

fn tell_web_egl() {
    #[cfg(target_os = "linux")]
    match WEB_EGL.get() {
        Some(Ok(library)) => {
            tracing::info!(library = %library.display(), "the web process gets an EGL display without Mesa")
        }
        Some(Err(why)) => tracing::warn!("the web process loads the system's EGL (Mesa): {why}"),
        None => {}
    }
}

/// Leaves JavaScriptCore's optimizing tiers off in the web process: DFG/FTL for JavaScript
/// (ours is only the glue around the wasm UI and Tauri's IPC) and OMG for WebAssembly (the UI's
/// hot paths stay in the BBQ baseline compiler). What is slow in this UI is WebKit drawing, not
/// wasm computing: with both off, the e2e's chart figures did not move (a year drawn in 15 ms
/// against 14, the wheel's work per frame at most 12 ms against 13), and the web process held
/// about 10 MiB less (`cargo xtask measure`, 1000 series: the optimizing compilers' code, their
/// working memory, and the heap they leave behind). Either comes back by setting its variable
/// (`JSC_useDFGJIT=true`, `JSC_useOMGJIT=true`).
fn optimizing_compilers_off() {
    #[cfg(target_os = "linux")]
    for name in ["JSC_useDFGJIT", "JSC_useOMGJIT"] {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, "false");
        }
    }
}

/// Has JavaScriptCore collect the page's whole heap, not only its young objects, each time it
/// has grown by 8 MiB rather than the 32 a browser tab gets. Every live update reaches the page
/// as a script Tauri evaluates, and what each one leaves behind outlives young-generation
/// collections (turning JavaScriptCore's code cache off did not change that): it is old
/// garbage, which only a full collection frees, and those came minutes apart. Beside 1000
/// stored series with the demo running, the web process's own memory went from 45 to 62 MiB
/// between its fourth and tenth minute in one run, and from 37.5 to 39.3 between its first and
/// fifth in another; with every collection full and at 8 MiB it read 37.3 to 37.6 throughout
/// (those two side by side, at once). This UI holds about
/// 5.5 MB of live JavaScript objects, so a full collection is quick. `JSC_largeHeapSize` or
/// `JSC_useGenerationalGC` already set wins.
fn script_heap_small() {
    #[cfg(target_os = "linux")]
    for (name, value) in [
        ("JSC_largeHeapSize", "8388608"),
        ("JSC_useGenerationalGC", "false"),
    ] {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, value);
        }
    }
}

/// Keeps Mesa out of the app's own process when WebKit draws without compositing. GTK (GLX, at
/// display open) and WebKit's UI side (EGL) each load Mesa's DRI driver, and with it libLLVM,
/// which costs the process about 20 MiB (PSS; 8 MiB of it relocated, private, for nothing: no GL
/// is drawn here). `GDK_GL=disable` stops GTK's; for EGL, libglvnd reads its vendor list once,
/// on first use: we use it first with a vendor list naming nothing, then put the environment
/// back, so that the web process WebKit starts later still finds a vendor: it aborts without an
/// EGL display, and WebKitGTK 2.50 opens one with every page whatever the hardware-acceleration
/// policy (its drawing area reads the preferences before the page's settings hold them). The
/// vendor it finds first is `web_egl`'s, which keeps Mesa out of that process too.
#[cfg(target_os = "linux")]
fn no_gl_in_this_process() {
    if std::env::var_os("GDK_GL").is_none() {
        std::env::set_var("GDK_GL", "disable");
    }
    const VENDORS: &str = "__EGL_VENDOR_LIBRARY_FILENAMES";
    const EGL_EXTENSIONS: i32 = 0x3055;
    let was = std::env::var_os(VENDORS);
    std::env::set_var(VENDORS, "/nonexistent/telltale-no-egl-vendor.json");
    // SAFETY: NUL-terminated names; eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS) has that
    // signature in every libEGL and reads no memory of ours. The library stays loaded (never
    // dlclose'd), so its empty vendor list stays the process's.
    unsafe {
        let egl = libc::dlopen(c"libEGL.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
        if !egl.is_null() {
            let query = libc::dlsym(egl, c"eglQueryString".as_ptr());
            if !query.is_null() {
                type QueryString =
                    unsafe extern "C" fn(*mut libc::c_void, i32) -> *const libc::c_char;
                let query = std::mem::transmute::<*mut libc::c_void, QueryString>(query);
                query(std::ptr::null_mut(), EGL_EXTENSIONS);
            }
        }
    }
    match was {
        Some(v) => std::env::set_var(VENDORS, v),
        None => std::env::remove_var(VENDORS),
    }
}

/// One malloc arena for the whole app process, set before any thread starts. glibc gives
/// threads arenas of their own (up to eight per core), and the engine's periodic work runs on
/// blocking threads that come and go: their long-lived allocations scatter over several
/// arenas, whose partly used pages no trim can hand back. Measured beside 1000 stored series
/// with the demo running, the app's own memory grew from 22.4 to 25.7 MiB in its first five
/// minutes with the default and from 22.2 to 22.6 with one arena (the same machine, at once).
/// The app allocates a few thousand times a second, far from contending for one lock. Not the
/// headless collector's choice: it is not set there. `MALLOC_ARENA_MAX`, if set, wins.
fn one_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets glibc's malloc parameters; called before any other thread.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

/// Hands the memory the app has freed back to the system every five seconds. glibc keeps what
/// is freed for reuse, and the engine's periodic work (upkeep passes, alert state saves, rollups)
/// frees megabytes at a time: measured beside 1000 stored series, about 3 MiB of the app's own
/// memory was free but held, and with one arena (`one_heap`) each minute's upkeep pass still
/// left its 2.5 MiB of working memory in the heap until the next trim (the app read 63 to 67 MiB
/// with a trim every 30 s, depending on when it was read). `malloc_trim` releases the free pages
/// (`MALLOC_ARENA_MAX=2` alone did not help); it takes well under a millisecond. The task is the
/// app state's, aborted on exit.
fn give_back_freed_memory() -> Option<tauri::async_runtime::JoinHandle<()>> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        Some(tauri::async_runtime::spawn(async {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            every.tick().await;
            loop {
                every.tick().await;
                // SAFETY: malloc_trim only walks glibc's own arenas, under their locks. It takes
                // well under a millisecond, so it runs on the runtime's thread.
                unsafe {
                    libc::malloc_trim(0);
                }
            }
        }))
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

/// The web context of a one-page app: WebKit's memory cache sized for a document viewer, not a
/// browser (the bundled UI's wasm, script and style are loaded once and never again).
#[cfg(target_os = "linux")]
fn lean_web_context<R: Runtime>(window: &tauri::WebviewWindow<R>) -> tauri::Result<()> {
    window.with_webview(|webview| {
        use webkit2gtk::{CacheModel, WebContextExt, WebViewExt};
        if let Some(context) = webview.inner().context() {
            context.set_cache_model(CacheModel::DocumentViewer);
        }
    })
}

/// Everything but the context, generic over the runtime so tests can use Tauri's mock runtime.
pub fn build<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .setup(|app| {
            let db = database_path(app.handle())?;
            tracing::info!(db = %db.display(), "opening the store");
            let engine = Engine::open(&db)?;
            let demo = demo_enabled();
            // Tasks spawn onto Tauri's own tokio runtime, which lives as long as the app.
            tauri::async_runtime::block_on(async {
                engine.start_pruning();
                if demo {
                    engine.start_demo();
                }
                if let Err(e) = engine.start_alerts(Arc::new(DesktopNotifier(app.handle().clone())))
                {
                    tracing::error!(error = %e, "alert engine not started");
                }
                // A broker that cannot start shows as failed on the status strip; the app
                // still opens.
                if let Err(e) = engine.start_configured_brokers() {
                    tracing::error!(error = %e, "configured brokers not started");
                }
                if let Err(e) = engine.start_bluetooth() {
                    tracing::error!(error = %e, "Bluetooth not started");
                }
                engine.start_historian();
            });
            // A writer that dies (a bug) means nothing more is stored: say so and exit non-zero
            // rather than show a live-looking app that keeps nothing.
            let mut died = engine.writer_died();
            let handle = app.handle().clone();
            let watch = tauri::async_runtime::spawn(async move {
                if died.wait_for(Option::is_some).await.is_ok() {
                    let why = died.borrow().clone().unwrap_or_default();
                    tracing::error!(%why, "the store's writer died: nothing more can be stored; exiting");
                    handle.exit(1);
                }
            });
            app.manage(AppState {
                engine,
                live: Mutex::new(None),
                watching: tokio::sync::watch::Sender::new(live::Watching::default()),
                tasks: std::iter::once(watch)
                    .chain(give_back_freed_memory())
                    .collect(),
            });
            // Made here rather than by Tauri from tauri.conf.json ("create": false): so the
            // window has its navigation guard from its first load, and its UI never calls a
            // command before the engine is managed.
            let config = app
                .config()
                .app
                .windows
                .iter()
                .find(|w| w.label == MAIN_WINDOW)
                .ok_or("tauri.conf.json has no \"main\" window")?;
            let window = tauri::WebviewWindowBuilder::from_config(app.handle(), config)?
                .on_navigation(|url| {
                    let allowed = is_bundled_ui(url);
                    if !allowed {
                        tracing::warn!(%url, "navigation away from the bundled UI refused");
                    }
                    allowed
                })
                .build()?;
            #[cfg(target_os = "linux")]
            lean_web_context(&window)?;
            Ok(())
        })
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(handler())
}

/// Every command registered with Tauri, named once: for the handler, for `cargo xtask test`
/// (which reads this list), and for the test that checks it against the IPC contract.
macro_rules! registered {
    ($($command:ident),* $(,)?) => {
        #[cfg(test)]
        const REGISTERED: &[&str] = &[$(stringify!($command)),*];

        fn handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$(commands::$command),*]
        }
    };
}

registered!(
    dashboard,
    live,
    start_demo,
    watch,
    ble_nearby,
    ble_devices,
    save_ble_device,
    remove_ble_device,
    history,
    device,
    export_csv,
    export_chart,
    retention,
    set_retention,
    brokers,
    save_broker,
    test_broker,
    delete_broker,
    historian,
    save_historian,
    remove_historian,
    test_historian,
    alerts,
    alert_history,
    acknowledge_alert,
    shelve_alert,
    unshelve_alert,
    save_alert_rules,
    preview_rule,
    save_rule,
    delete_rule,
    save_notifications,
    test_notification,
    forecasts,
    series_alerts,
    set_device_tags,
    chart_views,
    save_chart_view,
    delete_chart_view,
    service_plans,
    save_service_plan,
    delete_service_plan,
    mark_serviced,
    fleet_rul,
);

/// The app's one window. `capabilities/main.json` grants it the commands its UI calls.
const MAIN_WINDOW: &str = "main";

/// Whether `url` is the bundled UI (ui/dist, served by Tauri): `tauri://localhost` where the
/// webview takes custom schemes (Linux, macOS, iOS), `http(s)://tauri.localhost` where it does
/// not (Windows, Android). The main window may navigate nowhere else: a page of another origin
/// never runs in it, whatever a link, a script or a form asks.
fn is_bundled_ui(url: &tauri::Url) -> bool {
    let host = match url.scheme() {
        "tauri" => "localhost",
        "http" | "https" => "tauri.localhost",
        _ => return false,
    };
    url.host_str() == Some(host) && url.port().is_none() && url.username().is_empty()
}

/// Stops the sources and commits what they handed over before the process ends.
fn shutdown<R: Runtime>(handle: &tauri::AppHandle<R>) {
    let Some(state) = handle.try_state::<AppState>() else {
        return;
    };
    if let Some(live) = state.live.lock().unwrap_or_else(|p| p.into_inner()).take() {
        live.abort();
    }
    for task in &state.tasks {
        task.abort();
    }
    tauri::async_runtime::block_on(state.engine.shutdown());
}

/// `TELLTALE_DATA_DIR` puts the database elsewhere (tests, a portable install); otherwise the
/// platform's app-data folder.
fn database_path<R: Runtime>(
    app: &tauri::AppHandle<R>,
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let dir = match std::env::var_os("TELLTALE_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => app.path().app_data_dir()?,
    };
    std::fs::create_dir_all(&dir)?;
    Ok(dir.join("telltale.db"))
}

/// The demo fleet runs unless switched off with `TELLTALE_DEMO=0`, so a first launch shows life.
fn demo_enabled() -> bool {
    std::env::var("TELLTALE_DEMO").map_or(true, |v| v != "0")
}

/// Alert notifications as desktop (and, on phones, system) notifications. Where the platform has
/// no notification service (a headless test machine) the failure is logged, never fatal.
struct DesktopNotifier<R: Runtime>(tauri::AppHandle<R>);

impl<R: Runtime> telltale_engine::alerting::Notifier for DesktopNotifier<R> {
    fn notify(&self, n: &telltale_alerts::Notification) {
        use tauri_plugin_notification::NotificationExt;
        if let Err(e) = self
            .0
            .notification()
            .builder()
            .title(&n.title)
            .body(&n.body)
            .show()
        {
            tracing::warn!(error = %e, alert = %n.key, "desktop notification not shown");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{is_bundled_ui, REGISTERED};

    #[test]
    fn every_command_of_the_contract_is_registered() {
        for name in telltale_model::ipc::NAMES {
            assert!(
                REGISTERED.contains(name),
                "{name} is declared but not registered"
            );
        }
        // Registered but not in the contract: what the UI must never call (the e2e proves
        // the window is refused it).
        let extra: Vec<_> = REGISTERED
            .iter()
            .filter(|n| !telltale_model::ipc::NAMES.contains(n))
            .collect();
        assert_eq!(extra, [&"device"]);
    }

    #[test]
    fn only_the_bundled_ui_is_a_destination() {
        let cases = [
            ("tauri://localhost/", true),
            ("tauri://localhost/index.html#/device/x", true),
            ("http://tauri.localhost/", true),
            ("https://tauri.localhost/boot.js", true),
            ("tauri://localhost.evil.example/", false),
            ("tauri://evil.example/", false),
            ("http://tauri.localhost:8080/", false),
            ("http://user@tauri.localhost/", false),
            ("http://tauri.localhost.evil.example/", false),
            ("http://localhost/", false),
            ("http://127.0.0.1:1430/", false),
            ("https://example.com/", false),
            ("ipc://localhost/dashboard", false),
            ("data:text/html,<p>hi</p>", false),
            ("about:blank", false),
            ("file:///etc/passwd", false),
            ("javascript:alert(1)", false),
        ];
        for (url, want) in cases {
            let parsed = tauri::Url::parse(url).unwrap();
            assert_eq!(is_bundled_ui(&parsed), want, "{url}");
        }
    }
}
