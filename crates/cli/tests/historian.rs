//! The plant historian against a real PostgreSQL: `telltale ship`, and `query`/`export
//! --historian`, as the contract states them. Two sites ship overlapping series at the
//! same time, a shipment is killed with SIGKILL half-way, a collector writes while shipping, and
//! every answer from the historian is compared with the local store holding the union of what
//! was shipped.

mod broker;
mod postgres;

use broker::{Pki, SecretService};
use postgres::Postgres;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn telltale() -> Command {
    Command::new(env!("CARGO_BIN_EXE_telltale"))
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A reading's value: a function of its time only, so two sites that saw the same reading hold
/// the same value (as two collectors of one gateway do).
fn value(device: &str, ts: i64) -> f64 {
    let seed = device.bytes().map(f64::from).sum::<f64>();
    ((ts as f64) / 7_013.0 + seed).sin() * 37.5 + (ts % 1009) as f64 / 97.0
}

type Rows = Vec<(String, String, i64)>;

/// Writes `rows` as an import CSV and imports it into `db`.
fn import(db: &Path, rows: &Rows) {
    let csv = db.with_extension(format!("{}.csv", rows.len()));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    writeln!(f, "device,metric,ts_ms,value").unwrap();
    for (d, m, ts) in rows {
        writeln!(f, "{d},{m},{ts},{}", value(d, *ts)).unwrap();
    }
    f.flush().unwrap();
    drop(f);
    ok(
        telltale()
            .arg("import")
            .arg("--db")
            .arg(db)
            .arg(&csv)
            .output()
            .unwrap(),
        "import",
    );
}

fn every(device: &str, metric: &str, from: i64, to: i64, step: i64) -> Rows {
    (0..)
        .map(|i| from + i * step)
        .take_while(|ts| *ts < to)
        .map(|ts| (device.to_owned(), metric.to_owned(), ts))
        .collect()
}

/// Ships `db` and returns the printed object.
fn ship(db: &Path, pg: &Postgres, site: &str) -> serde_json::Value {
    let out = telltale()
        .args(["ship", "--to", &pg.url(), "--site", site, "--db"])
        .arg(db)
        .output()
        .unwrap();
    let text = ok(out, "ship");
    assert_eq!(text.lines().count(), 1, "one JSON object: {text}");
    serde_json::from_str(&text).unwrap()
}

fn shipped_readings(v: &serde_json::Value) -> i64 {
    v["readings"].as_i64().expect("readings is a number")
}

/// Everything the historian holds of readings and rollups, as one digest per table.
fn digest(pg: &Postgres) -> String {
    pg.hist(
        "SELECT (SELECT md5(coalesce(string_agg(h::text, ',' ORDER BY series, start_ms), '')) FROM telltale_hours h)
             || (SELECT md5(coalesce(string_agg(s::text, ',' ORDER BY id), '')) FROM telltale_series s)
             || (SELECT md5(coalesce(string_agg(d::text, ',' ORDER BY id), '')) FROM telltale_devices d)",
    )
}

fn historian_total(pg: &Postgres) -> i64 {
    pg.hist("SELECT coalesce(sum(n), 0) FROM telltale_hours")
        .parse()
        .unwrap()
}

fn local_total(db: &Path) -> i64 {
    try_local_total(db).unwrap()
}

fn try_local_total(db: &Path) -> rusqlite::Result<i64> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.query_row("SELECT coalesce(sum(n), 0) FROM chunks", [], |r| r.get(0))
}

fn run(source: &[&str], args: &[String]) -> String {
    ok(
        telltale()
            .args(args.iter().take(1))
            .args(source)
            .args(&args[1..])
            .output()
            .unwrap(),
        &format!("{args:?} {source:?}"),
    )
}

/// Every reading of a series, as `export` prints it from `source`.
fn export_all(source: &[&str], device: &str, metric: &str) -> String {
    let args = [
        "export",
        "--device",
        device,
        "--metric",
        metric,
        "--from",
        "0",
        "--to",
        "4102444800000",
    ];
    run(source, &args.map(String::from))
}

