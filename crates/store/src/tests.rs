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
                tags: vec![],
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

/// A small deterministic generator, so the property tests below need no dependency.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Readings arriving in any order, in several batches, with redeliveries: the raw data, every
/// rollup level and every budgeted query must agree with a plain recomputation.
#[tokio::test]
async fn rollups_and_queries_agree_with_the_raw_truth() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = open(&dir.path().join("t.db")).unwrap();
    let ingest = writer.ingest();
    let mut rng = XorShift(0x1234_5678_9abc_def1);
    let t0 = 1_700_000_000_000i64;
    // Three days of one reading every ~37 s, with a 5-hour hole in the middle.
    let mut truth: Vec<(i64, f64)> = (0..7_000i64)
        .map(|i| {
            (
                t0 + i * 37_000 + rng.below(1_000) as i64,
                (rng.below(10_000) as f64) / 100.0 - 20.0,
            )
        })
        .filter(|(t, _)| !(t0 + 86_400_000..t0 + 86_400_000 + 5 * 3_600_000).contains(t))
        .collect();
    let mut shuffled = truth.clone();
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for chunk in shuffled.chunks(997) {
        let mut batch: Vec<Reading> = chunk
            .iter()
            .map(|&(t, v)| reading("mqtt:p/m", "v", t, v))
            .collect();
        // Redeliver a few, with different values that must be ignored.
        batch.extend(
            chunk
                .iter()
                .take(5)
                .map(|&(t, v)| reading("mqtt:p/m", "v", t, v + 1_000.0)),
        );
        ingest.write(batch).await.unwrap();
    }
    truth.sort_by_key(|(t, _)| *t);

    let key = SeriesKey {
        device: DeviceId::new("mqtt:p/m"),
        metric: "v".into(),
    };
    let mut exported = Vec::new();
    store
        .export(&key, 0, i64::MAX / 4, |s| {
            exported.push((s.ts, s.value));
            Ok(())
        })
        .unwrap();
    assert_eq!(
        exported, truth,
        "raw readings come back exactly, once, in order"
    );

    let end = truth.last().unwrap().0 + 1;
    // Answers from hour rollups with minute and raw edges, from days with hour, minute and
    // raw edges, from minutes, and from raw readings.
    let mut levels_seen = Vec::new();
    for (from, to, points) in [
        (t0, end, 100u32),
        (t0 + 123_457, end - 98_765, 300),
        (t0 - 86_400_000, end + 86_400_000, 7),
        (t0 + 3_600_000, t0 + 7_200_000, 10),
        (t0 + 1_000, t0 + 400_000, 5_000),
        (t0, t0 + 3_600_000, 80),
    ] {
        let h = store
            .history(&query("mqtt:p/m", "v", from, to, points))
            .unwrap();
        let inside: Vec<f64> = truth
            .iter()
            .filter(|(t, _)| (from..to).contains(t))
            .map(|(_, v)| *v)
            .collect();
        assert!(
            h.buckets.len() <= points as usize,
            "{} buckets for {points}",
            h.buckets.len()
        );
        assert_eq!(
            h.buckets.iter().map(|b| b.count).sum::<u64>(),
            inside.len() as u64,
            "{from}..{to}/{points}"
        );
        let lo = inside.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = inside.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(
            h.buckets
                .iter()
                .map(|b| b.min)
                .fold(f64::INFINITY, f64::min),
            lo
        );
        assert_eq!(
            h.buckets
                .iter()
                .map(|b| b.max)
                .fold(f64::NEG_INFINITY, f64::max),
            hi
        );
        let sum: f64 = h.buckets.iter().map(|b| b.mean * b.count as f64).sum();
        let want: f64 = inside.iter().sum();
        assert!(
            (sum - want).abs() < 1e-6 * want.abs().max(1.0),
            "{sum} vs {want}"
        );
        assert!(
            h.buckets.windows(2).all(|w| w[0].t < w[1].t),
            "buckets in time order"
        );
        assert!(h.buckets.iter().all(|b| b.t >= from && b.t < to));
        if h.bucket_ms > 0 {
            // Each bucket holds exactly the readings of its window, and its first and last are
            // theirs: buckets lie on the grid of the rollup level they were read from, the
            // coarsest that divides their width (a whole number of that level's buckets, fewer
            // than the next level holds), or from `from` when built from raw readings.
            let level = ROLLUP_LEVELS
                .iter()
                .rev()
                .find(|&&l| h.bucket_ms % l == 0)
                .copied();
            let origin = level.map_or(from, |l| from.div_euclid(l) * l);
            for b in &h.buckets {
                let end = origin + ((b.t - origin) / h.bucket_ms + 1) * h.bucket_ms;
                let inside: Vec<f64> = truth
                    .iter()
                    .filter(|(t, _)| (b.t..end.min(to)).contains(t))
                    .map(|(_, v)| *v)
                    .collect();
                assert_eq!(b.count, inside.len() as u64, "bucket at {}", b.t);
                assert_eq!(
                    (b.first, b.last),
                    (inside[0], inside[inside.len() - 1]),
                    "first and last of the bucket at {} ({from}..{to}/{points})",
                    b.t
                );
            }
            // The 5-hour hole shows as missing buckets, never as invented ones.
            if h.bucket_ms < 5 * 3_600_000
                && from < t0 + 86_400_000
                && to > t0 + 86_400_000 + 5 * 3_600_000
            {
                let hole =
                    t0 + 86_400_000 + h.bucket_ms..t0 + 86_400_000 + 5 * 3_600_000 - h.bucket_ms;
                assert!(h.buckets.iter().all(|b| !hole.contains(&b.t)), "gap kept");
            }
        }
        levels_seen.push(h.bucket_ms);
    }
    assert_eq!(
        levels_seen,
        [3_000_000, 1_200_000, 86_400_000, 420_000, 0, 45_000],
        "bucket widths: whole ten minutes (50 and 20, not 44 or 15 minutes), a day, 7 minutes, \
         raw, raw readings folded"
    );
}

