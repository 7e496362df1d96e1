//! The headless binary, run as a user runs it.

use std::process::Command;

fn telltale() -> Command {
    Command::new(env!("CARGO_BIN_EXE_telltale"))
}

#[test]
fn help_and_version() {
    let out = telltale().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("demo"), "{help}");
    let out = telltale().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("telltale {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_arguments_are_explained_not_panicked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    for bad in ["--seconds=-3", "--seconds=NaN", "--seconds=inf"] {
        let out = telltale()
            .args(["demo", "--db"])
            .arg(&db)
            .arg(bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--seconds"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert!(!db.exists(), "a rejected command touches nothing");
    let out = telltale()
        .args(["demo", "--db"])
        .arg(&db)
        .args(["--seconds", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "clap rejects a non-number");
    let out = telltale().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The demo fleet, headless: the simulated home and plant both reach the database through their
/// real paths (decoders; mosquitto + MQTT subscription).
#[test]
fn demo_fills_a_database_from_home_and_plant() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let out = telltale()
        .args(["demo", "--db"])
        .arg(&db)
        .args(["--seconds", "6"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sources = summary["sources"].as_array().unwrap();
    for s in sources {
        assert_eq!(s["state"], "connected", "{s}");
    }
    assert_eq!(sources.len(), 2, "{summary}");
    // 4 home devices + 3 machines, every machine with its 3 metrics.
    assert_eq!(summary["devices"], 7, "{summary}");
    // Living room and freezer: 4 series each (battery, temperature, humidity, rssi); the strap 3 at
    // least; the Ruuvi 10 or more; the machines 9.
    assert!(
        summary["series"].as_u64().unwrap() >= 4 + 4 + 3 + 10 + 9,
        "{summary}"
    );
    assert!(db.exists());
}

/// Pids of processes whose command line contains `needle`.
fn processes_with(needle: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .contains(needle)
                .then_some(pid)
        })
        .collect()
}

/// A `kill -9` runs no destructors; the demo's private broker must not outlive its parent.
#[cfg(target_os = "linux")]
#[test]
fn the_demo_broker_dies_with_a_killed_collector() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let mut child = telltale()
        .args(["demo", "--db"])
        .arg(dir.path().join("d.db"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let needle = format!("telltale-demo-{}-", child.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    while processes_with(&needle).is_empty() {
        assert!(Instant::now() < deadline, "the demo broker never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_with(&needle).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the broker outlived its parent: {:?}",
            processes_with(&needle)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
