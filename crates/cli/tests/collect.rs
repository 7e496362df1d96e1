//! `telltale collect` against a real mosquitto, as an edge box runs it: topic mapping (MQTT 3.1.1
//! and 5), TLS with a client certificate and a password from the keyring, no secret on disk or in
//! the log, reconnection after a broker crash, and no reading lost when the collector itself is
//! killed mid-stream.
//!
//! Stored readings are compressed in blobs, so they are read back the way a user reads them:
//! `telltale export` (values, times) and `telltale query` (units).

mod broker;

use broker::{
    count_by_value, export, now_ms, random_secret, retained, tail, toml_string as s, unit,
    wait_until_subscribed, wait_values, Broker, BrokerSetup, Pki, SecretService, Site, TlsListener,
    LONG, SHORT,
};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// One `[[mqtt.topics]]` table; `options` are string-valued keys such as `value_path`.
fn topic(
    filter: &str,
    format: &str,
    device: &str,
    metric: &str,
    options: &[(&str, &str)],
) -> String {
    let mut t = format!(
        "  [[mqtt.topics]]\n  filter = {}\n  format = {}\n  device = {}\n  metric = {}\n",
        s(filter),
        s(format),
        s(device),
        s(metric)
    );
    for (k, v) in options {
        t.push_str(&format!("  {k} = {}\n", s(v)));
    }
    t
}

/// One `[[mqtt]]` table. `settings` and `tls` hold TOML values as written (quote strings with
/// `s`); an empty `tls` writes no `[mqtt.tls]` table.
fn source(
    id: &str,
    url: &str,
    client_id: &str,
    settings: &[(&str, String)],
    tls: &[(&str, String)],
    topics: &[String],
) -> String {
    let mut t = format!(
        "[[mqtt]]\nid = {}\nurl = {}\nclient_id = {}\n",
        s(id),
        s(url),
        s(client_id)
    );
    for (k, v) in settings {
        t.push_str(&format!("{k} = {v}\n"));
    }
    if !tls.is_empty() {
        t.push_str("  [mqtt.tls]\n");
        for (k, v) in tls {
            t.push_str(&format!("  {k} = {v}\n"));
        }
    }
    for topic in topics {
        t.push_str(topic);
    }
    t
}

/// Lines of a log that report a change of a source's state.
fn state_changes(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains("source state")).collect()
}

fn connected(line: &str) -> bool {
    line.contains("state=Connected")
}

fn reconnecting(line: &str) -> bool {
    line.contains("state=Reconnecting")
}

fn warning_or_error(line: &str) -> bool {
    line.contains(" WARN ") || line.contains(" ERROR ")
}

// ---------------------------------------------------------------------------------------------
// Mapping

/// What one series must hold after the mapping test's messages.
struct Want {
    device: &'static str,
    metric: &'static str,
    values: Vec<f64>,
    unit: Option<&'static str>,
    /// Times from the payload; `None`: the time of receipt.
    ts: Option<Vec<i64>>,
}