#[tokio::test]
async fn retention_prunes_old_raw_and_minute_data_and_keeps_hours() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = open(&dir.path().join("t.db")).unwrap();
    let ingest = writer.ingest();
    let day = 86_400_000i64;
    let readings: Vec<Reading> = (0..40)
        .map(|d| reading("ble:A", "t", d * day, d as f64))
        .collect();
    let mut b_readings = readings.clone();
    for r in &mut b_readings {
        r.device = DeviceId::new("ble:B");
    }
    ingest.write(readings).await.unwrap();
    ingest.write(b_readings).await.unwrap();
    let key_b = SeriesKey {
        device: DeviceId::new("ble:B"),
        metric: "t".into(),
    };
    ingest
        .set_retention(
            key_b.clone(),
            Retention {
                raw_ms: Some(-1),
                minute_ms: Some(5 * day),
            },
        )
        .await
        .unwrap();
    assert_eq!(store.retention(&key_b).unwrap().raw_ms, Some(-1));
    let now = 40 * day;
    let mut pruned = 0;
    loop {
        let n = ingest.prune_step(now).await.unwrap();
        if n == 0 {
            break;
        }
        pruned += n;
    }
    assert!(pruned > 0);
    let raw = |device: &str| {
        let mut n = 0;
        store
            .export(
                &SeriesKey {
                    device: DeviceId::new(device),
                    metric: "t".into(),
                },
                0,
                now,
                |_| {
                    n += 1;
                    Ok(())
                },
            )
            .unwrap();
        n
    };
    // A: default 30 days of raw, counted back from the newest reading (day 39, the clock says
    // day 40: retention never counts from a clock ahead of the data). B: kept forever.
    assert_eq!(raw("ble:A"), 31);
    assert_eq!(raw("ble:B"), 40);
    // Hourly rollups are kept forever: a 40-day query still sees every day.
    let h = store.history(&query("ble:A", "t", 0, now, 40)).unwrap();
    assert_eq!(h.buckets.iter().map(|b| b.count).sum::<u64>(), 40);
    // Minute and ten-minute rollups: A keeps a year's (all 40 days), B five days' back from its
    // newest reading (days 34 to 39); hours and days stay for both.
    let conn = rusqlite::Connection::open(dir.path().join("t.db")).unwrap();
    let buckets = |device: &str, level: i64| -> i64 {
        conn.query_row(
            "SELECT count(*) FROM rollups r JOIN series s ON s.id = r.series
             WHERE s.device = ?1 AND r.level = ?2",
            rusqlite::params![device, level],
            |r| r.get(0),
        )
        .unwrap()
    };
    for (level, b) in ROLLUP_LEVELS.into_iter().zip([6, 6, 40, 40]) {
        assert_eq!(
            (buckets("ble:A", level), buckets("ble:B", level)),
            (40, b),
            "level {level}"
        );
    }
    assert!(matches!(
        ingest
            .set_retention(
                SeriesKey {
                    device: DeviceId::new("ble:Z"),
                    metric: "t".into()
                },
                Retention::default()
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn configured_sources_are_saved_replaced_and_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let change = |id: &str, config: Option<&str>| SourceConfigChange {
        kind: "mqtt".into(),
        id: id.into(),
        config: config.map(str::to_owned),
        now_ms: 1,
    };
    {
        let (store, writer) = open(&path).unwrap();
        let ingest = writer.ingest();
        ingest
            .save_source_config(change("b", Some("{\"v\":1}")))
            .await
            .unwrap();
        ingest
            .save_source_config(change("a", Some("{}")))
            .await
            .unwrap();
        ingest
            .save_source_config(change("b", Some("{\"v\":2}")))
            .await
            .unwrap();
        // Forgetting one that is not there is fine: the caller wanted it gone.
        ingest
            .save_source_config(change("zzz", None))
            .await
            .unwrap();
        assert_eq!(
            store.source_configs("mqtt").unwrap(),
            [("a".into(), "{}".into()), ("b".into(), "{\"v\":2}".into())]
        );
        assert!(store.source_configs("ble").unwrap().is_empty());
        ingest.save_source_config(change("a", None)).await.unwrap();
        drop(ingest);
        writer.close();
    }
    let (store, _writer) = open(&path).unwrap();
    assert_eq!(
        store.source_configs("mqtt").unwrap(),
        [("b".into(), "{\"v\":2}".into())],
        "survives reopening"
    );
}

#[tokio::test]
async fn alert_states_and_transitions_are_kept_across_a_reopen() {
    use telltale_model::alert::{AlertEvent, AlertId, AlertRecord, AlertState, Severity};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let row = |ts_ms, device: &str, event, to| AlertRecord {
        ts_ms,
        id: AlertId {
            rule: "r".into(),
            device: device.into(),
            metric: "t".into(),
        },
        device_name: Some(format!("{device} by name")),
        event,
        from: Some(AlertState::Inactive),
        to: Some(to),
        value: Some(ts_ms as f64 / 2.0),
        by: None,
        severity: Some(Severity::Critical),
        shelved_until_ms: None,
        note: Some("why".into()),
    };
    let raised = row(10, "a", AlertEvent::Raised, AlertState::ActiveUnacked);
    let changed = row(
        20,
        "b",
        AlertEvent::Changed {
            from: AlertState::Inactive,
            to: AlertState::ActiveAcked,
        },
        AlertState::ActiveAcked,
    );
    let shelved = AlertRecord {
        ts_ms: 30,
        device_name: None,
        event: AlertEvent::Shelved,
        from: None,
        to: None,
        value: None,
        by: Some("ann".into()),
        severity: None,
        shelved_until_ms: Some(90),
        note: None,
        ..raised.clone()
    };
    {
        let (_store, writer) = open(&path).unwrap();
        let ingest = writer.ingest();
        ingest
            .save_alerts(AlertWrite {
                transitions: vec![raised.clone(), changed.clone()],
                states: vec![
                    ("k1".into(), Some("{\"s\":1}".into())),
                    ("k2".into(), Some("{}".into())),
                ],
                now_ms: 20,
            })
            .await
            .unwrap();
        ingest
            .save_alerts(AlertWrite {
                transitions: vec![shelved.clone()],
                states: vec![("k1".into(), Some("{\"s\":2}".into())), ("k2".into(), None)],
                now_ms: 30,
            })
            .await
            .unwrap();
        drop(ingest);
        writer.close();
    }
    let (store, _writer) = open(&path).unwrap();
    assert_eq!(
        store.alert_states().unwrap(),
        [("k1".into(), "{\"s\":2}".into())]
    );
    assert_eq!(
        store.alert_transitions(0, 100, None, 10).unwrap(),
        [shelved.clone(), changed, raised.clone()],
        "newest first, every field back"
    );
    assert_eq!(
        store.alert_transitions(0, 25, Some("a"), 10).unwrap(),
        [raised]
    );
    assert_eq!(store.alert_transitions(0, 100, None, 1).unwrap(), [shelved]);
}

#[tokio::test]
async fn a_forgotten_device_takes_its_history_and_spares_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = open(&dir.path().join("t.db")).unwrap();
    let ingest = writer.ingest();
    ingest
        .write(vec![
            reading("ble:A", "temperature", 1_000, 21.0),
            reading("ble:A", "humidity", 1_000, 40.0),
            reading("ble:B", "temperature", 1_000, 5.0),
        ])
        .await
        .unwrap();
    ingest.forget_device(DeviceId::new("ble:A")).await.unwrap();
    let ids: Vec<String> = store
        .device_summaries()
        .unwrap()
        .into_iter()
        .map(|s| s.device.id.0)
        .collect();
    assert_eq!(ids, ["ble:B"]);
    let gone = store
        .history(&query("ble:A", "temperature", 0, 10_000, 100))
        .map(|h| h.buckets.len())
        .unwrap_or(0);
    assert_eq!(gone, 0);
    assert!(matches!(
        ingest.forget_device(DeviceId::new("ble:A")).await,
        Err(StoreError::NotFound(_))
    ));
    // A reading after the forget starts the device afresh (the writer's series cache was
    // dropped with it, so this must not point at a deleted series).
    let again = ingest
        .write(vec![reading("ble:A", "temperature", 2_000, 22.0)])
        .await
        .unwrap();
    assert_eq!(again.stored, 1);
    let h = store
        .history(&query("ble:A", "temperature", 0, 10_000, 100))
        .unwrap();
    assert_eq!(h.buckets.len(), 1);
    writer.close();
}

#[tokio::test]
async fn service_plans_keep_their_count_start_and_history() {
    use telltale_model::upkeep::{ServicePlan, ServiceRecord};
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = open(&dir.path().join("t.db")).unwrap();
    let ingest = writer.ingest();
    let plan = ServicePlan {
        id: "seal".into(),
        device: DeviceId::new("mqtt:plant/pump-02"),
        metric: "current".into(),
        on_above: 2.0,
        every_hours: Some(500.0),
        every_cycles: Some(2_000),
    };
    ingest
        .save_service(ServiceChange::Save(plan.clone(), 1_000))
        .await
        .unwrap();
    // Seeding leaves an existing plan alone.
    let seeded = ServicePlan {
        on_above: 99.0,
        ..plan.clone()
    };
    ingest
        .save_service(ServiceChange::Seed(seeded, 2_000))
        .await
        .unwrap();
    assert_eq!(store.service_plans().unwrap()[0].plan, plan);
    // Changing a plan keeps where its count started.
    let changed = ServicePlan {
        every_hours: None,
        ..plan.clone()
    };
    ingest
        .save_service(ServiceChange::Save(changed.clone(), 9_000))
        .await
        .unwrap();
    let rows = store.service_plans().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].plan.clone(), rows[0].created_ms), (changed, 1_000));
    for ts in [5_000, 7_000] {
        let record = ServiceRecord {
            plan: "seal".into(),
            ts_ms: ts,
            by: "ana".into(),
            hours: 1.5,
            cycles: 3,
        };
        ingest
            .save_service(ServiceChange::Serviced(record))
            .await
            .unwrap();
    }
    let history = store.services("seal", 10).unwrap();
    assert_eq!(
        history.iter().map(|r| r.ts_ms).collect::<Vec<_>>(),
        [7_000, 5_000]
    );
    let unknown = ServiceRecord {
        plan: "nope".into(),
        ..history[0].clone()
    };
    assert!(matches!(
        ingest.save_service(ServiceChange::Serviced(unknown)).await,
        Err(StoreError::NotFound(_))
    ));
    ingest
        .save_service(ServiceChange::Remove("seal".into()))
        .await
        .unwrap();
    assert!(store.service_plans().unwrap().is_empty());
    assert!(
        store.services("seal", 10).unwrap().is_empty(),
        "history goes with its plan"
    );
    assert!(matches!(
        ingest
            .save_service(ServiceChange::Remove("seal".into()))
            .await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_replay_counter_is_kept_with_its_readings_and_goes_with_its_device() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let device = DeviceId::new("ble:A4:C1:38:00:00:01");
    let mark = |counter| ReplayMark {
        device: device.clone(),
        counter,
        at_ms: 1_000,
        restarted: false,
    };
    {
        let (_store, writer) = open(&path).unwrap();
        let ingest = writer.ingest();
        assert_eq!(ingest.replay_counter(device.clone()).await.unwrap(), None);
        let c = ingest
            .write_marked(
                vec![reading(device.as_str(), "temperature", 1_000, 21.0)],
                mark(41),
            )
            .await
            .unwrap();
        assert_eq!(c.stored, 1);
        // A frame whose readings were all stored before still moves the counter on.
        ingest
            .write_marked(
                vec![reading(device.as_str(), "temperature", 1_000, 21.0)],
                mark(42),
            )
            .await
            .unwrap();
        assert_eq!(
            ingest.replay_counter(device.clone()).await.unwrap(),
            Some(42)
        );
        writer.close();
    }
    // Across a restart of the app.
    let (_store, writer) = open(&path).unwrap();
    let ingest = writer.ingest();
    assert_eq!(
        ingest.replay_counter(device.clone()).await.unwrap(),
        Some(42)
    );
    // A restarted count is counted with the device, and outlives the app as the counter does.
    for (counter, at_ms, restarted) in [(1, 90_000, true), (2, 91_000, false), (1, 500_000, true)] {
        ingest
            .write_marked(
                vec![],
                ReplayMark {
                    device: device.clone(),
                    counter,
                    at_ms,
                    restarted,
                },
            )
            .await
            .unwrap();
    }
    writer.close();
    let (_store, writer) = open(&path).unwrap();
    let ingest = writer.ingest();
    assert_eq!(
        ingest.counter_record(device.clone()).await.unwrap(),
        Some(CounterRecord {
            counter: 1,
            restarts: 2,
            last_restart_ms: Some(500_000),
        })
    );
    // A counter of a device with no readings yet registers the device (it is the device's
    // first frame, whose readings were all invalid).
    let other = DeviceId::new("ble:A4:C1:38:00:00:02");
    ingest
        .write_marked(
            Vec::new(),
            ReplayMark {
                device: other.clone(),
                counter: 7,
                at_ms: 2_000,
                restarted: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(ingest.replay_counter(other).await.unwrap(), Some(7));
    ingest.forget_device(device.clone()).await.unwrap();
    assert_eq!(ingest.replay_counter(device).await.unwrap(), None);
}

/// Readings the store cannot hold (issue 11, point 2): each is refused on its own, and every
/// other reading of the same commit (other sources' included) is stored.
#[tokio::test]
async fn a_poison_reading_is_refused_alone_and_its_batch_mates_commit() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = open(&dir.path().join("t.db")).unwrap();
    let ingest = writer.ingest();
    let t = 1_700_000_000_000;
    let poison = [
        reading("mqtt:p/n", "far-future", i64::MAX, 1.0),
        reading("mqtt:p/n", "before-1970", -1, 1.0),
        reading("mqtt:p/n", "huge", t, 1e308),
        reading("mqtt:p/n", "huge", t + 1, -1e308),
        reading("mqtt:p/n", "nan", t, f64::NAN),
        reading("mqtt:p/n", &"m".repeat(500), t, 1.0),
    ];
    // Several callers whose requests the writer takes into one transaction.
    let good = |d: &str| vec![reading(d, "t", t, 1.0), reading(d, "t", t + 1000, 2.0)];
    let mut mixed = good("mqtt:p/n");
    mixed.extend(poison.iter().cloned());
    let (a, b, c) = tokio::join!(
        ingest.write(good("ble:A")),
        ingest.write(mixed),
        ingest.write(good("ble:B")),
    );
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    assert_eq!((a.stored, c.stored), (2, 2));
    assert_eq!((b.stored, b.rejected), (2, poison.len()), "{b:?}");
    // Later writes to the same hour and series are unaffected.
    let later = ingest
        .write(vec![reading("mqtt:p/n", "t", t + 2000, 3.0)])
        .await
        .unwrap();
    assert_eq!(later.stored, 1);
    for d in ["ble:A", "ble:B", "mqtt:p/n"] {
        let h = store.history(&query(d, "t", t, t + 3000, 10)).unwrap();
        assert!(h.buckets.len() >= 2, "{d}: {:?}", h.buckets);
    }
    assert!(store
        .history(&query("mqtt:p/n", "huge", 0, telltale_model::MAX_TS_MS, 10))
        .is_err());
}

/// A damaged chunk fails only the series it belongs to: the savepoint around each series keeps
/// the rest of the transaction.
#[tokio::test]
async fn a_series_that_cannot_be_written_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let (store, writer) = open(&path).unwrap();
    let ingest = writer.ingest();
    let t = 1_700_000_000_000;
    ingest
        .write(vec![
            reading("ble:A", "t", t, 1.0),
            reading("ble:B", "t", t, 1.0),
        ])
        .await
        .unwrap();
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    other
        .execute(
            "UPDATE chunks SET data = x'ffffffffffffffffffffff' WHERE series =
               (SELECT id FROM series WHERE device = 'ble:A')",
            [],
        )
        .unwrap();
    drop(other);
    let c = ingest
        .write(vec![
            reading("ble:A", "t", t + 1, 2.0),
            reading("ble:B", "t", t + 1, 2.0),
        ])
        .await
        .unwrap();
    assert_eq!((c.stored, c.rejected), (1, 1), "{c:?}");
    let h = store.history(&query("ble:B", "t", t, t + 10, 10)).unwrap();
    assert_eq!(h.buckets.len(), 2);
}

/// Another process holding the write lock longer than the busy timeout (issue 11, point 3):
/// the write waits and is retried, and resolves as stored once the lock is released, instead of
/// failing its callers.
#[tokio::test]
async fn a_locked_database_delays_a_write_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let (store, writer) = open(&path).unwrap();
    let ingest = writer.ingest();
    let trouble = writer.trouble();
    let t = 1_700_000_000_000;
    ingest
        .write(vec![reading("ble:A", "t", t, 1.0)])
        .await
        .unwrap();
    let (locked_tx, locked) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let mut other = rusqlite::Connection::open(&path).unwrap();
        let tx = other
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        locked_tx.send(()).unwrap();
        // Longer than the writer's 5 s busy timeout, so it must retry.
        std::thread::sleep(std::time::Duration::from_millis(6_500));
        tx.commit().unwrap();
    });
    locked.recv().unwrap();
    let started = std::time::Instant::now();
    let write = tokio::spawn({
        let ingest = ingest.clone();
        async move {
            ingest
                .write(
                    (1..=35)
                        .map(|i| reading("ble:A", "t", t + i, i as f64))
                        .collect(),
                )
                .await
        }
    });
    // While it waits, the store says why.
    let mut seen = trouble.clone();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        seen.wait_for(|t| t.as_deref().is_some_and(|t| t.contains("locked"))),
    )
    .await
    .expect("the store reports the lock while it retries")
    .unwrap();
    let c = write
        .await
        .unwrap()
        .expect("the write is retried, not failed");
    assert_eq!(c.stored, 35);
    assert!(started.elapsed() >= std::time::Duration::from_secs(5));
    holder.join().unwrap();
    assert_eq!(*trouble.borrow(), None, "the trouble clears by itself");
    let h = store
        .history(&query("ble:A", "t", t, t + 100, 100))
        .unwrap();
    assert_eq!(h.buckets.len(), 36);
}

