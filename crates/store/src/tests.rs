use super::*;
use telltale_model::{Device, DeviceId, Quality, Reading, Transport};

fn reading(device: &str, metric: &str, ts_ms: i64, value: f64) -> Reading {
    Reading {
        device: DeviceId::new(device),
        metric: metric.into(),
        unit: Some("°C".into()),
        ts_ms,
        value,
        quality: Quality::Good,
    }
}

fn query(device: &str, metric: &str, from_ms: i64, to_ms: i64, points: u32) -> HistoryQuery {
    HistoryQuery {
        device: DeviceId::new(device),
        metric: metric.into(),
        from_ms,
        to_ms,
        points,
    }
}

#[tokio::test]
async fn readings_are_idempotent_and_late_ones_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = open(&dir.path().join("t.db")).unwrap();
    let ingest = writer.ingest();
    let first = ingest
        .write(vec![
            reading("ble:A", "temperature", 2_000, 21.5),
            reading("ble:A", "temperature", 1_000, 21.0),
        ])
        .await
        .unwrap();
    assert_eq!((first.stored, first.duplicates), (2, 0));
    let again = ingest
        .write(vec![
            reading("ble:A", "temperature", 2_000, 99.0),
            reading("ble:A", "temperature", 1_500, 21.2),
            reading("ble:A", "temperature", 3_000, f64::NAN),
        ])
        .await
        .unwrap();
    assert_eq!((again.stored, again.duplicates, again.rejected), (1, 1, 1));

    let h = store
        .history(&query("ble:A", "temperature", 0, 10_000, 100))
        .unwrap();
    let values: Vec<(i64, f64)> = h.buckets.iter().map(|b| (b.t, b.mean)).collect();
    assert_eq!(values, vec![(1_000, 21.0), (1_500, 21.2), (2_000, 21.5)]);
    assert_eq!(h.unit.as_deref(), Some("°C"));
    assert_eq!(h.bucket_ms, 0);

    // The late reading at 1.5 s must not replace the newest value.
    let summaries = store.device_summaries().unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].latest[0].value, 21.5);
    assert_eq!(summaries[0].last_seen_ms, Some(2_000));
}

#[tokio::test]
async fn history_respects_the_point_budget_and_keeps_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = open(&dir.path().join("t.db")).unwrap();
    // 0..100 s at 1 Hz, then nothing until 200 s, then 200..300 s.
    let readings: Vec<Reading> = (0..100)
        .chain(200..300)
        .map(|s| reading("mqtt:p/m", "vibration", s * 1_000, s as f64))
        .collect();
    writer.ingest().write(readings).await.unwrap();

    let h = store
        .history(&query("mqtt:p/m", "vibration", 0, 300_000, 30))
        .unwrap();
    assert!(h.buckets.len() <= 30, "{} buckets", h.buckets.len());
    assert_eq!(h.bucket_ms, 10_000);
    // Buckets 10..20 (100 s..200 s) have no data and must be absent, not interpolated.
    assert_eq!(h.buckets.len(), 20);
    assert!(h.buckets.iter().all(|b| !(100_000..200_000).contains(&b.t)));
    let first = h.buckets[0];
    assert_eq!((first.min, first.max, first.count), (0.0, 9.0, 10));
    assert!((first.mean - 4.5).abs() < 1e-9);
    assert_eq!(h.buckets.iter().map(|b| b.count).sum::<u64>(), 200);
}

#[tokio::test]
async fn bad_queries_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = open(&dir.path().join("t.db")).unwrap();
    writer
        .ingest()
        .write(vec![reading("ble:A", "t", 1, 1.0)])
        .await
        .unwrap();
    let cases = [
        (query("ble:A", "t", 10, 0, 10), "before"),
        (query("ble:A", "t", 0, 10, 0), "points"),
        (query("ble:A", "nope", 0, 10, 10), "no metric"),
        (query("ble:Z", "t", 0, 10, 10), "no metric"),
        (query("ble:A", "t", 0, i64::MAX, 10), "range"),
    ];
    for (q, fragment) in cases {
        let err = store.history(&q).unwrap_err().to_string();
        assert!(err.contains(fragment), "{q:?}: {err}");
    }
}

#[tokio::test]
async fn devices_are_described_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let (_store, writer) = open(&path).unwrap();
        let ingest = writer.ingest();
        ingest
            .register(Device {
                id: DeviceId::new("ble:A"),
                name: "Living room".into(),
                kind: "thermometer".into(),
                transport: Transport::Ble,
                site: "Home".into(),
                expected_interval_ms: 10_000,
            })
            .await
            .unwrap();
        ingest
            .write(vec![reading("ble:A", "temperature", 5, 20.0)])
            .await
            .unwrap();
        drop(ingest);
        writer.close();
    }
    let (store, _writer) = open(&path).unwrap();
    let d = store.device(&DeviceId::new("ble:A")).unwrap();
    assert_eq!(d.name, "Living room");
    assert_eq!(d.expected_interval_ms, 10_000);
    assert_eq!(store.device_summaries().unwrap()[0].latest.len(), 1);
    assert!(matches!(
        store.device(&DeviceId::new("ble:nope")),
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn committed_readings_are_announced() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, writer) = open(&dir.path().join("t.db")).unwrap();
    let mut rx = writer.subscribe();
    writer
        .ingest()
        .write(vec![
            reading("ble:A", "t", 1, 1.0),
            reading("ble:A", "t", 1, 1.0),
        ])
        .await
        .unwrap();
    let got = rx.recv().await.unwrap();
    assert_eq!(got.len(), 1, "a duplicate is not news");
}

#[test]
fn a_database_from_a_newer_build_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", schema_version() + 5)
            .unwrap();
        conn.execute_batch("CREATE TABLE keepme (x); INSERT INTO keepme VALUES (42);")
            .unwrap();
    }
    let err = open(&path).err().expect("must refuse");
    assert!(matches!(err, StoreError::NewerSchema { .. }), "{err}");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let x: i64 = conn
        .query_row("SELECT x FROM keepme", [], |r| r.get(0))
        .unwrap();
    assert_eq!(x, 42);
}
