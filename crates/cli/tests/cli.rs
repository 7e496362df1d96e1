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
    for bad in [
        "--seconds=-3",
        "--seconds=NaN",
        "--seconds=inf",
        "--seconds=1e20",
    ] {
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
    // 4 home devices (the neighbour's thermometer is heard, not stored) + 3 machines, every
    // machine with its 4 metrics, + the filter with its history.
    assert_eq!(summary["devices"], 8, "{summary}");
    // Living room and freezer: 4 series each (battery, temperature, humidity, rssi); the strap 3 at
    // least; the Ruuvi 10 or more; the machines 12 (vibration, temperature, pressure, current);
    // the filter 1: 34.
    assert!(summary["series"].as_u64().unwrap() >= 34, "{summary}");
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

/// `alerts replay` as the contract states it: one JSON object per event, ordered by ts with
/// ties broken by rule, device and metric; bad rows skipped and reported; exit 0.
#[test]
fn alerts_replay_contract() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nid = \"freezer-warm\"\ndevice = \"*\"\nmetric = \"temperature\"\nkind = \"high\"\n\
         limit = -15.0\ndeadband = 1.0\non_delay_s = 300\noff_delay_s = 60\n\n\
         [[rule]]\nid = \"a-low\"\ndevice = \"f2\"\nmetric = \"temperature\"\nkind = \"low\"\nlimit = -30\n",
    )
    .unwrap();
    let csv = dir.path().join("r.csv");
    // Unsorted on purpose; f2 rises at 0 and stays warm; f1 only briefly.
    std::fs::write(
        &csv,
        "device,metric,ts_ms,value\n\
         f2,temperature,300000,-10\n\
         f1,temperature,0,-10\n\
         f2,temperature,0,-10\n\
         f1,temperature,100000,-20\n\
         f1,temperature,not-a-time,5\n\
         f2,temperature,360000,NaN\n\
         f2,temperature,400000,-16.5\n\
         f2,temperature,460000,-16.2\n\
         f2,temperature,500000,-40\n\
         f1,humidity,0,99\n",
    )
    .unwrap();
    let out = telltale()
        .args(["alerts", "replay", "--rules"])
        .arg(&rules)
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let want = [
        r#"{"ts":300000,"rule":"freezer-warm","device":"f2","metric":"temperature","event":"raised","value":-10.0}"#,
        r#"{"ts":460000,"rule":"freezer-warm","device":"f2","metric":"temperature","event":"cleared","value":-16.2}"#,
        r#"{"ts":500000,"rule":"a-low","device":"f2","metric":"temperature","event":"raised","value":-40.0}"#,
    ];
    let want: Vec<serde_json::Value> = want
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events, want, "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 6") && stderr.contains("line 7"),
        "{stderr}"
    );

    std::fs::write(&rules, "[[rule]]\nid = \"x\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"high\"\nlimit = 1\ndeadband = -2\n").unwrap();
    let out = telltale()
        .args(["alerts", "replay", "--rules"])
        .arg(&rules)
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("deadband"));
}

/// A collector config that carries a secret by mistake (a `password` line, a password in the
/// broker URL) is refused by the real binary, and the secret is in neither of its outputs.
#[test]
fn a_config_with_a_secret_is_refused_without_echoing_it() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "hunter2-correct-horse";
    let broker = |extra: &str, url: &str| {
        format!(
            "[[mqtt]]\nid = \"plant\"\nurl = \"{url}\"\nclient_id = \"c\"\n{extra}\n\
             [[mqtt.topics]]\nfilter = \"p/+/+\"\nformat = \"number\"\ndevice = \"{{1}}\"\nmetric = \"{{2}}\"\n"
        )
    };
    let cases = [
        (
            "password line",
            broker(&format!("password = \"{secret}\""), "mqtt://h"),
        ),
        (
            "userinfo",
            broker("", &format!("mqtt://collector:{secret}@h")),
        ),
        (
            "bad value",
            broker(&format!("protocol = \"{secret}\""), "mqtt://h"),
        ),
    ];
    for (what, config) in cases {
        let file = dir.path().join("collect.toml");
        std::fs::write(&file, config).unwrap();
        let out = telltale()
            .args(["collect", "--db"])
            .arg(dir.path().join("x.db"))
            .arg("--config")
            .arg(&file)
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(
            !stderr.contains(secret) && !stdout.contains(secret),
            "{what}: {stderr}"
        );
        assert!(
            stderr.contains("collect.toml"),
            "{what}: says which file: {stderr}"
        );
    }
}
