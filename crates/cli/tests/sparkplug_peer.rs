//! `telltale collect` as the Sparkplug B host application of a real, third-party edge node:
//! pysparkplug (from PyPI, pinned in tests/peers/requirements.txt) driven by
//! tests/peers/sparkplug_edge.py, on a private mosquitto. Every payload the collector reads was
//! encoded by pysparkplug, and the rebirth request the collector sends is decoded by it.
//!
//! The peer's session: an NBIRTH of 300 metrics with aliases (about 17 KB: more than rumqttc's
//! default limit of 10 KiB on an incoming packet), a DBIRTH, NDATA and DDATA by alias only, a
//! skipped seq (the collector must ask for a rebirth, which the peer answers with new births),
//! more data by alias, and an NDEATH with the birth's bdSeq (the node goes offline).
//!
//! It needs the peer's Python virtualenv, which `cargo xtask setup` (and so `cargo xtask test`)
//! makes in <target dir>/peers-venv. Without it the test fails; it never skips.

mod broker;

use broker::{
    export, now_ms, peers_dir, peers_python, tail, Broker, BrokerSetup, Collector, Program, SHORT,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const BROKER_ID: &str = "peer";
const GROUP: &str = "Assembly";
const NODE: &str = "edge-py";
const DEVICE: &str = "Press-01";
const HOST_ID: &str = "telltale-host";
/// Metrics in the peer's NBIRTH: with their names, aliases and timestamps, about 17 KB.
const NBIRTH_METRICS: usize = 300;
const BD_SEQ: u64 = 7;
/// rumqttc's default limit on an incoming packet, which a real NBIRTH easily exceeds.
const RUMQTTC_DEFAULT_LIMIT: u64 = 10 * 1024;
/// How long the peer waits for anything (the host's STATE, the rebirth request).
const PEER_TIMEOUT_S: u64 = 15;

/// The collector as the Sparkplug host `HOST_ID` of the group, with a short reorder window: the
/// skipped seq becomes a rebirth request within a second.
fn config(broker: &Broker) -> String {
    format!(
        "[[mqtt]]\nid = \"{BROKER_ID}\"\nurl = \"{}\"\nclient_id = \"telltale-peer-host\"\n\
         \x20 [mqtt.sparkplug]\n  host_id = \"{HOST_ID}\"\n  reorder_timeout_ms = 500\n\
         \x20 [[mqtt.topics]]\n  filter = \"spBv1.0/{GROUP}/#\"\n  format = \"sparkplug\"\n",
        broker.url()
    )
}

fn start_peer(python: &Path, broker: &Broker, t0: i64) -> Program {
    let mut c = Command::new(python);
    // Isolated from the caller's PYTHON* variables and user site; no bytecode in the tree.
    c.args(["-I", "-B"])
        .arg(peers_dir().join("sparkplug_edge.py"))
        .args([
            "--broker",
            "127.0.0.1",
            "--port",
            &broker.port().to_string(),
        ])
        .args(["--group", GROUP, "--node", NODE, "--device", DEVICE])
        .args(["--host-id", HOST_ID])
        .args(["--metrics", &NBIRTH_METRICS.to_string()])
        .args(["--bd-seq", &BD_SEQ.to_string()])
        .args(["--t0", &t0.to_string()])
        .args(["--timeout", &PEER_TIMEOUT_S.to_string()]);
    Program::start("sparkplug_edge.py (pysparkplug)", c)
}

/// The JSON lines the peer has printed so far (a line still being written is left out).
fn events(peer: &Program) -> Vec<Value> {
    let out = peer.stdout();
    let complete = out.rfind('\n').map_or("", |i| &out[..=i]);
    complete
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("the peer printed a line that is not JSON ({e}): {l}"))
        })
        .collect()
}

/// The peer's output for a failure message, its long lines cut.
fn peer_report(peer: &Program) -> String {
    let out: Vec<String> = peer
        .stdout()
        .lines()
        .map(|l| match l.char_indices().nth(200) {
            Some((i, _)) => format!("{} …", &l[..i]),
            None => l.to_owned(),
        })
        .collect();
    format!(
        "peer stdout (long lines cut):\n{}\npeer stderr:\n{}",
        tail(&out.join("\n"), 40),
        tail(&peer.stderr(), 30)
    )
}

fn read_text(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
}

/// Waits until the peer prints an event `pick` accepts; fails at once when the peer reports an
/// error or exits first, or when the collector dies.
fn wait_event(
    collector: &mut Collector,
    peer: &mut Program,
    what: &str,
    timeout: Duration,
    pick: impl Fn(&Value) -> bool,
) -> Value {
    let log = collector.log_path();
    collector.wait_for(what, timeout, || {
        let events = events(peer);
        if let Some(e) = events.iter().find(|e| pick(e)) {
            return Ok(e.clone());
        }
        let failed = events.iter().any(|e| e["event"] == "error");
        if let Some(status) = peer.exited() {
            panic!(
                "the peer exited ({status}) before {what}\n{}\ncollector log:\n{}",
                peer_report(peer),
                tail(&read_text(&log), 60)
            );
        }
        if failed {
            panic!(
                "the peer failed before {what}\n{}\ncollector log:\n{}",
                peer_report(peer),
                tail(&read_text(&log), 60)
            );
        }
        Err(peer_report(peer))
    })
}

