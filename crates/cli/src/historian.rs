//! `ship`, and `query`/`export --historian`: the plant historian from the command line.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use telltale_engine::secret::{ExposeSecret, OsKeyring, SecretStore};
use telltale_historian::{Historian, HistorianError, Target};
use telltale_store::Store;

/// Connects to the historian at `url`: without a password first (a trusted local connection
/// needs none), then with the one in the OS keyring if the server asks for one. The keyring is
/// not touched when it is not needed (a headless box may have none running).
pub async fn connect(url: &str) -> Result<Historian, String> {
    let target = Target::parse(url).map_err(|e| e.to_string())?;
    match Historian::connect(&target, None).await {
        Err(HistorianError::NeedsPassword) => {
            let name = target.secret_name();
            let stored = OsKeyring
                .get(&name)
                .map_err(|e| format!("{}; {e}", HistorianError::NeedsPassword))?
                .ok_or_else(|| HistorianError::NeedsPassword.to_string())?;
            Historian::connect(&target, Some(stored.expose_secret()))
                .await
                .map_err(|e| e.to_string())
        }
        other => other.map_err(|e| e.to_string()),
    }
}

/// Runs `f` on a connected historian, on a runtime of its own.
pub fn run<T, F, Fut>(url: &str, f: F) -> Result<T, String>
where
    F: FnOnce(Historian) -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?
        .block_on(async move { f(connect(url).await?).await })
}

/// The site a database ships under when `--site` is not given: the host's name.
fn default_site() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "telltale".into())
}

pub fn ship(db: &Path, url: &str, site: Option<String>) -> Result<(), String> {
    let site = site.unwrap_or_else(default_site);
    let store = Arc::new(crate::history::open_existing(db)?);
    let started = std::time::Instant::now();
    let shipped = run(url, |mut h| async move {
        h.ship(&store, &site, telltale_sources::now_ms())
            .await
            .map_err(|e| e.to_string())
    })?;
    let mut line = serde_json::to_value(&shipped).expect("a shipment serialises");
    line["seconds"] =
        serde_json::json!((started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0);
    crate::print_line(line)
}

/// The collector's shipments to its `[historian]`: one now, then one every interval while it
/// collects, and a last one after the sources stopped, so what they handed over at the end goes
/// too. A historian that cannot be reached costs a warning per attempt, never the collection.
pub struct Shipping {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Shipping {
    /// Checks the address now (a typo stops the collector at start, not an hour later), then
    /// ships in the background.
    pub fn start(db: &Path, entry: &telltale_engine::HistorianEntry) -> Result<Shipping, String> {
        let target = Target::parse(&entry.url).map_err(|e| format!("[historian] {e}"))?;
        let store = Arc::new(crate::history::open_existing(db)?);
        let site = entry.site.clone().unwrap_or_else(default_site);
        let url = entry.url.clone();
        let every = std::time::Duration::from_secs_f64(entry.interval_s);
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            let mut historian: Option<Historian> = None;
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = stopped.changed() => break,
                }
                ship_once(&mut historian, &url, &target, &store, &site).await;
            }
            ship_once(&mut historian, &url, &target, &store, &site).await;
        });
        Ok(Shipping { stop, task })
    }

    /// Stops the schedule after a last shipment (given 30 s at most).
    pub async fn finish(mut self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(std::time::Duration::from_secs(30), &mut self.task)
            .await
            .is_err()
        {
            tracing::warn!("the last shipment to the historian did not finish in 30 s; the next run sends the rest");
            self.task.abort();
        }
    }
}

async fn ship_once(
    historian: &mut Option<Historian>,
    url: &str,
    target: &Target,
    store: &Arc<Store>,
    site: &str,
) {
    if historian.is_none() {
        match connect(url).await {
            Ok(h) => *historian = Some(h),
            Err(e) => {
                tracing::warn!(historian = %target.shown(), "cannot ship: {e}");
                return;
            }
        }
    }
    let Some(h) = historian.as_mut() else { return };
    match h.ship(store, site, telltale_sources::now_ms()).await {
        Ok(s) if s.readings > 0 || s.rollup_hours > 0 => tracing::info!(
            historian = %target.shown(),
            readings = s.readings,
            hours = s.hours,
            "shipped"
        ),
        Ok(_) => tracing::debug!(historian = %target.shown(), "nothing new to ship"),
        Err(e) => {
            tracing::warn!(historian = %target.shown(), "shipping failed, retrying next time: {e}");
            // A broken connection is made again next time; a fresh one costs little.
            *historian = None;
        }
    }
}
