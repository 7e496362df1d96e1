//! `telltale devices`, and devices named as people name them in `query` and `export` (issue 11,
//! point 8: "the CLI cannot find what it stored"): from imported history, and beside a live
//! collector whose device a last will declares offline.

mod broker;

use broker::{export, now_ms, telltale, Broker, BrokerSetup, Collector, SHORT};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

const T: i64 = 1_700_000_000_000;

fn run(args: &[&str], db: &Path) -> Output {
    let mut c = telltale();
    c.arg(args[0]).arg("--db").arg(db).args(&args[1..]);
    c.output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn failure(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "should fail; printed {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `telltale devices` as JSON values, one per line.
fn devices(db: &Path, now: Option<i64>) -> Vec<serde_json::Value> {
    let now = now.map(|n| n.to_string());
    let mut args = vec!["devices"];
    if let Some(n) = &now {
        args.extend(["--now", n]);
    }
    stdout(&run(&args, db))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn export_args<'a>(device: &'a str, metric: &'a str) -> Vec<&'a str> {
    vec![
        "export",
        "--device",
        device,
        "--metric",
        metric,
        "--from",
        "0",
        "--to",
        "4102444800000",
    ]
}

#[test]
fn devices_are_listed_and_found_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (db, csv) = (dir.path().join("t.db"), dir.path().join("in.csv"));
    let mut rows = vec!["device,metric,ts_ms,value".to_owned()];
    for (device, metric, ts, value) in [
        ("mqtt:plant/dev1", "t", T - 1_000, 1.5),
        ("mqtt:plant/dev1", "t", T, 2.5),
        ("mqtt:plant/dev1", "p", T - 5_000, 6.25),
        ("mqtt:other/dev1", "t", T - 300_000, -4.0),
        ("mqtt:plant/press-7", "t", T - 100_000, 7.0),
        ("ble:AA:BB:CC:DD:EE:FF", "temperature", T - 10_000, 21.5),
    ] {
        rows.push(format!("{device},{metric},{ts},{value}"));
    }
    std::fs::write(&csv, rows.join("\n") + "\n").unwrap();
    stdout(&run(&["import", csv.to_str().unwrap()], &db));

    // Imported devices have no description: each is named by its id, expected every minute,
    // so live when heard within 3 minutes of --now.
    let listed = devices(&db, Some(T + 60_000));
    let ids: Vec<&str> = listed.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "ble:AA:BB:CC:DD:EE:FF",
            "mqtt:other/dev1",
            "mqtt:plant/dev1",
            "mqtt:plant/press-7"
        ]
    );
    assert_eq!(
        listed[2],
        serde_json::json!({
            "id": "mqtt:plant/dev1",
            "name": "mqtt:plant/dev1",
            "kind": "unknown",
            "site": "",
            "source": {"transport": "mqtt", "broker": "plant"},
            "expected_interval_ms": 60_000,
            "state": "live",
            "last_seen_ms": T,
            "offline_since_ms": null,
            "metrics": [
                {"metric": "p", "unit": null, "last_ts_ms": T - 5_000, "last_value": 6.25},
                {"metric": "t", "unit": null, "last_ts_ms": T, "last_value": 2.5},
            ],
        })
    );
    let states: Vec<&str> = listed
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["live", "stale", "live", "live"]);
    assert_eq!(
        listed[0]["source"],
        serde_json::json!({"transport": "ble", "broker": null})
    );
    assert_eq!(listed[1]["source"]["broker"], "other");
    // Later, everything is stale; without --now, the clock says so too.
    for late in [devices(&db, Some(T + 3_600_000)), devices(&db, None)] {
        assert!(late.iter().all(|d| d["state"] == "stale"), "{late:?}");
        assert!(late.iter().all(|d| d["offline_since_ms"].is_null()));
    }

    // Unambiguous names resolve; the CSV names the device by its id.
    for (name, id) in [
        ("press-7", "mqtt:plant/press-7"),
        ("plant/dev1", "mqtt:plant/dev1"),
        ("mqtt:other/dev1", "mqtt:other/dev1"),
        ("aa:bb:cc:dd:ee:ff", "ble:AA:BB:CC:DD:EE:FF"),
    ] {
        let metric = if id.starts_with("ble:") {
            "temperature"
        } else {
            "t"
        };
        let csv = stdout(&run(&export_args(name, metric), &db));
        let rows: Vec<&str> = csv.lines().skip(1).collect();
        assert!(!rows.is_empty(), "{name}: {csv}");
        assert!(
            rows.iter()
                .all(|r| r.starts_with(&format!("{id},{metric},"))),
            "{name}: {csv}"
        );
    }
    let q = stdout(&run(
        &[
            "query",
            "--device",
            "press-7",
            "--metric",
            "t",
            "--from",
            "0",
            "--to",
            "4102444800000",
            "--points",
            "10",
        ],
        &db,
    ));
    let q: serde_json::Value = serde_json::from_str(&q).unwrap();
    assert_eq!(q["buckets"][0]["mean"], 7.0, "{q}");

    // Two devices answer to "dev1": neither is picked, both are offered.
    for command in ["export", "query"] {
        let mut args = export_args("dev1", "t");
        args[0] = command;
        if command == "query" {
            args.extend(["--points", "10"]);
        }
        let err = failure(&run(&args, &db));
        assert!(err.contains("\"dev1\" is ambiguous"), "{err}");
        assert!(
            err.contains("mqtt:plant/dev1") && err.contains("mqtt:other/dev1"),
            "{err}"
        );
        assert!(!err.contains("press-7"), "{err}");
    }
    // A name no device has: the look-alikes are offered.
    let err = failure(&run(&export_args("dev2", "t"), &db));
    assert!(err.contains("no metric t on device \"dev2\""), "{err}");
    assert!(
        err.contains("did you mean") && err.contains("mqtt:plant/dev1"),
        "{err}"
    );
    // An id is matched exactly, then its metric looked up.
    let err = failure(&run(&export_args("mqtt:plant/dev1", "nope"), &db));
    assert!(
        err.contains("no metric nope on device mqtt:plant/dev1"),
        "{err}"
    );
    // Reading never creates or changes anything.
    let missing = dir.path().join("missing.db");
    let err = failure(&run(&["devices"], &missing));
    assert!(err.contains("no database"), "{err}");
    assert!(!missing.exists());
}