/// Pruning with a clock years ahead of the data (issue 11, point 6) deletes nothing that is
/// within retention of the newest reading the store holds.
#[tokio::test]
async fn a_clock_far_ahead_does_not_prune_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = open(&dir.path().join("t.db")).unwrap();
    let ingest = writer.ingest();
    let day = 86_400_000i64;
    let t0 = 1_700_000_000_000;
    ingest
        .write(
            (0..10)
                .map(|d| reading("ble:A", "t", t0 + d * day, 1.0))
                .collect(),
        )
        .await
        .unwrap();
    let ten_years_ahead = t0 + 3650 * day;
    while ingest.prune_step(ten_years_ahead).await.unwrap() > 0 {}
    let h = store
        .history(&query("ble:A", "t", t0, t0 + 10 * day, 100))
        .unwrap();
    assert_eq!(h.buckets.len(), 10, "nothing within 30 days of the data");
}

/// Readers never take the write lock (issue 11, point 7): opening for reading while another
/// process holds it answers at once.
#[tokio::test]
async fn a_read_only_open_never_waits_for_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let (_store, writer) = open(&path).unwrap();
    writer
        .ingest()
        .write(vec![reading("ble:A", "t", 1_700_000_000_000, 1.0)])
        .await
        .unwrap();
    let mut other = rusqlite::Connection::open(&path).unwrap();
    let tx = other
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let started = std::time::Instant::now();
    let reader = open_read_only(&path).unwrap();
    assert_eq!(reader.device_summaries().unwrap().len(), 1);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    drop(tx);
    assert!(matches!(
        open_read_only(&dir.path().join("missing.db")),
        Err(StoreError::NotFound(_))
    ));
}

