//! The Sparkplug B host against a real mosquitto: an edge node (played by the test with a plain
//! MQTT client) is born, reports, loses a message, dies; the engine stores, asks for a rebirth,
//! and shows the node offline.

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::time::{Duration, Instant};
use telltale_demo::LocalBroker;
use telltale_engine::Engine;
use telltale_model::broker::{BrokerConfig, PayloadFormat, SparkplugSettings, TopicMap};
use telltale_model::{DeviceId, Freshness, HistoryQuery};
use telltale_sources::now_ms;
use telltale_sparkplug::{
    encode, DataType, Message, MessageType, Metric, MetricValue, Topic, NAMESPACE,
};
use tokio::sync::mpsc;

const GROUP: &str = "Plant1";
const EDGE: &str = "Edge01";
const HOST_ID: &str = "telltale-test-host";

fn config(port: u16) -> BrokerConfig {
    BrokerConfig {
        persistent_session: false,
        sparkplug: Some(SparkplugSettings {
            host_id: Some(HOST_ID.into()),
            reorder_timeout_ms: 300,
        }),
        ..BrokerConfig::new(
            "sp",
            &format!("mqtt://127.0.0.1:{port}"),
            "telltale-sparkplug-test",
            vec![TopicMap::new(
                &format!("{NAMESPACE}/{GROUP}/#"),
                PayloadFormat::Sparkplug,
                "",
                "",
            )],
        )
    }
}

fn node_message(kind: MessageType, seq: Option<u64>, metrics: Vec<Metric>) -> Vec<u8> {
    let mut m = Message::new(Topic::node(kind, GROUP, EDGE).unwrap());
    m.timestamp = Some(now_ms() as u64);
    m.seq = seq;
    m.metrics = metrics;
    encode(&m).unwrap()
}

fn device_message(kind: MessageType, seq: u64, metrics: Vec<Metric>) -> Vec<u8> {
    let mut m = Message::new(Topic::device(kind, GROUP, EDGE, "pump").unwrap());
    m.timestamp = Some(now_ms() as u64);
    m.seq = Some(seq);
    m.metrics = metrics;
    encode(&m).unwrap()
}

fn topic(kind: &str, device: Option<&str>) -> String {
    match device {
        Some(d) => format!("{NAMESPACE}/{GROUP}/{kind}/{EDGE}/{d}"),
        None => format!("{NAMESPACE}/{GROUP}/{kind}/{EDGE}"),
    }
}

/// A plain MQTT client that plays the edge node and records what the host publishes.
async fn observer(port: u16) -> (AsyncClient, mpsc::UnboundedReceiver<(String, Vec<u8>)>) {
    let mut options = MqttOptions::new("edge-node-under-test", "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut events) = AsyncClient::new(options, 64);
    client
        .subscribe(format!("{NAMESPACE}/#"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(event) = events.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = event {
                let _ = tx.send((p.topic.clone(), p.payload.to_vec()));
            }
        }
    });
    (client, rx)
}

async fn next_on(
    rx: &mut mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    want: &str,
    what: &str,
) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some((t, payload))) if t == want => return payload,
            Ok(Some(_)) => {}
            _ => panic!("no {what} on {want} within 10 s"),
        }
    }
}

async fn publish(client: &AsyncClient, topic: String, payload: Vec<u8>) {
    client
        .publish(topic, QoS::AtLeastOnce, false, payload)
        .await
        .unwrap();
}

async fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn births_data_gaps_and_deaths() {
    let broker = LocalBroker::start()
        .await
        .expect("mosquitto (apt install mosquitto)");
    let dir = tempfile::tempdir().unwrap();
    let (edge, mut seen) = observer(broker.port()).await;
    // Let the observer's subscription land before the host announces itself.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let engine = Engine::open(&dir.path().join("sp.db")).unwrap();
    engine.start_broker(config(broker.port())).unwrap();

    // The host's STATE birth, retained.
    let state = next_on(
        &mut seen,
        &format!("{NAMESPACE}/STATE/{HOST_ID}"),
        "STATE birth",
    )
    .await;
    let state: serde_json::Value = serde_json::from_slice(&state).unwrap();
    assert_eq!(state["online"], true, "{state}");
    assert!(state["timestamp"].as_u64().unwrap() > 0);

    // Birth with aliases and units, then data by alias.
    let t0 = now_ms() as u64;
    publish(
        &edge,
        topic("NBIRTH", None),
        node_message(
            MessageType::NBirth,
            Some(0),
            vec![
                Metric::new("bdSeq", DataType::Int64, MetricValue::Int(0)),
                Metric::new(
                    "Node Control/Rebirth",
                    DataType::Boolean,
                    MetricValue::Boolean(false),
                ),
                Metric::new("Temperature", DataType::Double, MetricValue::Float(20.5))
                    .with_alias(1)
                    .with_unit("°C")
                    .with_timestamp(t0),
            ],
        ),
    )
    .await;
    publish(
        &edge,
        topic("DBIRTH", Some("pump")),
        device_message(
            MessageType::DBirth,
            1,
            vec![
                Metric::new("Pressure", DataType::Float, MetricValue::Float(3.0))
                    .with_alias(2)
                    .with_unit("bar")
                    .with_timestamp(t0),
            ],
        ),
    )
    .await;
    publish(
        &edge,
        topic("NDATA", None),
        node_message(
            MessageType::NData,
            Some(2),
            vec![
                Metric::aliased(1, DataType::Double, MetricValue::Float(21.25))
                    .with_timestamp(t0 + 1),
            ],
        ),
    )
    .await;
    publish(
        &edge,
        topic("DDATA", Some("pump")),
        device_message(
            MessageType::DData,
            3,
            vec![
                Metric::aliased(2, DataType::Float, MetricValue::Float(3.5)).with_timestamp(t0 + 1)
            ],
        ),
    )
    .await;

    let node = DeviceId::new(format!("mqtt:sp/{GROUP}/{EDGE}"));
    let pump = DeviceId::new(format!("mqtt:sp/{GROUP}/{EDGE}/pump"));
    let history = |device: &DeviceId, metric: &str| HistoryQuery {
        device: device.clone(),
        metric: metric.into(),
        from_ms: t0 as i64 - 1,
        to_ms: t0 as i64 + 1_000,
        points: 100,
    };
    let temps = wait_for("the node's two temperatures", || {
        engine
            .history(&history(&node, "Temperature"))
            .ok()
            .filter(|h| h.buckets.len() == 2)
    })
    .await;
    assert_eq!(
        temps.unit.as_deref(),
        Some("°C"),
        "the unit comes from the birth"
    );
    let means: Vec<f64> = temps.buckets.iter().map(|b| b.mean).collect();
    assert_eq!(means, [20.5, 21.25]);
    let pressures = wait_for("the pump's two pressures", || {
        engine
            .history(&history(&pump, "Pressure"))
            .ok()
            .filter(|h| h.buckets.len() == 2)
    })
    .await;
    assert_eq!(pressures.unit.as_deref(), Some("bar"));

    // seq 4 lost: after the reorder timeout the host asks the node to rebirth.
    publish(
        &edge,
        topic("NDATA", None),
        node_message(
            MessageType::NData,
            Some(5),
            vec![Metric::aliased(
                1,
                DataType::Double,
                MetricValue::Float(22.0),
            )],
        ),
    )
    .await;
    let ncmd = next_on(&mut seen, &topic("NCMD", None), "rebirth request").await;
    let ncmd = telltale_sparkplug::decode(&topic("NCMD", None), &ncmd).unwrap();
    assert_eq!(ncmd.seq, None, "an NCMD carries no seq");
    assert_eq!(
        ncmd.metrics[0].name.as_deref(),
        Some("Node Control/Rebirth")
    );
    assert_eq!(ncmd.metrics[0].value, MetricValue::Boolean(true));

    // Garbage on a Sparkplug topic is counted, and the stream goes on.
    publish(
        &edge,
        topic("NDATA", None),
        b"\xff\xff not protobuf".to_vec(),
    )
    .await;
    wait_for("the malformed payload counted", || {
        engine.dashboard(now_ms()).ok().and_then(|d| {
            d.sources
                .iter()
                .flat_map(|s| &s.rejected)
                .find(|r| r.topic == topic("NDATA", None))
                .map(|r| r.count)
        })
    })
    .await;

    // A death whose bdSeq matches the birth takes the node and its device offline.
    publish(
        &edge,
        topic("NDEATH", None),
        node_message(
            MessageType::NDeath,
            None,
            vec![Metric::new("bdSeq", DataType::Int64, MetricValue::Int(0))],
        ),
    )
    .await;
    let offline = wait_for("the node and its pump offline", || {
        let d = engine.dashboard(now_ms()).ok()?;
        let of = |id: &DeviceId| {
            d.devices
                .iter()
                .find(|s| &s.device.id == id)
                .map(|s| s.freshness)
        };
        (of(&node) == Some(Freshness::Offline) && of(&pump) == Some(Freshness::Offline))
            .then_some(d)
    })
    .await;
    assert!(offline
        .devices
        .iter()
        .all(|d| d.latest.iter().all(|v| v.value.is_finite())));
    engine.shutdown().await;
    drop(broker);
}

