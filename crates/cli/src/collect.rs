//! `telltale collect`: the headless collector an edge box runs, and `telltale secret`, which
//! puts a broker's password or a BLE device's bindkey into the OS keyring (the only place either
//! is ever kept).

use std::io::Read;
use std::path::Path;
use telltale_engine::alerting::LogNotifier;
use telltale_engine::secret::{OsKeyring, SecretStore};
use telltale_engine::{bindkey_name, CollectorConfig, Engine};
use telltale_model::ble::{bindkey_hex, normalize_address, parse_bindkey};
use telltale_sources::mqtt::secret_key;

/// Runs every configured source into the database until SIGINT or SIGTERM, then stops the
/// sources, commits what they handed over and exits.
pub async fn collect(db: &Path, config: &Path) -> Result<(), String> {
    let config = CollectorConfig::load(config).map_err(|e| e.to_string())?;
    let engine = Engine::open(db).map_err(|e| e.to_string())?;
    // Alerts fire at the edge too: notifications go to the log.
    if let Err(e) = engine
        .start_collecting(&config, std::sync::Arc::new(LogNotifier))
        .await
    {
        engine.shutdown().await;
        return Err(e.to_string());
    }
    let shipping = match &config.historian {
        Some(entry) => Some(crate::historian::Shipping::start(db, entry)?),
        None => None,
    };
    tracing::info!(db = %db.display(), "collecting; stop with SIGINT or SIGTERM");
    let mut died = engine.writer_died();
    tokio::select! {
        _ = crate::shutdown_signal() => {}
        _ = died.wait_for(Option::is_some) => {}
    }
    let death = died.borrow().clone();
    tracing::info!("stopping: committing what the sources handed over");
    engine.shutdown().await;
    if let Some(shipping) = shipping {
        shipping.finish().await;
    }
    match death {
        // Exit non-zero: a service manager restarts a collector that cannot store.
        Some(why) => Err(format!(
            "the store's writer died ({why}); nothing more could be stored, so the collector stopped"
        )),
        None => Ok(()),
    }
}

/// Whose secret: a broker of the config (its password) or a BLE device (its bindkey).
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
pub struct SecretOwner {
    /// The broker's `id` in the config: its password.
    #[arg(long)]
    broker: Option<String>,
    /// A BLE device's address (AA:BB:CC:DD:EE:FF): its bindkey, 32 hex digits.
    #[arg(long)]
    ble: Option<String>,
    /// A plant historian's URL (postgres://USER@HOST:PORT/DBNAME): its user's password.
    #[arg(long)]
    historian: Option<String>,
}

impl SecretOwner {
    /// The keyring entry, and what to call it in messages.
    fn entry(&self) -> Result<(String, String), String> {
        if let Some(url) = &self.historian {
            let target = telltale_historian::Target::parse(url).map_err(|e| e.to_string())?;
            return Ok((
                target.secret_name(),
                format!("the password of historian {}", target.shown()),
            ));
        }
        match (&self.broker, &self.ble) {
            (Some(broker), _) => Ok((
                secret_key(broker),
                format!("the password of broker {broker}"),
            )),
            (None, Some(address)) => {
                let address = normalize_address(address).map_err(|e| e.message)?;
                Ok((bindkey_name(&address), format!("the bindkey of {address}")))
            }
            (None, None) => Err("name a --broker, a --ble device or a --historian".into()),
        }
    }
}

/// Reads a secret from stdin (never from the command line, where `ps` and shell history would
/// see it) and stores it in the keyring. A bindkey is checked before it is stored.
pub fn set(whose: &SecretOwner) -> Result<(), String> {
    let (entry, what) = whose.entry()?;
    let mut input = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read the secret from stdin: {e}"))?;
    // One line: a trailing newline from `echo` is not part of the password.
    let secret = input.strip_suffix('\n').unwrap_or(&input);
    let secret = secret.strip_suffix('\r').unwrap_or(secret);
    if secret.is_empty() {
        return Err(
            "no secret on stdin (pipe it in: `printf %s SECRET | telltale secret set --broker ID`)"
                .into(),
        );
    }
    if secret.contains('\n') {
        return Err("the secret must be one line".into());
    }
    let secret = match whose.ble {
        // Stored as the app stores it: 32 lower-case hex digits.
        Some(_) => bindkey_hex(&parse_bindkey(secret).map_err(|e| e.message)?),
        None => secret.to_owned(),
    };
    OsKeyring.set(&entry, &secret).map_err(|e| e.to_string())?;
    eprintln!("stored {what} in the OS keyring");
    Ok(())
}

pub fn delete(whose: &SecretOwner) -> Result<(), String> {
    let (entry, _) = whose.entry()?;
    OsKeyring.delete(&entry).map_err(|e| e.to_string())
}
