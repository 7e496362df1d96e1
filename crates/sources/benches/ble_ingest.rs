//! BLE ingest, printed as figures (not a timed test): advertisements decoded, replay-checked and
//! committed to SQLite by the BLE source — the path a real adapter's adverts take, behind the
//! `Radio` trait — measured two ways:
//!
//! - **a busy home**: 200 devices, one advert every 10 ms between them (each device every 2 s);
//!   the time from an advert reaching the source to its readings being durable (p50/p90/p99);
//! - **saturation**: adverts sent as fast as the source takes them; adverts per second.
//!
//! A tenth of the devices encrypt (BTHome v2 AES-CCM, so each of their frames also costs a
//! decryption and a replay-counter write). `TELLTALE_BENCH_ADVERTS` (default 20000) sets the
//! saturation run's size.
//!
//! `cargo bench -p telltale-sources --bench ble_ingest`

use std::collections::HashMap;
use std::time::{Duration, Instant};
use telltale_model::SourceState;
use telltale_sources::ble::{self, Bindkey, BleEvent, BleFleet, ChannelRadio, KnownDevice};
use telltale_sources::SourceBoard;
use tokio::sync::{broadcast, mpsc};

const DEVICES: usize = 200;
const KEY: [u8; 16] = [7; 16];

fn address(i: usize) -> String {
    format!("A4:C1:38:00:{:02X}:{:02X}", i / 256, i % 256)
}

fn mac(i: usize) -> [u8; 6] {
    [0xA4, 0xC1, 0x38, 0x00, (i / 256) as u8, (i % 256) as u8]
}

fn encrypts(i: usize) -> bool {
    i.is_multiple_of(10)
}

/// Advert number `n` of device `i`: temperature and humidity, a packet id or a counter.
fn advert(i: usize, n: u32) -> BleEvent {
    let temperature = 2_000 + (n % 500) as i16;
    let data = if encrypts(i) {
        let mut objects = vec![0x02];
        objects.extend_from_slice(&temperature.to_le_bytes());
        objects.extend_from_slice(&[0x03, 0x10, 0x17]);
        telltale_decode::seal_bthome_v2(&objects, mac(i), &KEY, n + 1)
    } else {
        let mut b = vec![0x40, 0x00, n as u8, 0x02];
        b.extend_from_slice(&temperature.to_le_bytes());
        b.extend_from_slice(&[0x03, 0x10, 0x17]);
        b
    };
    BleEvent::Advertisement {
        address: address(i),
        name: None,
        rssi: Some(-60 - (i % 30) as i16),
        service_data: vec![(0xFCD2, data)],
        manufacturer_data: vec![],
        services: vec![],
    }
}

fn fleet() -> BleFleet {
    BleFleet {
        devices: (0..DEVICES)
            .map(|i| KnownDevice {
                address: address(i),
                name: format!("sensor {i}"),
                kind: "thermometer".into(),
                site: "Bench".into(),
                expected_interval_ms: 2_000,
                tags: vec![],
                connect: false,
                bindkey: encrypts(i).then_some(Bindkey(KEY)),
            })
            .collect(),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let adverts: u32 = std::env::var("TELLTALE_BENCH_ADVERTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(run(adverts));
}

async fn run(saturation_adverts: u32) {
    let dir = tempfile::tempdir().unwrap();
    let (_store, writer) = telltale_store::open(&dir.path().join("ble.db")).unwrap();
    let mut committed = writer.subscribe();
    let board = SourceBoard::default();
    let (radio, rx) = mpsc::channel(256);
    let source = ble::start(
        "bench",
        Box::new(ChannelRadio(rx)),
        fleet(),
        writer.ingest(),
        board.clone(),
    );
    while !board
        .snapshot()
        .iter()
        .any(|s| s.id == "bench" && s.state == SourceState::Connected)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Every device once, so devices and series exist before anything is timed.
    for i in 0..DEVICES {
        radio.send(advert(i, 0)).await.unwrap();
    }
    let mut n = 1u32;

    // A busy home: one advert every 10 ms, each device every 2 s.
    let samples = 1_000;
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let mut latencies: Vec<f64> = Vec::with_capacity(samples);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut i = 0;
    while latencies.len() < samples {
        tokio::select! {
            _ = tick.tick(), if sent.len() < samples - latencies.len() => {
                let event = advert(i, n);
                if let BleEvent::Advertisement { address, .. } = &event {
                    sent.insert(address.clone(), Instant::now());
                }
                radio.send(event).await.unwrap();
                i = (i + 1) % DEVICES;
                if i == 0 {
                    n += 1;
                }
            }
            batch = committed.recv() => match batch {
                Ok(batch) => {
                    for r in batch.iter().filter(|r| r.metric == "temperature") {
                        let address = r.device.as_str().trim_start_matches("ble:");
                        if let Some(at) = sent.remove(address) {
                            latencies.push(at.elapsed().as_secs_f64() * 1e3);
                        }
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("{e}"),
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "busy home ({DEVICES} devices, 100 adverts/s, {} encrypted): advert -> durable \
         median {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({samples} adverts)",
        DEVICES / 10,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99),
        latencies.last().unwrap(),
    );

    // Saturation: as fast as the source takes them; the last advert of one device marks the end
    // (the source handles adverts in order).
    n += 1;
    let start = Instant::now();
    let mut last = String::new();
    for k in 0..saturation_adverts {
        let d = k as usize % DEVICES;
        if d == 0 && k > 0 {
            n += 1;
        }
        let event = advert(d, n);
        if let BleEvent::Advertisement { address, .. } = &event {
            last.clone_from(address);
        }
        radio.send(event).await.unwrap();
    }
    let marker = format!("ble:{last}");
    let last_n = n;
    loop {
        match committed.recv().await {
            Ok(batch) => {
                if batch.iter().any(|r| {
                    r.device.as_str() == marker
                        && r.metric == "temperature"
                        && r.value == f64::from(2_000 + (last_n % 500) as i16) / 100.0
                }) {
                    break;
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "saturation: {saturation_adverts} adverts in {seconds:.2} s = {:.0} adverts/s \
         (decoded, replay-checked, committed with synchronous=FULL)",
        f64::from(saturation_adverts) / seconds
    );
    source.stop().await;
}