/// `query` and `export` of the historian and of the local union answer the same.
fn same_answers(pg: &Postgres, union: &Path, device: &str, metric: &str, from: i64, to: i64) {
    let url = pg.url();
    let remote = ["--historian", url.as_str()];
    let db = union.to_str().unwrap();
    let here = ["--db", db];
    let range = |cmd: &str| -> Vec<String> {
        [
            cmd,
            "--device",
            device,
            "--metric",
            metric,
            "--from",
            &from.to_string(),
            "--to",
            &to.to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    assert_eq!(
        run(&remote, &range("export")),
        run(&here, &range("export")),
        "export of {device}/{metric} in [{from}, {to}]"
    );
    // Over the 7 hours compared: hours (1, 7), ten minutes (30: 14 minutes asked), minutes
    // (100), raw readings (1000, 10,000).
    for points in [1, 7, 30, 100, 1000, 10_000] {
        let mut args = range("query");
        args.extend(["--points".to_string(), points.to_string()]);
        let a: serde_json::Value = serde_json::from_str(&run(&remote, &args)).unwrap();
        let b: serde_json::Value = serde_json::from_str(&run(&here, &args)).unwrap();
        assert_eq!(a["bucket_ms"], b["bucket_ms"], "{args:?}");
        assert_eq!(a["unit"], b["unit"]);
        let (a, b) = (
            a["buckets"].as_array().unwrap(),
            b["buckets"].as_array().unwrap(),
        );
        assert_eq!(a.len(), b.len(), "{args:?}");
        for (x, y) in a.iter().zip(b) {
            for key in ["t", "min", "max", "count"] {
                assert_eq!(x[key], y[key], "{key} of {x} vs {y} ({args:?})");
            }
            // Sums are added in time order in the historian, in arrival order locally: the
            // last bits of a mean may differ, nothing more.
            let (p, q) = (x["mean"].as_f64().unwrap(), y["mean"].as_f64().unwrap());
            assert!(
                (p - q).abs() <= 1e-9 * p.abs().max(1.0),
                "mean {p} vs {q} ({args:?})"
            );
        }
    }
}

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const HOUR: i64 = 3_600_000;

#[test]
fn two_sites_ship_overlapping_series_at_once_and_the_historian_answers_their_union() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let (a, b, union) = (
        dir.path().join("a.db"),
        dir.path().join("b.db"),
        dir.path().join("u.db"),
    );
    let press = "mqtt:plant/press-1";
    // Site A: three hours of 1 Hz vibration and a thermometer every 10 s.
    let mut rows_a = every(press, "vibration", T0 + 1_234, T0 + 3 * HOUR, 1_000);
    rows_a.extend(every(
        "ble:A4:C1:38:00:00:01",
        "temperature",
        T0,
        T0 + 3 * HOUR,
        10_000,
    ));
    // Site B: the same press from the second hour to the fifth (the overlap is the same
    // readings), plus readings between A's in the third hour, and a series only B has.
    let mut rows_b = every(
        press,
        "vibration",
        T0 + 2 * HOUR + 1_234,
        T0 + 5 * HOUR,
        1_000,
    );
    rows_b.extend(every(
        press,
        "vibration",
        T0 + 2 * HOUR + 1_734,
        T0 + 3 * HOUR,
        1_000,
    ));
    rows_b.extend(every(
        "mqtt:plant/press-2",
        "rpm",
        T0 + HOUR / 2,
        T0 + 4 * HOUR,
        2_500,
    ));
    import(&a, &rows_a);
    import(&b, &rows_b);
    import(&union, &rows_a);
    import(&union, &rows_b);
    let distinct: BTreeSet<&(String, String, i64)> = rows_a.iter().chain(&rows_b).collect();

    // Both sites at once.
    let spawn = |db: &Path, site: &str| {
        telltale()
            .args(["ship", "--to", &pg.url(), "--site", site, "--db"])
            .arg(db)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (ca, cb) = (spawn(&a, "north"), spawn(&b, "south"));
    let va: serde_json::Value =
        serde_json::from_str(&ok(ca.wait_with_output().unwrap(), "ship a")).unwrap();
    let vb: serde_json::Value =
        serde_json::from_str(&ok(cb.wait_with_output().unwrap(), "ship b")).unwrap();
    assert_eq!(
        shipped_readings(&va) + shipped_readings(&vb),
        distinct.len() as i64,
        "each reading is new to the historian exactly once: {va} {vb}"
    );
    assert_eq!(historian_total(&pg), distinct.len() as i64);
    assert_eq!(local_total(&union), distinct.len() as i64);

    for (device, metric) in [
        (press, "vibration"),
        ("ble:A4:C1:38:00:00:01", "temperature"),
        ("mqtt:plant/press-2", "rpm"),
    ] {
        same_answers(&pg, &union, device, metric, T0 - HOUR, T0 + 6 * HOUR);
        // Edges in the middle of minutes and hours.
        same_answers(
            &pg,
            &union,
            device,
            metric,
            T0 + 2 * HOUR + 1_777_777,
            T0 + 3 * HOUR + 59_001,
        );
    }
    // A device named the way people name it: its id without the transport and broker.
    let by_name = export_all(&["--historian", &pg.url()], "press-2", "rpm");
    assert_eq!(
        by_name.lines().count() - 1,
        rows_b.iter().filter(|r| r.1 == "rpm").count()
    );

    // Shipping again ships nothing and changes nothing.
    let before = digest(&pg);
    for (db, site) in [(&a, "north"), (&b, "south")] {
        assert_eq!(shipped_readings(&ship(db, &pg, site)), 0);
    }
    assert_eq!(
        digest(&pg),
        before,
        "a repeated shipment changed the historian"
    );
    // The same database under another label is still the same readings.
    assert_eq!(shipped_readings(&ship(&a, &pg, "relabelled")), 0);
    assert_eq!(digest(&pg), before);

    // A late reading, for an hour already shipped, goes with the next shipment; alone.
    let late = vec![(
        press.to_owned(),
        "vibration".to_owned(),
        T0 + HOUR / 2 + 250,
    )];
    import(&a, &late);
    import(&union, &late);
    assert_eq!(shipped_readings(&ship(&a, &pg, "north")), 1);
    same_answers(&pg, &union, press, "vibration", T0, T0 + HOUR);
    assert_eq!(shipped_readings(&ship(&a, &pg, "north")), 0);
    assert_eq!(historian_total(&pg), distinct.len() as i64 + 1);
}

#[test]
fn a_shipment_killed_half_way_is_completed_by_the_next_with_nothing_lost_or_doubled() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plant.db");
    let mut rows = Vec::new();
    for i in 0..40 {
        rows.extend(every(
            &format!("mqtt:plant/line-{i:02}"),
            "current",
            T0,
            T0 + 72 * HOUR,
            10_000,
        ));
    }
    import(&db, &rows);
    let total = rows.len() as i64;

    let mut child = telltale()
        .args(["ship", "--to", &pg.url(), "--site", "edge-1", "--db"])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once some, not all, of the history has been committed.
    let deadline = Instant::now() + Duration::from_secs(60);
    let killed = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Err(format!(
                "the shipment finished ({status:?}) before it could be killed"
            ));
        }
        let shipped: i64 = pg
            .try_sql(
                "hist",
                "plant",
                "SELECT coalesce(sum(n), 0) FROM telltale_hours",
            )
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if shipped > 0 || Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break if shipped > 0 {
                Ok(shipped)
            } else {
                Err("nothing was shipped within a minute".into())
            };
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    killed.expect("a shipment killed half-way");
    let before = historian_total(&pg);
    assert!(
        before < total,
        "the kill came too late to test anything ({before} of {total})"
    );

    let second = ship(&db, &pg, "edge-1");
    assert_eq!(
        shipped_readings(&second),
        total - before,
        "the rest, once: {second}"
    );
    assert_eq!(historian_total(&pg), total);
    assert_eq!(shipped_readings(&ship(&db, &pg, "edge-1")), 0);
    let url = pg.url();
    assert_eq!(
        export_all(&["--historian", &url], "mqtt:plant/line-07", "current"),
        export_all(
            &["--db", db.to_str().unwrap()],
            "mqtt:plant/line-07",
            "current"
        )
    );
}