/// Number and JSON payloads on wildcard topics land as the right series; malformed payloads are
/// skipped and logged and the stream goes on; messages of one series sent back to back (within
/// one millisecond, often) are as many readings. The broker must see the asked-for protocol.
fn check_mapping(protocol: &str, broker_protocol: &str) {
    let broker = Broker::start(BrokerSetup::default());
    let client_id = format!("telltale-mapping-{}", protocol.replace('.', ""));
    let topics = [
        topic("factory/+/+", "number", "{1}", "{2}", &[]),
        topic(
            "lab/+/+",
            "json",
            "{1}",
            "{2}",
            &[("value_path", "v"), ("unit_path", "u"), ("ts_path", "ts")],
        ),
        topic(
            "tank/+/level",
            "json",
            "tank-{1}",
            "level",
            &[("value_path", "level"), ("unit", "m")],
        ),
    ];
    let site = Site::new(&source(
        "plant",
        &broker.url(),
        &client_id,
        &[("protocol", s(protocol))],
        &[],
        &topics,
    ));
    let publisher = broker.publisher();
    let mut collector = site.collector("collect", &[]);
    wait_until_subscribed(
        &mut collector,
        &publisher,
        &site.db,
        ("factory/probe/ready", "mqtt:plant/probe", "ready"),
    );
    assert!(
        broker
            .log()
            .contains(&format!("as {client_id} ({broker_protocol},")),
        "the collector should connect with MQTT {protocol} ({broker_protocol}); broker log:\n{}",
        broker.log_tail(30)
    );

    // Recent payload times: retention must not be what decides the outcome.
    let t_json = now_ms() / 1000 * 1000 - 60_000;
    let oven = |v: f64, ts: i64| format!(r#"{{"v": {v}, "u": "°C", "ts": {ts}}}"#);
    let burst: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    // In publishing order; several payloads = back to back on one connection.
    let plan: Vec<(&str, Vec<String>)> = vec![
        (
            "factory/press-01/pressure",
            vec!["6.25".into(), "6.5".into()],
        ),
        ("factory/press-01/temperature", vec!["-12.5".into()]),
        ("factory/press-01/pressure", vec!["warm".into()]), // not a number
        ("lab/oven-7/temp", vec![oven(180.5, t_json)]),
        ("lab/oven-7/temp", vec![r#"{"v": 181.0, "u": "°C""#.into()]), // not JSON
        ("lab/oven-7/temp", vec![oven(182.25, t_json + 1000)]),
        ("tank/t1/level", vec![r#"{"level": 3.75}"#.into()]),
        ("factory/burst/count", burst),
        ("factory/press-01/pressure", vec!["7".into()]), // after the bad ones: still stored
    ];
    let malformed = ["factory/press-01/pressure", "lab/oven-7/temp"];
    let want = [
        Want {
            device: "mqtt:plant/press-01",
            metric: "pressure",
            values: vec![6.25, 6.5, 7.0],
            unit: None,
            ts: None,
        },
        Want {
            device: "mqtt:plant/press-01",
            metric: "temperature",
            values: vec![-12.5],
            unit: None,
            ts: None,
        },
        Want {
            device: "mqtt:plant/oven-7",
            metric: "temp",
            values: vec![180.5, 182.25],
            unit: Some("°C"),
            ts: Some(vec![t_json, t_json + 1000]),
        },
        Want {
            device: "mqtt:plant/tank-t1",
            metric: "level",
            values: vec![3.75],
            unit: Some("m"),
            ts: None,
        },
        Want {
            device: "mqtt:plant/burst",
            metric: "count",
            values: (0..20).map(f64::from).collect(),
            unit: None,
            ts: None,
        },
    ];

    let sent_from = now_ms();
    for (topic, payloads) in &plan {
        let lines: Vec<&str> = payloads.iter().map(String::as_str).collect();
        publisher.send_lines(topic, &lines);
    }
    let stored = collector.wait_for("every expected reading", SHORT, || {
        let got: Vec<Vec<(i64, f64)>> = want
            .iter()
            .map(|w| export(&site.db, w.device, w.metric))
            .collect();
        if want
            .iter()
            .zip(&got)
            .all(|(w, g)| g.len() >= w.values.len())
        {
            Ok(got)
        } else {
            Err(format!(
                "rows per series so far: {:?}",
                got.iter().map(Vec::len).collect::<Vec<_>>()
            ))
        }
    });
    let received_by = now_ms();
    let log = collector.terminate();

    for (w, rows) in want.iter().zip(&stored) {
        let series = format!("{} {}", w.device, w.metric);
        let values: Vec<f64> = rows.iter().map(|r| r.1).collect();
        assert_eq!(values, w.values, "{series}: values, in order");
        let ts: Vec<i64> = rows.iter().map(|r| r.0).collect();
        match &w.ts {
            Some(want_ts) => assert_eq!(&ts, want_ts, "{series}: times from the payload"),
            None => {
                assert!(
                    ts.windows(2).all(|p| p[0] < p[1]),
                    "{series}: one reading per message, each its own time: {ts:?}"
                );
                // Receipt times; a burst within one ms may be spread over a few more.
                let last_allowed = received_by + w.values.len() as i64;
                assert!(
                    ts.iter().all(|t| (sent_from..=last_allowed).contains(t)),
                    "{series}: receipt times {ts:?} outside [{sent_from}, {last_allowed}]"
                );
            }
        }
        assert_eq!(
            unit(&site.db, w.device, w.metric).as_deref(),
            w.unit,
            "{series}: unit"
        );
        // After the collector stopped: the final state is what was checked.
        assert_eq!(&export(&site.db, w.device, w.metric), rows, "{series}");
    }
    for topic in malformed {
        assert!(
            log.lines()
                .any(|l| warning_or_error(l) && l.contains(topic)),
            "a malformed message on {topic} should be logged as a warning naming the topic; log:\n{}",
            tail(&log, 40)
        );
    }
}

#[test]
fn payloads_map_to_series_over_mqtt_3_1_1() {
    // mosquitto logs MQTT 3.1.1 as protocol "p2".
    check_mapping("3.1.1", "p2");
}

#[test]
fn payloads_map_to_series_over_mqtt_5() {
    check_mapping("5", "p5");
}

// ---------------------------------------------------------------------------------------------
// TLS, passwords and secrets

struct TlsCase {
    name: &'static str,
    /// Which CA the collector trusts: the broker's, another, or the system's (None).
    ca: Option<PathBuf>,
    insecure_skip_verify: bool,
    connects: bool,
}

/// mqtts with a client certificate, a password from the keyring and an ACL, against a broker
/// that demands all three. With the right CA readings arrive; with another CA the collector
/// refuses the broker and says why; with `insecure_skip_verify` it connects and warns. In no case
/// does the password reach the database files, the config, the log or the CLI's output.
#[test]
fn tls_client_certificate_password_and_server_verification() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path());
    let password = random_secret("collector");
    let publisher_password = random_secret("publisher");
    let broker = Broker::start(BrokerSetup {
        tls: Some(TlsListener {
            ca_file: pki.ca.clone(),
            cert_file: pki.server_cert.clone(),
            key_file: pki.server_key.clone(),
            require_certificate: true,
        }),
        users: vec![
            ("collector".into(), password.clone()),
            ("publisher".into(), publisher_password.clone()),
        ],
        acl: Some(
            "user collector\ntopic read secure/#\n\nuser publisher\ntopic write secure/#\n".into(),
        ),
    });
    let keyring = SecretService::start();
    let publisher = broker.publisher_as("publisher", &publisher_password);

    let cases = [
        TlsCase {
            name: "the broker's CA",
            ca: Some(pki.ca.clone()),
            insecure_skip_verify: false,
            connects: true,
        },
        TlsCase {
            name: "another CA",
            ca: Some(pki.other_ca.clone()),
            insecure_skip_verify: false,
            connects: false,
        },
        TlsCase {
            name: "no CA, insecure_skip_verify",
            ca: None,
            insecure_skip_verify: true,
            connects: true,
        },
    ];
    for (i, case) in cases.iter().enumerate() {
        let name = case.name;
        // A broker id of its own per case: secrets are keyed by it.
        let id = format!("tls{i}");
        let client_id = format!("telltale-tls-{i}");
        let printed = keyring.set_broker_password(&id, &password);
        let mut tls = vec![
            (
                "client_cert_file",
                s(&pki.client_cert.display().to_string()),
            ),
            ("client_key_file", s(&pki.client_key.display().to_string())),
            (
                "insecure_skip_verify",
                case.insecure_skip_verify.to_string(),
            ),
        ];
        if let Some(ca) = &case.ca {
            tls.push(("ca_file", s(&ca.display().to_string())));
        }
        let site = Site::new(&source(
            &id,
            &broker.tls_url(),
            &client_id,
            &[("username", s("collector"))],
            &tls,
            &[topic("secure/+/+", "number", "{1}", "{2}", &[])],
        ));
        let device = format!("mqtt:{id}/boiler");
        // Debug logging: a leak at any level a user might switch on counts.
        let mut collector =
            site.collector("collect", &[keyring.env(), ("RUST_LOG", "debug".into())]);

        if case.connects {
            wait_until_subscribed(
                &mut collector,
                &publisher,
                &site.db,
                ("secure/probe/ready", &format!("mqtt:{id}/probe"), "ready"),
            );
            publisher.send_lines("secure/boiler/pressure", &["4.5"]);
            wait_values(&mut collector, &site.db, &device, "pressure", &[4.5]);
        } else {
            let why = collector.wait_log(
                &format!("{name}: the collector to report a failed TLS connection"),
                0,
                |log| state_changes(log).iter().any(|l| reconnecting(l)),
            );
            // The reason is on the Reconnecting line (or a warning or error beside it).
            let says_why = why.lines().any(|l| {
                let lower = l.to_lowercase();
                (reconnecting(l) || warning_or_error(l))
                    && (lower.contains("certificate") || lower.contains("issuer"))
            });
            assert!(
                says_why,
                "{name}: the log should say the broker's certificate was not trusted:\n{}",
                tail(&why, 30)
            );
            // Nothing subscribed, so this goes nowhere.
            publisher.send_lines("secure/boiler/pressure", &["4.5"]);
        }
        let log = collector.terminate();

        let connections = state_changes(&log)
            .into_iter()
            .filter(|l| connected(l))
            .count();
        let broker_saw = broker.log().contains(&format!("as {client_id} "));
        if case.connects {
            assert!(
                connections > 0,
                "{name}: no Connected state in the log:\n{}",
                tail(&log, 30)
            );
        } else {
            assert_eq!(
                connections,
                0,
                "{name}: must not connect:\n{}",
                tail(&log, 30)
            );
            assert!(!broker_saw, "{name}: the broker saw the collector log in");
            assert!(
                export(&site.db, &device, "pressure").is_empty(),
                "{name}: nothing can arrive"
            );
        }
        if case.insecure_skip_verify {
            assert!(
                log.lines().any(|l| l.contains(" WARN ") && {
                    let l = l.to_lowercase();
                    l.contains("insecure") || l.contains("verif")
                }),
                "{name}: skipping verification must be logged as a warning:\n{}",
                tail(&log, 30)
            );
        }

        // The secret is in the keyring and nowhere else.
        let mut places: Vec<(String, Vec<u8>)> = site
            .db_files()
            .into_iter()
            .chain([site.config.clone()])
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect();
        places.push(("the collector's log".into(), log.into_bytes()));
        places.push((
            "`telltale secret set`'s output".into(),
            printed.into_bytes(),
        ));
        assert!(
            places.iter().any(|(p, _)| p.ends_with(".db")),
            "{name}: the collector should have created its database"
        );
        for (place, bytes) in &places {
            assert!(
                !bytes
                    .windows(password.len())
                    .any(|w| w == password.as_bytes()),
                "{name}: the password leaked into {place}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reconnection

/// The broker dies (SIGKILL) under a running collector and comes back on the same port, once
/// with its saved session and once with none; each time the collector logs Reconnecting then
/// Connected, and what is published afterwards is stored.
#[test]
fn the_collector_reconnects_after_the_broker_crashes() {
    let mut broker = Broker::start(BrokerSetup::default());
    let site = Site::new(&source(
        "plant",
        &broker.url(),
        "telltale-reconnect",
        &[("persistent_session", "true".into())],
        &[],
        &[topic("factory/+/+", "number", "{1}", "{2}", &[])],
    ));
    let publisher = broker.publisher();
    let probe = ("factory/probe/ready", "mqtt:plant/probe", "ready");
    let (device, metric) = ("mqtt:plant/m1", "level");
    let mut collector = site.collector("collect", &[]);
    wait_until_subscribed(&mut collector, &publisher, &site.db, probe);
    publisher.send_lines("factory/m1/level", &["1"]);
    wait_values(&mut collector, &site.db, device, metric, &[1.0]);

    let cases = [
        ("the broker kept its saved session", true),
        ("the broker lost all its state", false),
    ];
    let mut want = vec![1.0];
    for (name, keep_state) in cases {
        let mark = collector.log().len();
        if keep_state {
            broker.wait_persisted();
        }
        broker.kill();
        if !keep_state {
            broker.forget_state();
        }
        broker.restart();
        collector.wait_log(
            &format!("{name}: Reconnecting, then Connected"),
            mark,
            |log| {
                let changes = state_changes(log);
                changes
                    .iter()
                    .position(|l| reconnecting(l))
                    .is_some_and(|r| changes[r..].iter().any(|l| connected(l)))
            },
        );
        wait_until_subscribed(&mut collector, &publisher, &site.db, probe);
        let value = want.len() as f64 + 1.0;
        publisher.send_lines("factory/m1/level", &[&value.to_string()]);
        want.push(value);
        wait_values(&mut collector, &site.db, device, metric, &want);
    }
    collector.terminate();
    let stored: Vec<f64> = export(&site.db, device, metric)
        .iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(stored, want);
}

// ---------------------------------------------------------------------------------------------
// Zero loss

/// How the numbered messages reach the broker.
#[derive(Debug, Clone, Copy)]
enum Stream {
    /// About 3000 messages a second, so that the kill lands while messages are on their way: in
    /// the broker's queue, in flight, received but not yet committed.
    Paced,
    /// As fast as the publisher goes, as a gateway flushing its buffer after an outage does: a
    /// first third, stored in full (many within one millisecond, so their receipt times are
    /// spread over the next ones), then the kill, then the rest flooding the restarted collector
    /// at once.
    Burst,
}

#[test]
fn no_message_is_lost_when_the_collector_is_killed_mid_stream() {
    check_zero_loss(Stream::Paced);
}

#[test]
fn no_message_is_lost_when_a_burst_meets_a_restart() {
    check_zero_loss(Stream::Burst);
}

/// N numbered QoS 1 messages on one topic; the collector is SIGKILLed after it has stored some;
/// the stream goes on into the broker's queue; a new collector on the same database and session
/// picks up. Every number must be stored (at least once: a message committed just before the
/// kill but not yet acknowledged comes again).
fn check_zero_loss(how: Stream) {
    const N: usize = 3000;
    /// No new row for this long while messages are still to come is a stall.
    const STALL: Duration = Duration::from_secs(30);
    let started = Instant::now();
    let broker = Broker::start(BrokerSetup::default());
    let site = Site::new(&source(
        "line",
        &broker.url(),
        &format!("telltale-zero-loss-{how:?}"),
        &[("persistent_session", "true".into())],
        &[],
        &[topic("line/+/+", "number", "{1}", "{2}", &[])],
    ));
    let publisher = broker.publisher();
    let (device, metric) = ("mqtt:line/counter", "seq");
    let mut first = site.collector("first", &[]);
    wait_until_subscribed(
        &mut first,
        &publisher,
        &site.db,
        ("line/probe/ready", "mqtt:line/probe", "ready"),
    );

    let mut stream = publisher.stream("line/counter/seq");
    // (messages written before the kill, rows stored when it comes)
    let (before_kill, kill_at) = match how {
        Stream::Paced => (N, 1),
        Stream::Burst => (N / 3, N / 3),
    };
    let at_kill = std::thread::scope(|scope| {
        let stream = &mut stream;
        let writer = scope.spawn(move || {
            let numbers: Vec<usize> = (0..before_kill).collect();
            for chunk in numbers.chunks(30) {
                stream.write_lines(chunk.iter().map(|i| i.to_string()));
                if matches!(how, Stream::Paced) {
                    // A rate, not a wait for anything.
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        });
        first.wait_for(
            &format!("the first collector to store {kill_at} of the stream"),
            LONG,
            || match export(&site.db, device, metric).len() {
                n if n >= kill_at => Ok(n),
                n => Err(format!("{n} stored")),
            },
        );
        first.kill9();
        let at_kill = export(&site.db, device, metric).len();
        writer.join().expect("the stream's writer");
        at_kill
    });
    stream.write_lines((before_kill..N).map(|i| i.to_string()));
    stream.finish(LONG);
    assert!(
        (1..N).contains(&at_kill),
        "the kill must come mid-stream: {at_kill} of {N} stored"
    );

    // A last message on another series of the same session: the broker delivers a session's
    // queue in order and the collector stores in order, so once it is stored, every number
    // before it has been delivered and acknowledged, which the collector does only after
    // committing it. The database must hold every number then.
    publisher.send_lines("line/probe/end", &["1"]);
    let mut second = site.collector("second", &[]);
    let second_log = second.log_path();
    let mut last = (usize::MAX, Instant::now());
    second.wait_for("the end marker, published last, to be stored", LONG, || {
        let rows = export(&site.db, device, metric).len();
        if !export(&site.db, "mqtt:line/probe", "end").is_empty() {
            return Ok(());
        }
        if rows != last.0 {
            last = (rows, Instant::now());
        }
        if last.1.elapsed() > STALL {
            panic!(
                "no progress for {STALL:?}: {rows} rows stored and no end marker; broker log:\n{}\n\
                 second collector log:\n{}",
                broker.log_tail(10),
                tail(&std::fs::read_to_string(&second_log).unwrap_or_default(), 30)
            );
        }
        Err(format!("{rows} rows stored"))
    });
    second.terminate();

    let rows = export(&site.db, device, metric);
    let counts = count_by_value(&rows);
    let missing: Vec<usize> = (0..N)
        .filter(|i| !counts.contains_key(&(*i as u64)))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {N} sequence numbers were acknowledged to the broker but are not stored, e.g. \
         {:?} ({} rows; {at_kill} were stored when the first collector was killed)",
        missing.len(),
        &missing[..missing.len().min(20)],
        rows.len()
    );
    assert!(
        counts.keys().all(|k| (*k as usize) < N),
        "values that were never sent: {:?}",
        counts
            .keys()
            .filter(|k| **k as usize >= N)
            .collect::<Vec<_>>()
    );
    let duplicates = rows.len() - N;
    let redelivered: Vec<u64> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| *k)
        .collect();
    println!(
        "zero loss ({how:?}): {N} messages, {at_kill} stored when the first collector was killed, \
         {duplicates} duplicate readings after redelivery ({}), {:.1} s",
        match (redelivered.first(), redelivered.last()) {
            (Some(a), Some(b)) => format!("{} numbers in {a}..={b}", redelivered.len()),
            _ => "none".into(),
        },
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// Sparkplug B (format = "sparkplug")
//
// Belongs to the Sparkplug work (crates/sparkplug); its collector tests go here, on the same
// harness: `Broker::publisher().send(topic, &bytes)` publishes a binary NBIRTH/NDATA/DBIRTH/DDATA
// payload at QoS 1, `export`/`unit` read the series back, `Collector::wait_log` checks what is
// logged (e.g. a rebirth request after a sequence gap).

/// The collector as a Sparkplug host: it announces itself with a retained STATE birth, stores
/// metrics by the names and units of the births, and when it dies without a goodbye (`kill -9`)
/// the broker publishes its will: the same STATE with online=false and the birth's timestamp.
#[test]
fn the_collector_is_a_sparkplug_host_with_a_state_will() {
    use telltale_sparkplug::{encode, DataType, Message, MessageType, Metric, MetricValue, Topic};
    let broker = Broker::start(BrokerSetup::default());
    let config = format!(
        "{}  [mqtt.sparkplug]\n  host_id = \"collect-host\"\n",
        source(
            "plant",
            &broker.url(),
            "telltale-sparkplug-host",
            &[],
            &[],
            &[
                "  [[mqtt.topics]]\n  filter = \"spBv1.0/Line1/#\"\n  format = \"sparkplug\"\n"
                    .to_owned()
            ],
        )
    );
    let site = Site::new(&config);
    let mut collector = site.collector("host", &[]);
    let state_topic = "spBv1.0/STATE/collect-host";
    let birth = broker::wait_for(
        "the host's retained STATE birth",
        SHORT,
        || retained(&broker, state_topic).filter(|v| v["online"] == true),
        || collector.log(),
    );
    let stamp = birth["timestamp"].as_u64().expect("a numeric timestamp");

    let t0 = now_ms() as u64;
    let message = |kind, seq: u64, metrics: Vec<Metric>| {
        let mut m = Message::new(Topic::node(kind, "Line1", "Press").unwrap());
        m.timestamp = Some(t0);
        m.seq = Some(seq);
        m.metrics = metrics;
        encode(&m).unwrap()
    };
    let publisher = broker.publisher();
    let nbirth = message(
        MessageType::NBirth,
        0,
        vec![
            Metric::new("bdSeq", DataType::Int64, MetricValue::Int(0)),
            Metric::new(
                "Hydraulic/Pressure",
                DataType::Float,
                MetricValue::Float(180.5),
            )
            .with_alias(7)
            .with_unit("bar")
            .with_timestamp(t0),
        ],
    );
    let ndata = message(
        MessageType::NData,
        1,
        vec![Metric::aliased(7, DataType::Float, MetricValue::Float(181.0)).with_timestamp(t0 + 5)],
    );
    // The host subscribes right after connecting; publish until the birth is stored.
    let device = "mqtt:plant/Line1/Press";
    collector.wait_for("the press's birth stored", SHORT, || {
        publisher.send("spBv1.0/Line1/NBIRTH/Press", &nbirth);
        let rows = export(&site.db, device, "Hydraulic/Pressure");
        if rows.is_empty() {
            Err("nothing stored yet".into())
        } else {
            Ok(())
        }
    });
    publisher.send("spBv1.0/Line1/NDATA/Press", &ndata);
    wait_values(
        &mut collector,
        &site.db,
        device,
        "Hydraulic/Pressure",
        &[180.5, 181.0],
    );
    assert_eq!(
        unit(&site.db, device, "Hydraulic/Pressure").as_deref(),
        Some("bar")
    );

    collector.kill9();
    let will = broker::wait_for(
        "the will: STATE offline",
        SHORT,
        || retained(&broker, state_topic).filter(|v| v["online"] == false),
        || broker.log_tail(20),
    );
    assert_eq!(
        will["timestamp"].as_u64(),
        Some(stamp),
        "the will carries the birth's timestamp"
    );
}
