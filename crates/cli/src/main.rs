//! `telltale`: the same engine as the app, without a window. An edge box runs it to keep the
//! history while the tablet is away; the same binary imports, queries and exports history.

mod alerts;
mod collect;
mod csv_records;
mod decode;
mod devices;
mod forecast;
mod historian;
mod history;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use telltale_engine::Engine;
use telltale_sources::now_ms;

#[derive(Parser)]
#[command(
    name = "telltale",
    version,
    about = "Telltale's headless engine: collect, import, query and export readings without a window"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the built-in demo fleet (a simulated home and plant) into a database.
    Demo {
        /// The SQLite database to write (created if missing).
        #[arg(long)]
        db: PathBuf,
        /// Stop after this many seconds (default: run until SIGINT or SIGTERM).
        #[arg(long)]
        seconds: Option<f64>,
    },
    /// Import readings from CSV (header: device,metric,ts_ms,value). Importing the same rows
    /// again changes nothing; lines that do not parse are skipped and reported.
    Import {
        #[arg(long)]
        db: PathBuf,
        file: PathBuf,
    },
    /// Print one series' history in [from, to] as at most N buckets (JSON).
    Query {
        #[command(flatten)]
        range: history::SeriesRange,
        /// The most buckets to return.
        #[arg(long)]
        points: u32,
    },
    /// Decode one captured payload and print it as JSON (exit 1 with the reason when it is
    /// malformed).
    Decode {
        #[command(subcommand)]
        kind: decode::DecodeCommand,
    },
    /// Alert rules: dry-run them against history before enabling them.
    Alerts {
        #[command(subcommand)]
        action: AlertsCommand,
    },
    /// Print one JSON line per device: its id, name, source, state (live, stale, online or
    /// offline) and the newest value of each metric. Reads only: safe beside a live collector.
    Devices {
        /// The SQLite database to read.
        #[arg(long)]
        db: PathBuf,
        /// Judge freshness as of this time, ms since the epoch (default: now).
        #[arg(long)]
        now: Option<i64>,
    },
    /// Write one series' raw readings in [from, to] as CSV to stdout.
    Export {
        #[command(flatten)]
        range: history::SeriesRange,
    },
    /// Collect from the sources in a config file (TOML: [[mqtt]] brokers and their topics,
    /// [[ble]] devices) until SIGINT or SIGTERM; then commit what was received and exit 0.
    Collect {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        config: PathBuf,
    },
    /// Maintenance forecasts: remaining useful life from a fleet's histories, and when a
    /// series will cross a threshold.
    Forecast {
        #[command(subcommand)]
        action: forecast::ForecastCommand,
    },
    /// Copy to a plant historian (PostgreSQL) every reading and rollup of the database that it
    /// lacks, then print one JSON object ({"readings": N, ...}: N readings were new to it).
    /// Shipping again sends nothing; a shipment cut short is completed by the next one. Safe
    /// beside a live collector. Creates the historian's tables if they are missing.
    Ship {
        /// The SQLite database to ship (read only).
        #[arg(long)]
        db: PathBuf,
        /// The historian: postgres://USER@HOST:PORT/DBNAME[?sslmode=…&sslrootcert=FILE]. Its
        /// password, if it needs one, comes from the OS keyring (`telltale secret set --historian`).
        #[arg(long)]
        to: String,
        /// The site label this database ships under (default: the host's name).
        #[arg(long)]
        site: Option<String>,
    },
    /// Passwords and bindkeys in the OS keyring (never in files or the database).
    Secret {
        #[command(subcommand)]
        action: SecretCommand,
    },
}

#[derive(Subcommand)]
enum SecretCommand {
    /// Store a broker's password or a BLE device's bindkey (32 hex digits), read from stdin.
    Set {
        #[command(flatten)]
        whose: collect::SecretOwner,
    },
    /// Remove a broker's password or a BLE device's bindkey.
    Delete {
        #[command(flatten)]
        whose: collect::SecretOwner,
    },
}

