//! `telltale`: the same engine as the app, without a window. An edge box runs it to keep the
//! history while the tablet is away.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use telltale_sources::{now_ms, Engine};

#[derive(Parser)]
#[command(
    name = "telltale",
    version,
    about = "Telltale's headless engine: collect, decode and query readings without a window"
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
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("telltale: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo { db, seconds } => demo(db, seconds).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("telltale: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn demo(db: PathBuf, seconds: Option<f64>) -> Result<(), String> {
    if let Some(s) = seconds {
        if !s.is_finite() || s < 0.0 {
            return Err(format!("--seconds must be a non-negative number, got {s}"));
        }
    }
    let mut engine = Engine::open(&db).map_err(|e| e.to_string())?;
    engine.start_demo();
    let until = async {
        match seconds {
            Some(s) => tokio::time::sleep(Duration::from_secs_f64(s)).await,
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
    println!("{summary}");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM, so a service manager's stop flushes the store.
async fn shutdown_signal() {
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