#[test]
fn shipping_beside_a_live_collector_neither_fails_nor_stops_it_and_the_next_ship_catches_up() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let mut demo = telltale()
        .args(["demo", "--seconds", "8", "--db"])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(db.is_file() && try_local_total(&db).is_ok_and(|n| n > 0)) {
        assert!(Instant::now() < deadline, "the demo wrote nothing");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut shipped = 0;
    let mut rounds = 0;
    while demo.try_wait().unwrap().is_none() {
        shipped += shipped_readings(&ship(&db, &pg, "demo"));
        rounds += 1;
    }
    let out = demo.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the collector failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        rounds >= 2,
        "only {rounds} shipments ran beside the collector"
    );
    shipped += shipped_readings(&ship(&db, &pg, "demo"));
    let total = local_total(&db);
    assert_eq!(
        shipped, total,
        "every reading shipped once over {rounds} + 1 shipments"
    );
    assert_eq!(historian_total(&pg), total);
}

#[test]
fn bad_addresses_and_missing_passwords_get_a_clear_error() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    import(&db, &every("d", "m", T0, T0 + 60_000, 1_000));
    let ship_to = |url: &str| {
        let out = telltale()
            .args(["ship", "--to", url, "--db"])
            .arg(&db)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = ship_to(&format!(
        "postgres://plant:Sw0rdfish@127.0.0.1:{}/hist",
        pg.port
    ));
    assert_eq!(code, Some(1));
    assert!(
        err.contains("keyring") && !err.contains("Sw0rdfish"),
        "{err}"
    );

    // A role that must give a password, and none is stored for it.
    pg.sql(
        "postgres",
        "postgres",
        "CREATE ROLE guarded LOGIN PASSWORD 'Sw0rdfish'",
    );
    let hba = pg.data_dir().join("pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(
        &hba,
        format!("host all guarded 127.0.0.1/32 scram-sha-256\n{rules}"),
    )
    .unwrap();
    pg.sql("postgres", "postgres", "SELECT pg_reload_conf()");
    let (code, err) = ship_to(&format!("postgres://guarded@127.0.0.1:{}/hist", pg.port));
    assert_eq!(code, Some(1));
    assert!(err.contains("telltale secret set --historian"), "{err}");

    // Nobody listening: refused at once, named.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let (code, err) = ship_to(&format!("postgres://plant@127.0.0.1:{port}/hist"));
    assert_eq!(code, Some(1));
    assert!(
        err.contains("cannot reach the historian") && err.contains(&port.to_string()),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // None of these got as far as creating the historian's tables.
    assert_eq!(pg.hist("SELECT to_regclass('telltale_hours') IS NULL"), "t");
}

/// Puts `rules` first in pg_hba.conf and reloads, so they decide before the trusting defaults.
fn hba_first(pg: &Postgres, rules: &str) {
    let hba = pg.data_dir().join("pg_hba.conf");
    let rest = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(&hba, format!("{rules}\n{rest}")).unwrap();
    pg.sql("postgres", "postgres", "SELECT pg_reload_conf()");
}

#[test]
fn a_password_from_the_keyring_reaches_the_historian_and_nothing_else() {
    let pg = Postgres::start();
    let keyring = SecretService::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    import(&db, &every("d", "m", T0, T0 + 60_000, 1_000));
    let password = broker::random_secret("historian");
    pg.sql(
        "postgres",
        "postgres",
        &format!("CREATE ROLE guarded LOGIN PASSWORD '{password}'; GRANT ALL ON DATABASE hist TO guarded; ALTER DATABASE hist OWNER TO guarded"),
    );
    hba_first(&pg, "host all guarded 127.0.0.1/32 scram-sha-256");
    let url = format!("postgres://guarded@127.0.0.1:{}/hist", pg.port);
    let (status, said) = keyring.set_secret(&["--historian", &url], &password);
    assert!(status.success(), "{said}");
    assert!(!said.contains(&password));
    let (k, v) = keyring.env();
    let out = telltale()
        .args(["ship", "--to", &url, "--db"])
        .arg(&db)
        .env(k, v)
        .output()
        .unwrap();
    let text = ok(out, "ship with the keyring's password");
    assert!(text.contains("\"readings\":60"), "{text}");
    assert!(!text.contains(&password));
    assert!(
        !pg.log().contains(&password),
        "the server logged the password"
    );
}

#[test]
fn tls_to_the_historian_verifies_the_server() {
    let certs = tempfile::tempdir().unwrap();
    let pki = Pki::generate(certs.path());
    let pg = Postgres::start_with(&[
        ("server.crt", &std::fs::read(&pki.server_cert).unwrap()),
        ("server.key", &std::fs::read(&pki.server_key).unwrap()),
        (
            "tls.conf",
            b"ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'",
        ),
    ]);
    // The historian's role may only come in over TLS.
    hba_first(
        &pg,
        "hostssl all plant 127.0.0.1/32 trust\nhost all plant 127.0.0.1/32 reject",
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    import(&db, &every("d", "m", T0, T0 + 60_000, 1_000));
    let base = pg.url();
    let ship_to = |query: &str| {
        let out = telltale()
            .args(["ship", "--to", &format!("{base}?{query}"), "--db"])
            .arg(&db)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let ca = pki.ca.display().to_string();
    let other = pki.other_ca.display().to_string();
    // A server whose certificate no trusted root signed: refused, whether TLS was asked for or
    // merely preferred.
    for query in [
        format!("sslmode=require&sslrootcert={other}"),
        "sslmode=prefer".into(),
    ] {
        let (code, err) = ship_to(&query);
        assert_eq!(code, Some(1), "{query}");
        assert!(err.to_lowercase().contains("certificate"), "{query}: {err}");
    }
    // Plain TCP where the server demands TLS: the server's refusal, in words.
    let (code, err) = ship_to("sslmode=disable");
    assert_eq!(code, Some(1));
    assert!(
        err.contains("pg_hba.conf") || err.contains("rejects"),
        "{err}"
    );
    // The right root: shipped over TLS.
    let (code, err) = ship_to(&format!("sslmode=verify-full&sslrootcert={ca}"));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(historian_total(&pg), 60);
}

#[test]
fn a_collector_ships_while_it_collects_and_once_more_when_it_stops() {
    use broker::{toml_string as s, Broker, BrokerSetup, Site};
    let pg = Postgres::start();
    let broker = Broker::start(BrokerSetup::default());
    let config = |interval_s: &str| {
        format!(
            "[[mqtt]]\nid = \"plant\"\nurl = {}\nclient_id = \"telltale-ship\"\n  [[mqtt.topics]]\n  filter = \"factory/+/+\"\n  format = \"number\"\n  device = \"{{1}}\"\n  metric = \"{{2}}\"\n\n[historian]\nurl = {}\ninterval_s = {interval_s}\nsite = \"line-1\"\n",
            s(&broker.url()),
            s(&pg.url()),
        )
    };
    let site = Site::new(&config("0.5"));
    let publisher = broker.publisher();
    let probe = ("factory/probe/ready", "mqtt:plant/probe", "ready");
    let mut collector = site.collector("collect", &[]);
    broker::wait_until_subscribed(&mut collector, &publisher, &site.db, probe);
    publisher.send_lines("factory/m1/level", &["1", "2", "3", "4", "5"]);
    // Shipped while it runs: the historian catches up with the local store on its own.
    collector.wait_for(
        "the historian to hold what the collector stored",
        Duration::from_secs(30),
        || {
            let (local, remote) = (local_total(&site.db), historian_total_or_zero(&pg));
            if local >= 6 && remote == local {
                Ok(())
            } else {
                Err(format!("local {local}, historian {remote}"))
            }
        },
    );
    collector.terminate();

    // Once an hour, stopped a moment after its first shipment: what came meanwhile still goes,
    // with the shipment the collector makes on its way out.
    std::fs::write(&site.config, config("3600")).unwrap();
    let mut collector = site.collector("collect-2", &[]);
    broker::wait_until_subscribed(&mut collector, &publisher, &site.db, probe);
    publisher.send_lines("factory/m1/level", &["6", "7"]);
    let want: Vec<f64> = (1..=7).map(f64::from).collect();
    broker::wait_values(&mut collector, &site.db, "mqtt:plant/m1", "level", &want);
    let before_stop = historian_total(&pg);
    let log = collector.terminate();
    assert!(
        before_stop < local_total(&site.db),
        "nothing was left for the last shipment"
    );
    assert_eq!(historian_total(&pg), local_total(&site.db), "{log}");
    assert_eq!(pg.hist("SELECT site FROM telltale_sites"), "line-1");
}

fn historian_total_or_zero(pg: &Postgres) -> i64 {
    pg.try_sql(
        "hist",
        "plant",
        "SELECT coalesce(sum(n), 0) FROM telltale_hours",
    )
    .ok()
    .and_then(|s| s.parse().ok())
    .unwrap_or(0)
}