/// Reads from many threads at once share a few read-only connections: all answer, in parallel
/// where connections allow, and the pool never opens more than its bound.
#[tokio::test]
async fn reads_from_many_threads_share_a_bounded_pool() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let (store, writer) = open(&path).unwrap();
    writer
        .ingest()
        .write(
            (0..1_000)
                .map(|i| reading("ble:A", "t", 1_700_000_000_000 + i * 1_000, i as f64))
                .collect(),
        )
        .await
        .unwrap();
    let store = std::sync::Arc::new(store);
    let busiest = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let threads: Vec<_> = (0..12)
        .map(|_| {
            let (store, busiest, running) = (store.clone(), busiest.clone(), running.clone());
            std::thread::spawn(move || {
                for _ in 0..40 {
                    let n = store
                        .with_reader(|conn| {
                            let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                            busiest.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                            let n: i64 =
                                conn.query_row("SELECT count(*) FROM series", [], |r| r.get(0))?;
                            std::thread::sleep(std::time::Duration::from_millis(1));
                            running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                            Ok(n)
                        })
                        .unwrap();
                    assert_eq!(n, 1);
                    assert_eq!(store.device_summaries().unwrap().len(), 1);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let busiest = busiest.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (2..=MAX_READERS).contains(&busiest),
        "{busiest} reads at once"
    );
    assert!(store.readers.pool.lock().unwrap().open <= MAX_READERS);
}

/// A device declared offline or back online by its source (issue 11, point 8) is on disk, for a
/// reader in another process: the first declaration of a standing state keeps its time, a
/// device no source described yet is created, and the row goes with its device.
#[tokio::test]
async fn declared_presence_is_persisted_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let (store, writer) = open(&path).unwrap();
    let ingest = writer.ingest();
    let node = DeviceId::new("mqtt:plant/G/E");
    let dev = DeviceId::new("mqtt:plant/dev1");
    assert!(store.presence().unwrap().is_empty());

    ingest
        .set_offline(node.clone(), Some(1_000), 1_000)
        .await
        .unwrap();
    // The same last will again (retained, at a reconnect): it went away at 1 s, not 5 s.
    ingest
        .set_offline(node.clone(), Some(5_000), 5_000)
        .await
        .unwrap();
    ingest.set_offline(dev.clone(), None, 2_000).await.unwrap();
    ingest.set_offline(dev.clone(), None, 3_000).await.unwrap();
    let rows = open_read_only(&path).unwrap().presence().unwrap();
    assert_eq!(
        rows,
        vec![
            PresenceRow {
                device: node.clone(),
                offline_since_ms: Some(1_000),
                changed_ms: 1_000,
            },
            PresenceRow {
                device: dev.clone(),
                offline_since_ms: None,
                changed_ms: 2_000,
            },
        ]
    );
    // Neither was described by a source: each got a device row named by its id.
    let node_row = store.device(&node).unwrap();
    assert_eq!(
        (node_row.name.as_str(), node_row.transport),
        (node.as_str(), Transport::Mqtt)
    );

    // Back online, then gone again: each change is recorded with its own time.
    ingest.set_offline(node.clone(), None, 7_000).await.unwrap();
    assert_eq!(store.presence().unwrap()[0].offline_since_ms, None);
    assert_eq!(store.presence().unwrap()[0].changed_ms, 7_000);
    ingest
        .set_offline(dev.clone(), Some(8_000), 8_000)
        .await
        .unwrap();
    assert_eq!(store.presence().unwrap()[1].offline_since_ms, Some(8_000));

    // A description that arrives later renames the device and keeps its presence.
    ingest
        .register(Device {
            id: dev.clone(),
            name: "dev1".into(),
            kind: "machine".into(),
            transport: Transport::Mqtt,
            site: "Plant".into(),
            expected_interval_ms: 10_000,
            tags: vec![],
        })
        .await
        .unwrap();
    assert_eq!(store.device(&dev).unwrap().name, "dev1");
    assert_eq!(store.presence().unwrap()[1].offline_since_ms, Some(8_000));

    ingest.forget_device(dev.clone()).await.unwrap();
    let left: Vec<DeviceId> = store
        .presence()
        .unwrap()
        .into_iter()
        .map(|p| p.device)
        .collect();
    assert_eq!(left, vec![node]);
}

/// A writer that dies (a bug) is reported, and every later write fails at once instead of
/// waiting forever or being dropped silently (issue 12, point 5).
#[tokio::test]
async fn a_dead_writer_is_reported_and_writes_fail_fast() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, writer) = open(&dir.path().join("t.db")).unwrap();
    let ingest = writer.ingest();
    let mut died = writer.died();
    assert_eq!(*died.borrow(), None);
    ingest.inject_panic().await;
    let why = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        died.wait_for(Option::is_some),
    )
    .await
    .expect("the death is reported")
    .unwrap()
    .clone();
    assert!(why.unwrap().contains("injected"));
    let write = ingest
        .write(vec![reading("ble:A", "t", 1_700_000_000_000, 1.0)])
        .await;
    assert!(matches!(write, Err(StoreError::WriterStopped)), "{write:?}");
}

