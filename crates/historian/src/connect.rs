//! Where the historian is and how to reach it: a `postgres://` URL, TLS that verifies the server
//! (the system's roots, or `sslrootcert=FILE`), and a password that comes from the OS keyring,
//! never from the URL.

use crate::error::{HistorianError, Result};
use crate::{schema, Historian};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::config::{Host, SslMode};

/// Whether the connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP (`sslmode=disable`).
    Disable,
    /// TLS when the server offers it, verified (`sslmode=prefer`; the default on loopback).
    Prefer,
    /// TLS or no connection, verified (`require`, `verify-ca`, `verify-full`; the default for any
    /// other host: a plant network is not trusted by default).
    Require,
}

/// A parsed historian address.
#[derive(Clone)]
pub struct Target {
    config: tokio_postgres::Config,
    tls: TlsMode,
    root_cert: Option<PathBuf>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

impl Target {
    /// Parses `postgres://USER@HOST:PORT/DBNAME[?sslmode=…&sslrootcert=FILE]`. A password in the
    /// URL is refused: it would sit in shell history, process lists and config files.
    pub fn parse(url: &str) -> Result<Target> {
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .ok_or_else(|| {
                HistorianError::Address("it must start with postgres:// or postgresql://".into())
            })?;
        let (head, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority = head.split('/').next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            if userinfo.contains(':') {
                return Err(HistorianError::Address(
                    "it holds a password; keep the password in the OS keyring instead \
                     (`telltale secret set --historian URL`, the URL without it)"
                        .into(),
                ));
            }
        }
        let mut tls = None;
        let mut root_cert = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslmode" => {
                    tls = Some(match value {
                        "disable" => TlsMode::Disable,
                        "prefer" | "allow" => TlsMode::Prefer,
                        "require" | "verify-ca" | "verify-full" => TlsMode::Require,
                        other => {
                            return Err(HistorianError::Address(format!(
                                "sslmode {other:?} is not one of disable, prefer, require, verify-ca, verify-full"
                            )))
                        }
                    })
                }
                "sslrootcert" => root_cert = Some(PathBuf::from(value)),
                _ => kept.push(pair),
            }
        }
        let plain = if kept.is_empty() {
            format!("postgres://{head}")
        } else {
            format!("postgres://{head}?{}", kept.join("&"))
        };
        let mut config = tokio_postgres::Config::from_str(&plain)
            .map_err(|e| HistorianError::Address(e.to_string()))?;
        if config.get_user().is_none() {
            return Err(HistorianError::Address(
                "it names no user (postgres://USER@HOST:PORT/DBNAME)".into(),
            ));
        }
        if config.get_hosts().is_empty() {
            config.host("localhost");
        }
        let tls = tls.unwrap_or_else(|| {
            if loopback(&config) {
                TlsMode::Prefer
            } else {
                TlsMode::Require
            }
        });
        config.ssl_mode(match tls {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require => SslMode::Require,
        });
        config.connect_timeout(Duration::from_secs(10));
        config.application_name("telltale");
        Ok(Target {
            config,
            tls,
            root_cert,
        })
    }

    /// `USER@HOST:PORT/DBNAME`: how logs and errors name the historian, and the keyring entry's
    /// name after `historian:`.
    pub fn shown(&self) -> String {
        let c = &self.config;
        let host = match c.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let port = c.get_ports().first().copied().unwrap_or(5432);
        format!(
            "{}@{host}:{port}/{}",
            c.get_user().unwrap_or(""),
            c.get_dbname().or(c.get_user()).unwrap_or("")
        )
    }

    /// The keyring entry holding this historian's password.
    pub fn secret_name(&self) -> String {
        format!("historian:{}", self.shown())
    }

    pub fn tls(&self) -> TlsMode {
        self.tls
    }
}

fn loopback(config: &tokio_postgres::Config) -> bool {
    config.get_hosts().iter().all(|h| match h {
        Host::Tcp(name) => {
            name == "localhost"
                || name
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        #[cfg(unix)]
        Host::Unix(_) => true,
    })
}

impl Historian {
    /// Connects, then creates the historian's tables if they are missing. `password` is the one
    /// from the keyring, if any; a server that asks for one when none was given answers
    /// [`HistorianError::NeedsPassword`].
    pub async fn connect(target: &Target, password: Option<&str>) -> Result<Historian> {
        let mut config = target.config.clone();
        if let Some(p) = password {
            config.password(p);
        }
        let connected = match target.tls {
            TlsMode::Disable => config
                .connect(tokio_postgres::NoTls)
                .await
                .map(|(client, conn)| (client, tokio::spawn(drive(conn)))),
            TlsMode::Prefer | TlsMode::Require => {
                let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(target)?);
                config
                    .connect(tls)
                    .await
                    .map(|(client, conn)| (client, tokio::spawn(drive(conn))))
            }
        };
        let (client, driver) = connected.map_err(|e| {
            let text = error_text(&e);
            if text.contains("password missing") {
                HistorianError::NeedsPassword
            } else {
                HistorianError::Connect(format!("{}: {text}", target.shown()))
            }
        })?;
        let historian = Historian { client, driver };
        schema::ensure(&historian.client).await?;
        Ok(historian)
    }
}

/// The server's message when it sent one (wrong password, no such database), else the driver's
/// with its cause (refused, timed out, certificate not trusted).
fn error_text(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_owned();
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

async fn drive<F>(conn: F)
where
    F: std::future::Future<Output = std::result::Result<(), tokio_postgres::Error>>,
{
    if let Err(e) = conn.await {
        tracing::warn!(error = %e, "historian connection closed");
    }
}

/// Verifies the server against the system's roots and `sslrootcert`, if given.
fn tls_config(target: &Target) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = &target.root_cert {
        use rustls_pki_types::pem::PemObject;
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|e| HistorianError::Address(format!("sslrootcert {}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(HistorianError::Address(format!(
                "sslrootcert {}: no certificate in it",
                path.display()
            )));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| {
                HistorianError::Address(format!("sslrootcert {}: {e}", path.display()))
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HistorianError::Connect(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_or_say_why() {
        let t = Target::parse("postgres://plant@127.0.0.1:5433/history").unwrap();
        assert_eq!(t.shown(), "plant@127.0.0.1:5433/history");
        assert_eq!(t.tls(), TlsMode::Prefer, "loopback may go without TLS");
        let t = Target::parse("postgresql://plant@historian.example:5432/h").unwrap();
        assert_eq!(t.tls(), TlsMode::Require, "any other host needs TLS");
        let t = Target::parse("postgres://plant@10.0.0.5/h?sslmode=disable").unwrap();
        assert_eq!(t.tls(), TlsMode::Disable);
        assert_eq!(t.secret_name(), "historian:plant@10.0.0.5:5432/h");
        let t =
            Target::parse("postgres://p@h/d?sslmode=verify-full&sslrootcert=/etc/ca.pem").unwrap();
        assert_eq!(t.tls(), TlsMode::Require);
        for (bad, why) in [
            ("postgres://plant:hunter2@host/db", "password"),
            ("mysql://plant@host/db", "postgres://"),
            ("postgres://host/db", "no user"),
            ("postgres://p@h/d?sslmode=sometimes", "sslmode"),
        ] {
            let e = Target::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(!e.contains("hunter2"), "a password is never echoed: {e}");
        }
    }
}