#[derive(Subcommand)]
enum AlertsCommand {
    /// Evaluate RULES.toml over READINGS.csv (device,metric,ts_ms,value) and print one JSON
    /// object per alert event, in time order.
    Replay {
        #[arg(long)]
        rules: PathBuf,
        readings: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return arguments_error(error),
    };
    // A collector's log is its user interface: connection states are info lines.
    let default_filter = match cli.command {
        Command::Collect { .. } => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        Command::Demo { db, seconds } => with_runtime(|| demo(db, seconds)),
        Command::Import { db, file } => history::import(&db, &file),
        Command::Query { range, points } => history::query(&range, points),
        Command::Export { range } => history::export(&range),
        Command::Devices { db, now } => devices::list(&db, now.unwrap_or_else(now_ms)),
        Command::Collect { db, config } => {
            with_runtime(|| async move { collect::collect(&db, &config).await })
        }
        Command::Secret {
            action: SecretCommand::Set { whose },
        } => collect::set(&whose),
        Command::Secret {
            action: SecretCommand::Delete { whose },
        } => collect::delete(&whose),
        Command::Ship { db, to, site } => historian::ship(&db, &to, site),
        Command::Decode { kind } => decode::run(kind),
        Command::Forecast { action } => forecast::run(action),
        Command::Alerts {
            action: AlertsCommand::Replay { rules, readings },
        } => alerts::replay(&rules, &readings),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader stopped early (`| head`): what it read is all it wanted.
        Err(e) if e == OUTPUT_CLOSED => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("telltale: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What a command returns when the reader of its output went away (`| head`): not a failure.
const OUTPUT_CLOSED: &str = "standard output closed";

/// Prints one line of a command's result, flushed. `println!` would panic when the reader has
/// gone; this says so instead ([`OUTPUT_CLOSED`]), and `main` exits quietly.
fn print_line(line: impl std::fmt::Display) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(output_error)
}

/// An error writing a command's output, as `main` reports it.
fn output_error(e: std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        OUTPUT_CLOSED.into()
    } else {
        format!("writing the output: {e}")
    }
}

/// `telltale decode` promises exit 1 and a one-line reason for anything it cannot decode, its
/// arguments included (a checker or a script reads stderr as one line). Every other command,
/// and help or version output, keeps clap's behaviour (exit 2 and the usage).
fn arguments_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let decoding = std::env::args().nth(1).as_deref() == Some("decode");
    let informational = matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if !decoding || informational {
        error.exit();
    }
    // clap's message: "error: ..." and details on following lines, then a blank line and the
    // usage; keep the message and its details, on one line.
    let rendered = error.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.is_empty() && !line.starts_with("Usage:"))
        .collect();
    let message = message.join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    eprintln!("telltale: {message}");
    ExitCode::FAILURE
}

fn with_runtime<F: std::future::Future<Output = Result<(), String>>>(
    f: impl FnOnce() -> F,
) -> Result<(), String> {
    tokio::runtime::Runtime::new()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?
        .block_on(f())
}

async fn demo(db: PathBuf, seconds: Option<f64>) -> Result<(), String> {
    let run_for = match seconds {
        Some(s) => Some(Duration::try_from_secs_f64(s).map_err(|_| {
            format!(
                "--seconds must be a non-negative number of seconds a Duration can hold, got {s}"
            )
        })?),
        None => None,
    };
    let engine = Engine::open(&db).map_err(|e| e.to_string())?;
    engine.start_pruning();
    engine.start_demo();
    let until = async {
        match run_for {
            Some(d) => tokio::time::sleep(d).await,
            None => shutdown_signal().await,
        }
    };
    tokio::select! {
        _ = until => {}
        _ = shutdown_signal() => {}
    }
    let dashboard = engine.dashboard(now_ms()).map_err(|e| e.to_string())?;
    engine.shutdown().await;
    let summary = serde_json::json!({
        "db": db,
        "devices": dashboard.devices.len(),
        "series": dashboard.devices.iter().map(|d| d.latest.len()).sum::<usize>(),
        "sources": dashboard.sources,
    });
    print_line(summary)?;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM, so a service manager's stop flushes the store.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