/// History kept for offline viewing (a plant historian's) is stored like any reading, and never
/// announced: the live view and the alert engine must not take it for what is happening now.
#[tokio::test]
async fn history_from_elsewhere_is_stored_but_not_announced() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = open(&dir.path().join("t.db")).unwrap();
    let mut news = writer.subscribe();
    let ingest = writer.ingest();
    let reading = |ts: i64| Reading {
        device: DeviceId::new("mqtt:north/press"),
        metric: "force".into(),
        unit: Some("kN".into()),
        ts_ms: ts,
        value: ts as f64,
        quality: Default::default(),
    };
    let kept = ingest
        .write_history((0..10).map(|i| reading(1_000_000 + i * 1000)).collect())
        .await
        .unwrap();
    assert_eq!(kept.stored, 10);
    ingest.write(vec![reading(2_000_000)]).await.unwrap();
    let first = news.recv().await.unwrap();
    assert_eq!(first.len(), 1, "only the live reading is news");
    assert_eq!(first[0].ts_ms, 2_000_000);
    let key = SeriesKey {
        device: DeviceId::new("mqtt:north/press"),
        metric: "force".into(),
    };
    let mut n = 0;
    store
        .export(&key, 0, i64::MAX / 2, |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(n, 11);
}

/// The dashboard's sparklines: the last 24 hours of each card's main metric (its first
/// non-diagnostic one) as hourly means, gaps left empty; diagnostic-only devices get none.
#[tokio::test]
async fn sparklines_show_a_day_of_each_main_metric_in_one_query() {
    const HOUR: i64 = 3_600_000;
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = open(&dir.path().join("t.db")).unwrap();
    let ingest = writer.ingest();
    let now = 1_000 * HOUR + HOUR / 2; // half-way through an hour
    let mut readings = Vec::new();
    for minute in 0..(30 * 60) {
        let ts = now - 30 * HOUR + minute * 60_000;
        let hours_ago = (now - ts) / HOUR;
        // Nothing between 10 and 12 hours ago: a gap.
        if (10..12).contains(&hours_ago) {
            continue;
        }
        readings.push(reading("ble:A", "temperature", ts, (ts / HOUR) as f64));
        readings.push(reading("ble:A", "rssi", ts, -60.0));
        readings.push(reading("ble:B", "rssi", ts, -70.0));
    }
    ingest.write(readings).await.unwrap();
    let mut summaries = store.device_summaries().unwrap();
    store.fill_sparklines(&mut summaries, now).unwrap();
    let a = summaries.iter().find(|s| s.device.id.0 == "ble:A").unwrap();
    let line = a.sparkline.as_ref().expect("a sparkline for A");
    assert_eq!(line.metric, "temperature");
    assert_eq!(line.means.len(), 24);
    // The 24 hours end with the current one.
    assert_eq!(line.from_ms, (now / HOUR + 1 - 24) * HOUR);
    // Each reading's value is its hour: an hour's mean is that hour. Readings from 10 to 12
    // hours before `now` (half-way through hour 1000) are missing: hour 989 has none, hours 988
    // and 990 half of theirs.
    for (i, mean) in line.means.iter().enumerate() {
        let hour = line.from_ms / HOUR + i as i64;
        let want = (hour != 989).then_some(hour as f64);
        assert_eq!(*mean, want, "hour {hour}");
    }
    let b = summaries.iter().find(|s| s.device.id.0 == "ble:B").unwrap();
    assert_eq!(b.sparkline, None, "diagnostic metrics only");
    drop(ingest);
    writer.close();
}