/// The messages of type `kind` the peer sent, in order.
fn sent<'e>(events: &'e [Value], kind: &str) -> Vec<&'e Value> {
    events
        .iter()
        .filter(|e| e["event"] == "sent" && e["type"] == kind)
        .collect()
}

fn node_device() -> String {
    format!("mqtt:{BROKER_ID}/{GROUP}/{NODE}")
}

/// The store's device for a message: the node, or one of its devices.
fn device_of(message: &Value) -> String {
    match message["device"].as_str() {
        Some(d) => format!("{}/{d}", node_device()),
        None => node_device(),
    }
}

/// (metric, ts, value) of one reading the peer reported sending.
fn reading(r: &Value) -> (String, i64, f64) {
    (
        r["metric"].as_str().expect("a metric name").to_owned(),
        r["ts"].as_i64().expect("a timestamp"),
        r["value"].as_f64().expect("a numeric value"),
    )
}

type Series = BTreeMap<(String, String), Vec<(i64, f64)>>;

/// What the collector must store: every reading of every message the peer sent, by series
/// (device, metric name of the birth, also for the values sent by alias only), in time order.
fn expected(events: &[Value]) -> Series {
    let mut series = Series::new();
    for message in events.iter().filter(|e| e["event"] == "sent") {
        for r in message["readings"].as_array().into_iter().flatten() {
            let (metric, ts, value) = reading(r);
            series
                .entry((device_of(message), metric))
                .or_default()
                .push((ts, value));
        }
    }
    for rows in series.values_mut() {
        rows.sort_by_key(|r| r.0);
    }
    series
}

/// Waits until the last reading of `message` is stored (with any value: the comparison of every
/// series comes after): the collector stores each message's readings in one commit, and the
/// messages of a connection in order.
fn wait_message_stored(collector: &mut Collector, peer: &Program, db: &Path, message: &Value) {
    let device = device_of(message);
    let last = message["readings"]
        .as_array()
        .and_then(|r| r.last())
        .expect("a message with readings");
    let (metric, ts, value) = reading(last);
    let what = format!(
        "the {} (seq {}, {} bytes, {} readings) stored: {device} {metric} = {value} at {ts}",
        message["type"].as_str().unwrap_or("?"),
        message["seq"],
        message["bytes"],
        message["readings"].as_array().map_or(0, Vec::len),
    );
    let log = collector.log_path();
    collector.wait_for(&what, SHORT, || {
        let rows = export(db, &device, &metric);
        if rows.iter().any(|r| r.0 == ts) {
            return Ok(());
        }
        // A message over the collector's packet limit shows as a reconnection.
        let text = read_text(&log);
        let reconnections: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("state=Reconnecting"))
            .take(3)
            .collect();
        Err(format!(
            "{device} {metric} holds {rows:?}\ncollector reconnections: {reconnections:#?}\n{}",
            peer_report(peer)
        ))
    });
}

/// Log lines saying that `device` (exactly that one) was declared offline.
fn offline_lines<'l>(log: &'l str, device: &str) -> Vec<&'l str> {
    let field = format!("device={device}");
    log.lines()
        .filter(|l| {
            l.contains("device declared offline") && l.split_whitespace().any(|w| w == field)
        })
        .collect()
}

