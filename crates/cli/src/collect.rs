//! `telltale collect`: the headless collector an edge box runs, and `telltale secret`, which
//! puts a broker's password into the OS keyring (the only place it is ever kept).

use std::io::Read;
use std::path::Path;
use telltale_sources::alerting::LogNotifier;
use telltale_sources::mqtt::secret_key;
use telltale_sources::secret::{OsKeyring, SecretStore};
use telltale_sources::{CollectorConfig, Engine};

/// Runs every configured source into the database until SIGINT or SIGTERM, then stops the
/// sources, commits what they handed over and exits.
pub async fn collect(db: &Path, config: &Path) -> Result<(), String> {
    let config = CollectorConfig::load(config).map_err(|e| e.to_string())?;
    let mut engine = Engine::open(db).map_err(|e| e.to_string())?;
    engine.start_maintenance();
    // Alerts fire at the edge too: notifications go to the log.
    engine
        .start_alerts(std::sync::Arc::new(LogNotifier))
        .map_err(|e| e.to_string())?;
    for broker in config.mqtt {
        let id = broker.id.clone();
        engine
            .start_broker(broker, &OsKeyring)
            .map_err(|e| format!("broker {id}: {e}"))?;
    }
    tracing::info!(db = %db.display(), "collecting; stop with SIGINT or SIGTERM");
    crate::shutdown_signal().await;
    tracing::info!("stopping: committing what the sources handed over");
    engine.shutdown().await;
    Ok(())
}

/// Reads a secret from stdin (never from the command line, where `ps` and shell history would
/// see it) and stores it in the keyring.
pub fn set(broker: &str) -> Result<(), String> {
    let mut input = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read the secret from stdin: {e}"))?;
    // One line: a trailing newline from `echo` is not part of the password.
    let secret = input.strip_suffix('\n').unwrap_or(&input);
    let secret = secret.strip_suffix('\r').unwrap_or(secret);
    if secret.is_empty() {
        return Err("no secret on stdin (pipe it in: `printf %s PASSWORD | telltale secret set --broker ID`)".into());
    }
    if secret.contains('\n') {
        return Err("the secret must be one line".into());
    }
    OsKeyring
        .set(&secret_key(broker), secret)
        .map_err(|e| e.to_string())?;
    eprintln!("stored the password of broker {broker} in the OS keyring");
    Ok(())
}

pub fn delete(broker: &str) -> Result<(), String> {
    OsKeyring
        .delete(&secret_key(broker))
        .map_err(|e| e.to_string())
}
