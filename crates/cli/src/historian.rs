//! `ship`, and `query`/`export --historian`: the plant historian from the command line.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use telltale_historian::{Historian, HistorianError, Target};
use telltale_sources::secret::{ExposeSecret, OsKeyring, SecretStore};

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