/// A plain MQTT device's last will (`tele/<device>/LWT` = `Offline`, Tasmota style) marks it
/// offline on the dashboard, and `Online` brings it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_last_will_takes_a_device_offline() {
    let broker = LocalBroker::start()
        .await
        .expect("mosquitto (apt install mosquitto)");
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("lwt.db")).unwrap();
    let mut config = config(broker.port());
    config.id = "home".into();
    config.sparkplug = None;
    config.topics = vec![
        TopicMap {
            online: Some("Online".into()),
            offline: Some("Offline".into()),
            ..TopicMap::new("tele/+/LWT", PayloadFormat::Availability, "{1}", "")
        },
        TopicMap::new("tele/+/+", PayloadFormat::Number, "{1}", "{2}"),
    ];
    engine.start_broker(config).unwrap();
    let (edge, _seen) = observer(broker.port()).await;
    let plug = DeviceId::new("mqtt:home/plug");
    let freshness = |engine: &Engine| {
        engine.dashboard(now_ms()).ok().and_then(|d| {
            d.devices
                .iter()
                .find(|s| s.device.id == plug)
                .map(|s| s.freshness)
        })
    };
    wait_for_async(
        &engine,
        "the plug's power stored and live",
        |e| freshness(e) == Some(Freshness::Live),
        || async {
            publish(&edge, "tele/plug/power".into(), b"12.5".to_vec()).await;
        },
    )
    .await;
    publish(&edge, "tele/plug/LWT".into(), b"Offline".to_vec()).await;
    wait_for("the plug offline", || {
        (freshness(&engine) == Some(Freshness::Offline)).then_some(())
    })
    .await;
    publish(&edge, "tele/plug/LWT".into(), b"Online".to_vec()).await;
    wait_for("the plug back", || {
        (freshness(&engine) == Some(Freshness::Live)).then_some(())
    })
    .await;
    publish(&edge, "tele/plug/LWT".into(), b"maybe".to_vec()).await;
    wait_for("the odd status counted", || {
        engine.dashboard(now_ms()).ok().and_then(|d| {
            d.sources
                .iter()
                .flat_map(|s| &s.rejected)
                .find(|r| r.topic == "tele/plug/LWT")
                .map(|_| ())
        })
    })
    .await;
    engine.shutdown().await;
    drop(broker);
}

/// Repeats `act` until `done` holds (the subscription may not be in place at first).
async fn wait_for_async<F, Fut>(engine: &Engine, what: &str, done: impl Fn(&Engine) -> bool, act: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(engine) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        act().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