#[test]
fn a_pysparkplug_edge_node_is_understood_by_the_collector() {
    let python = peers_python();
    let broker = Broker::start(BrokerSetup::default());
    let dir = tempfile::Builder::new()
        .prefix("telltale-sparkplug-peer-")
        .tempdir()
        .unwrap();
    let (db, config_file) = (
        dir.path().join("telltale.db"),
        dir.path().join("collect.toml"),
    );
    std::fs::write(&config_file, config(&broker)).unwrap();
    let mut collector = Collector::start(&db, &config_file, &dir.path().join("host.log"), &[]);
    // The births' metric timestamps; the data's follow a second apart.
    let t0 = now_ms() / 1000 * 1000 - 600_000;
    let mut peer = start_peer(&python, &broker, t0);
    let (node, device) = (node_device(), format!("{}/{DEVICE}", node_device()));

    // 1. The peer waits for our STATE online, then sends its NBIRTH and DBIRTH.
    wait_event(&mut collector, &mut peer, "the peer's births", SHORT, |e| {
        e["event"] == "gate" && e["next"] == "data"
    });
    let so_far = events(&peer);
    let (nbirth, dbirth) = (sent(&so_far, "NBIRTH")[0], sent(&so_far, "DBIRTH")[0]);
    assert_eq!(
        nbirth["readings"].as_array().map(Vec::len),
        Some(NBIRTH_METRICS),
        "the NBIRTH's readings"
    );
    assert_eq!(
        nbirth["bd_seq"].as_u64(),
        Some(BD_SEQ),
        "the NBIRTH's bdSeq"
    );
    let nbirth_bytes = nbirth["bytes"].as_u64().unwrap_or(0);
    assert!(
        nbirth_bytes > RUMQTTC_DEFAULT_LIMIT,
        "the NBIRTH must be over 10 KiB to test the packet limit; it is {nbirth_bytes} bytes"
    );
    wait_message_stored(&mut collector, &peer, &db, nbirth);
    wait_message_stored(&mut collector, &peer, &db, dbirth);
    peer.write_line("go");

    // 2. NDATA and DDATA by alias only, a skipped seq, the rebirth request the peer answers with
    //    new births, more data by alias.
    wait_event(
        &mut collector,
        &mut peer,
        "the peer's data, gap and rebirth",
        Duration::from_secs(2 * PEER_TIMEOUT_S),
        |e| e["event"] == "gate" && e["next"] == "death",
    );
    let so_far = events(&peer);
    for data in sent(&so_far, "NDATA")
        .into_iter()
        .chain(sent(&so_far, "DDATA"))
    {
        assert_eq!(
            data["named_on_wire"], 0,
            "data is sent by alias only: {data}"
        );
    }
    assert_eq!(sent(&so_far, "NBIRTH").len(), 2, "a birth and a rebirth");
    let commands: Vec<&Value> = so_far
        .iter()
        .filter(|e| e["event"] == "received" && e["type"] == "NCMD")
        .collect();
    assert_eq!(
        commands.len(),
        1,
        "one rebirth request, after the gap: {commands:?}"
    );
    assert_eq!(
        commands[0]["metrics"],
        serde_json::json!({"Node Control/Rebirth": true}),
        "pysparkplug decoded the collector's NCMD"
    );
    assert_eq!(
        commands[0]["topic"],
        format!("spBv1.0/{GROUP}/NCMD/{NODE}"),
        "{commands:?}"
    );
    let log = collector.log();
    let requests: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("asking for a rebirth"))
        .collect();
    assert!(
        requests.len() == 1
            && requests[0].contains("reason=SequenceGap")
            && requests[0].contains(&format!("node={NODE}")),
        "one rebirth request, for the sequence gap: {requests:#?}"
    );

    let last_ndata = *sent(&so_far, "NDATA").last().unwrap();
    let last_ddata = *sent(&so_far, "DDATA").last().unwrap();
    wait_message_stored(&mut collector, &peer, &db, last_ndata);
    wait_message_stored(&mut collector, &peer, &db, last_ddata);
    // Everything before those messages is stored too: compare every series, whole.
    let want = expected(&so_far);
    assert_eq!(
        want.keys().filter(|(d, _)| *d == node).count(),
        NBIRTH_METRICS
    );
    let mut wrong = Vec::new();
    for ((d, metric), rows) in &want {
        let got = export(&db, d, metric);
        if &got != rows {
            wrong.push(format!("{d} {metric}:\n  want {rows:?}\n  got  {got:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} series differ from what pysparkplug sent, e.g.:\n{}\ncollector log:\n{}",
        wrong.len(),
        want.len(),
        wrong[..wrong.len().min(5)].join("\n"),
        tail(&collector.log(), 40)
    );
    assert!(
        offline_lines(&collector.log(), &node).is_empty(),
        "the node is online until its NDEATH"
    );

    // 3. The NDEATH, with the birth's bdSeq: the node and its device go offline.
    let from = collector.log().len();
    peer.write_line("go");
    collector.wait_log(
        "the node and its device declared offline after the NDEATH",
        from,
        |new| !offline_lines(new, &node).is_empty() && !offline_lines(new, &device).is_empty(),
    );
    wait_event(&mut collector, &mut peer, "the peer's end", SHORT, |e| {
        e["event"] == "done"
    });
    let status = peer.wait_exit(SHORT);
    assert!(
        status.success(),
        "the peer: {status}\n{}",
        peer_report(&peer)
    );
    let all = events(&peer);
    let ndeath = sent(&all, "NDEATH")[0];
    assert_eq!(ndeath["bd_seq"].as_u64(), Some(BD_SEQ), "{ndeath}");

    let log = collector.terminate();
    assert_eq!(
        offline_lines(&log, &node).len(),
        1,
        "the node goes offline once, at its NDEATH"
    );
    // Nothing malformed, no command unsent. (Alert rules may warn that the node went offline:
    // that is theirs to say.)
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .filter(|l| l.contains("telltale_sources::mqtt"))
        .collect();
    assert!(
        complaints.is_empty(),
        "the collector's MQTT source complained:\n{}",
        complaints.join("\n")
    );
}
