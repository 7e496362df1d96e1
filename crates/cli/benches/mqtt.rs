//! MQTT ingest benchmark, printed as figures (not a timed test): how fast the collector drains a
//! QoS 1 stream from mosquitto into SQLite (each message acknowledged only after its reading is
//! committed), side by side with `mosquitto_sub` draining the same stream (acknowledging on
//! receipt and writing nothing).
//!
//! Both subscribers hold persistent sessions; N messages are published while both are away, so
//! the broker queues them; then both drain at once and each one's rate is N / its time.
//! `TELLTALE_BENCH_MESSAGES` (default 200000) and `TELLTALE_BENCH_INFLIGHT` (the broker's
//! `max_inflight_messages`, default 20 as in mosquitto) change the setup.

use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use telltale_engine::Engine;
use telltale_model::broker::{BrokerConfig, PayloadFormat, TopicMap};
use telltale_model::{DeviceId, HistoryQuery};

const SERIES: usize = 100;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let messages = env_or("TELLTALE_BENCH_MESSAGES", 200_000);
    let inflight = env_or("TELLTALE_BENCH_INFLIGHT", 20);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(run(messages, inflight));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn config(port: u16) -> BrokerConfig {
    BrokerConfig::new(
        "bench",
        &format!("mqtt://127.0.0.1:{port}"),
        "telltale-bench",
        vec![TopicMap::new(
            "bench/+/+",
            PayloadFormat::Number,
            "{1}",
            "{2}",
        )],
    )
}

/// Readings stored so far, summed over every series.
fn stored(engine: &Engine) -> u64 {
    (0..SERIES)
        .map(|s| {
            engine
                .history(&HistoryQuery {
                    device: DeviceId::new(format!("mqtt:bench/m{s}")),
                    metric: "v".into(),
                    from_ms: 0,
                    to_ms: telltale_model::MAX_TS_MS,
                    points: 1,
                })
                .map_or(0, |h| h.buckets.iter().map(|b| b.count).sum::<u64>())
        })
        .sum()
}

async fn run(messages: usize, inflight: usize) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = dir.path().join("mosquitto.conf");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
             max_queued_messages 0\nmax_inflight_messages {inflight}\n{}",
            if root { "user root\n" } else { "" }
        ),
    )
    .unwrap();
    let _broker = Killed(
        Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto (apt install mosquitto)"),
    );
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "== MQTT QoS 1 drain: {messages} messages over {SERIES} topics, broker max_inflight_messages {inflight}"
    );

    // Both sessions subscribe, then go away: the broker queues everything for them.
    let sub_args = |extra: &[&str]| {
        let mut args = vec![
            "-h".to_owned(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
            "-i".into(),
            "bench-mosquitto-sub".into(),
            "-c".into(),
            "-q".into(),
            "1".into(),
            "-t".into(),
            "bench/+/+".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let status = Command::new("mosquitto_sub")
        .args(sub_args(&["-E"]))
        .status()
        .expect("mosquitto_sub (apt install mosquitto-clients)");
    assert!(status.success());
    let db = dir.path().join("bench.db");
    {
        let engine = Engine::open(&db).unwrap();
        engine.start_broker(config(port)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !engine
            .dashboard(0)
            .unwrap()
            .sources
            .iter()
            .any(|s| s.state == telltale_model::SourceState::Connected)
        {
            assert!(Instant::now() < deadline, "the collector did not connect");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Let the subscription reach the broker before leaving.
        tokio::time::sleep(Duration::from_millis(300)).await;
        engine.shutdown().await;
    }

    publish(port, messages).await;

    // Both drain at once.
    let started = Instant::now();
    let mut sub = Killed(
        Command::new("mosquitto_sub")
            .args(sub_args(&["-C", &messages.to_string()]))
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let engine = Engine::open(&db).unwrap();
    engine.start_broker(config(port)).unwrap();
    let mut sub_done = None;
    let mut ours_done = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut last_report = Instant::now();
    while sub_done.is_none() || ours_done.is_none() {
        if Instant::now() > deadline {
            panic!(
                "drain took over 10 minutes: mosquitto_sub {}, collector {} of {messages} stored",
                if sub_done.is_some() {
                    "done"
                } else {
                    "not done"
                },
                stored(&engine)
            );
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            last_report = Instant::now();
            eprintln!("… collector has stored {}", stored(&engine));
        }
        if sub_done.is_none() && sub.0.try_wait().unwrap().is_some() {
            sub_done = Some(started.elapsed());
        }
        if ours_done.is_none() && stored(&engine) >= messages as u64 {
            ours_done = Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    engine.shutdown().await;
    let (sub_t, ours_t) = (sub_done.unwrap(), ours_done.unwrap());
    let rate = |t: Duration| messages as f64 / t.as_secs_f64();
    println!(
        "mosquitto_sub (ack on receipt, no storage): {:.2} s, {:.0} msg/s",
        sub_t.as_secs_f64(),
        rate(sub_t)
    );
    println!(
        "telltale collector (commit to SQLite, then ack): {:.2} s, {:.0} msg/s",
        ours_t.as_secs_f64(),
        rate(ours_t)
    );
    println!(
        "ratio: {:.2}x mosquitto_sub's rate",
        rate(ours_t) / rate(sub_t)
    );
    println!(
        "database: {:.1} bytes per reading",
        std::fs::metadata(&db).map_or(0, |m| m.len()) as f64 / messages as f64
    );
}

/// Publishes `n` numbered QoS 1 messages and waits until the broker has acknowledged them all.
async fn publish(port: u16, n: usize) {
    let mut options = MqttOptions::new("bench-publisher", "127.0.0.1", port);
    options.set_inflight(200);
    let (client, mut events) = AsyncClient::new(options, 1000);
    let started = Instant::now();
    let sender = tokio::spawn(async move {
        for i in 0..n {
            client
                .publish(
                    format!("bench/m{}/v", i % SERIES),
                    QoS::AtLeastOnce,
                    false,
                    (i as f64 * 0.5).to_string(),
                )
                .await
                .unwrap();
        }
        client
    });
    let mut acked = 0;
    while acked < n {
        match events.poll().await {
            Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
            Ok(Event::Outgoing(Outgoing::Publish(_))) | Ok(_) => {}
            Err(e) => panic!("publisher: {e}"),
        }
    }
    let client = sender.await.unwrap();
    let _ = client.disconnect().await;
    println!(
        "published {n} messages in {:.2} s",
        started.elapsed().as_secs_f64()
    );
}