/// A collector with an availability topic: a device's last will ("offline") shows in `telltale
/// devices` while the collector runs (a reader beside a live writer), and "online" brings it
/// back; the device is found by the name its topic gave it.
#[test]
fn a_last_will_shows_the_device_offline_beside_a_live_collector() {
    let broker = Broker::start(BrokerSetup::default());
    let dir = tempfile::Builder::new()
        .prefix("telltale-devices-")
        .tempdir()
        .unwrap();
    let (db, config, log) = (
        dir.path().join("telltale.db"),
        dir.path().join("collect.toml"),
        dir.path().join("collect.log"),
    );
    std::fs::write(
        &config,
        format!(
            r#"[[mqtt]]
id = "line"
url = "{}"
client_id = "telltale-devices-test"
device_kind = "machine"
expected_interval_ms = 5000
  [[mqtt.topics]]
  filter = "factory/+/+"
  format = "number"
  device = "{{1}}"
  metric = "{{2}}"
  [[mqtt.topics]]
  filter = "tele/+/LWT"
  format = "availability"
  device = "{{1}}"
  online = "Online"
  offline = "Offline"
"#,
            broker.url()
        ),
    )
    .unwrap();
    let publisher = broker.publisher();
    let mut collector = Collector::start(&db, &config, &log, &[]);

    // Published until one is stored: then the collector is subscribed.
    let mut last: Option<Instant> = None;
    collector.wait_for("a reading of dev1 to be stored", SHORT, || {
        if last.is_none_or(|t| t.elapsed() > Duration::from_millis(700)) {
            publisher.send_lines("factory/dev1/t", &["20.5"]);
            last = Some(Instant::now());
        }
        match export(&db, "mqtt:line/dev1", "t").len() {
            0 => Err("nothing stored yet".into()),
            _ => Ok(()),
        }
    });
    let state = |db: &Path| -> serde_json::Value {
        devices(db, None)
            .into_iter()
            .find(|d| d["id"] == "mqtt:line/dev1")
            .expect("dev1 is listed")
    };
    let dev1 = state(&db);
    assert_eq!(dev1["name"], "dev1", "{dev1}");
    assert_eq!(dev1["kind"], "machine", "{dev1}");
    assert_eq!(
        dev1["source"],
        serde_json::json!({"transport": "mqtt", "broker": "line"})
    );
    assert_eq!(dev1["state"], "live", "{dev1}");
    // The name its topic gave it finds it.
    let csv = stdout(&run(&export_args("dev1", "t"), &db));
    assert!(
        csv.lines().nth(1).unwrap().starts_with("mqtt:line/dev1,t,"),
        "{csv}"
    );

    let sent = now_ms();
    publisher.send_lines("tele/dev1/LWT", &["Offline"]);
    let dev1 = collector.wait_for("dev1 to be listed offline", SHORT, || {
        let d = state(&db);
        if d["state"] == "offline" {
            Ok(d)
        } else {
            Err(d.to_string())
        }
    });
    let since = dev1["offline_since_ms"]
        .as_i64()
        .expect("offline since a time");
    assert!((sent..=now_ms()).contains(&since), "{dev1}");
    assert_eq!(dev1["metrics"][0]["last_value"], 20.5, "{dev1}");

    // Back online, nothing heard since: "online"; a reading makes it live again.
    publisher.send_lines("tele/dev1/LWT", &["Online"]);
    collector.wait_for("dev1 to be listed online", SHORT, || {
        let d = state(&db);
        match d["state"].as_str() {
            Some("online") if d["offline_since_ms"].is_null() => Ok(()),
            _ => Err(d.to_string()),
        }
    });
    publisher.send_lines("factory/dev1/t", &["21"]);
    collector.wait_for("dev1 to be live again", SHORT, || {
        let d = state(&db);
        if d["state"] == "live" && d["metrics"][0]["last_value"] == 21.0 {
            Ok(())
        } else {
            Err(d.to_string())
        }
    });

    // Gone again; after the collector stopped, the database still says so.
    publisher.send_lines("tele/dev1/LWT", &["Offline"]);
    collector.wait_for("dev1 to be listed offline again", SHORT, || {
        match state(&db)["state"].as_str() {
            Some("offline") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    collector.terminate();
    assert_eq!(state(&db)["state"], "offline");
}
