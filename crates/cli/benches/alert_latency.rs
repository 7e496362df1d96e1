//! Publish → alert latency, printed as figures (not a timed test): a reading published to
//! mosquitto at QoS 1 crosses a limit; the time until the alert engine has recorded the
//! transition (received, committed to SQLite, evaluated, transition committed). 99th percentile
//! against the goal of 50 ms.
//!
//! `TELLTALE_BENCH_CROSSINGS` (default 400) sets how many raises and clears are timed.

use rumqttc::{AsyncClient, Event, MqttOptions, QoS};
use std::sync::Arc;
use std::time::{Duration, Instant};
use telltale_demo::LocalBroker;
use telltale_engine::alerting::LogNotifier;
use telltale_engine::Engine;
use telltale_model::broker::{BrokerConfig, PayloadFormat, TopicMap};

const RULES: &str = r#"
[[rule]]
id = "bench-high"
device = "m1"
metric = "v"
kind = "high"
limit = 50
"#;

fn main() {
    let crossings: usize = std::env::var("TELLTALE_BENCH_CROSSINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(run(crossings));
}

async fn run(crossings: usize) {
    let broker = LocalBroker::start()
        .await
        .expect("mosquitto (apt install mosquitto)");
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("latency.db")).unwrap();
    engine.start_alerts(Arc::new(LogNotifier)).unwrap();
    let alerts = engine.alerts().unwrap();
    alerts.set_rules(RULES).await.unwrap();
    engine
        .start_broker(BrokerConfig {
            // A new broker every run: nothing to resume.
            persistent_session: false,
            ..BrokerConfig::new(
                "bench",
                &format!("mqtt://127.0.0.1:{}", broker.port()),
                "telltale-latency",
                vec![TopicMap::new(
                    "bench/+/+",
                    PayloadFormat::Number,
                    "{1}",
                    "{2}",
                )],
            )
        })
        .unwrap();
    let mut records = alerts.subscribe();

    let mut options = MqttOptions::new("latency-publisher", "127.0.0.1", broker.port());
    options.set_keep_alive(Duration::from_secs(10));
    let (client, mut events) = AsyncClient::new(options, 100);
    tokio::spawn(async move {
        while let Ok(Event::Incoming(_) | Event::Outgoing(_)) = events.poll().await {}
    });

    // Warm up until the subscription is in place: publish until a first raise is seen.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut high = true;
    loop {
        assert!(
            Instant::now() < deadline,
            "no alert within 20 s of publishing"
        );
        client
            .publish(
                "bench/m1/v",
                QoS::AtLeastOnce,
                false,
                if high { "100" } else { "0" },
            )
            .await
            .unwrap();
        high = !high;
        if tokio::time::timeout(Duration::from_millis(200), records.recv())
            .await
            .is_ok()
        {
            break;
        }
    }
    while records.try_recv().is_ok() {}
    // Make the next publish a crossing in the other direction.
    let mut latencies = Vec::with_capacity(crossings);
    let mut value_high = alerts.active().iter().any(|a| a.state.is_active());
    for _ in 0..crossings {
        value_high = !value_high;
        let sent = Instant::now();
        client
            .publish(
                "bench/m1/v",
                QoS::AtLeastOnce,
                false,
                if value_high { "100" } else { "0" },
            )
            .await
            .unwrap();
        match tokio::time::timeout(Duration::from_secs(5), records.recv()).await {
            Ok(Ok(_)) => latencies.push(sent.elapsed()),
            _ => panic!("a crossing produced no alert record within 5 s"),
        }
        // Readings a few ms apart, as a fast sensor's would be.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    latencies.sort();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1]
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("== publish → alert record, {crossings} crossings (QoS 1, SQLite commit both ways)");
    println!(
        "median {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms (goal: p99 under 50 ms)",
        ms(pct(0.5)),
        ms(pct(0.9)),
        ms(pct(0.99)),
        ms(*latencies.last().unwrap())
    );
    engine.shutdown().await;
}
