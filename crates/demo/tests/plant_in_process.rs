//! The demo plant where no mosquitto runs (a phone): the machines publish into the MQTT source
//! in process, and their readings take the broker's path from there on (topic maps, JSON
//! payloads, storing, the status board).

use std::time::Duration;
use telltale_demo::{plant_machines, DemoFleet, PlantLink, FILTER};
use telltale_model::{SourceState, Transport};
use telltale_sources::SourceBoard;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plant_runs_with_no_broker() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = telltale_store::open(&dir.path().join("demo.db")).unwrap();
    let board = SourceBoard::default();
    let installed = telltale_sources::now_ms() - 3_600_000;
    let fleet = DemoFleet::start_with(
        writer.ingest(),
        board.clone(),
        installed,
        PlantLink::InProcess,
    );

    let mut wanted: Vec<String> = plant_machines()
        .iter()
        .map(|m| m.name.to_string())
        .collect();
    wanted.push(FILTER.to_string());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let live = loop {
        let summaries = store.device_summaries().unwrap();
        let live: Vec<String> = summaries
            .iter()
            .filter(|s| {
                wanted.contains(&s.device.name)
                    && s.last_seen_ms.is_some_and(|t| t > installed + 3_000_000)
                    && !s.latest.is_empty()
            })
            .map(|s| s.device.name.clone())
            .collect();
        if live.len() == wanted.len() || tokio::time::Instant::now() > deadline {
            break live;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        live.len(),
        wanted.len(),
        "live plant devices: {live:?}, wanted {wanted:?}"
    );

    // The status board tells the truth: an MQTT source, connected, to no broker.
    let plant = board
        .snapshot()
        .into_iter()
        .find(|s| s.id == "demo-plant")
        .expect("the plant on the board");
    assert_eq!(plant.transport, Transport::Mqtt);
    assert_eq!(plant.state, SourceState::Connected, "{plant:?}");
    assert!(plant.detail.contains("in-process"), "{}", plant.detail);

    // Units came from the JSON payloads, as through a broker.
    let summaries = store.device_summaries().unwrap();
    let filter = summaries.iter().find(|s| s.device.name == FILTER).unwrap();
    let drop = filter
        .latest
        .iter()
        .find(|v| v.metric == "pressure_drop")
        .unwrap();
    assert_eq!(drop.unit.as_deref(), Some("Pa"));

    tokio::time::timeout(Duration::from_secs(10), fleet.stop())
        .await
        .expect("the demo stops within 10 s");
    let plant = board
        .snapshot()
        .into_iter()
        .find(|s| s.id == "demo-plant")
        .unwrap();
    assert_eq!(plant.state, SourceState::Stopped, "{plant:?}");
    writer.close();
}
