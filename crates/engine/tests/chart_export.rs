//! Charts saved as pictures, from a real SQLite file: the file lands in the folder asked for,
//! named after its series and window, at the asked size, and says what the chart says; requests
//! no chart can answer write nothing.

use telltale_engine::{Engine, EngineError};
use telltale_model::view::{ChartExport, ChartFormat, SeriesRef};
use telltale_model::{Device, DeviceId, Quality, Reading, Transport};

const MIN: i64 = 60_000;
/// 2023-11-14 22:00 UTC: the readings' first minute.
const START: i64 = 1_699_999_200_000;

fn device(id: &str, name: &str, transport: Transport) -> Device {
    Device {
        id: DeviceId::new(id),
        name: name.into(),
        kind: "sensor".into(),
        transport,
        site: "Home".into(),
        expected_interval_ms: MIN,
        tags: vec![],
    }
}

fn series(device: &str, metric: &str) -> SeriesRef {
    SeriesRef {
        device: DeviceId::new(device),
        metric: metric.into(),
    }
}

/// Ten hours of a cellar's temperature, a minute apart, and of a pump's vibration (an MQTT id
/// with slashes, which must not lead the file out of its folder).
async fn engine(db: &std::path::Path) -> Engine {
    let engine = Engine::open(db).unwrap();
    let ingest = engine.ingest();
    ingest
        .register(device("ble:CELLAR", "Cellar", Transport::Ble))
        .await
        .unwrap();
    ingest
        .register(device("mqtt:plant/../pump", "Pump", Transport::Mqtt))
        .await
        .unwrap();
    let reading = |device: &str, metric: &str, unit: &str, i: i64, value: f64| Reading {
        device: DeviceId::new(device),
        metric: metric.into(),
        unit: Some(unit.into()),
        ts_ms: START + i * MIN,
        value,
        quality: Quality::Good,
    };
    let mut readings: Vec<Reading> = (0..600)
        .map(|i| {
            reading(
                "ble:CELLAR",
                "temperature",
                "°C",
                i,
                11.0 + (i % 60) as f64 / 30.0,
            )
        })
        .collect();
    readings.extend((0..600).map(|i| {
        reading(
            "mqtt:plant/../pump",
            "vibration",
            "mm/s",
            i,
            2.0 + (i % 7) as f64,
        )
    }));
    ingest.write_history(readings).await.unwrap();
    engine
}

fn request(format: ChartFormat) -> ChartExport {
    ChartExport {
        series: vec![series("ble:CELLAR", "temperature")],
        from_ms: START,
        to_ms: START + 600 * MIN,
        format,
        width: 800,
        height: 400,
        utc_offset_min: 60,
    }
}

/// A PNG's size from its header (the chart crate's tests decode the pixels).
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap());
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_is_saved_as_png_and_svg_as_it_is_drawn() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine(&tmp.path().join("telltale.db")).await;
    let queries = engine.queries();
    let out = tmp.path().join("Downloads");
    let now = START + 600 * MIN;

    let png = queries
        .export_chart(&request(ChartFormat::Png), &out, now)
        .unwrap();
    assert_eq!(
        png.rows, 600,
        "every reading of the window is in the picture"
    );
    let name = format!(
        "telltale-chart-ble_CELLAR-temperature-{START}-{}.png",
        START + 600 * MIN
    );
    assert_eq!(png.path, out.join(name).display().to_string());
    assert_eq!(png_size(&std::fs::read(&png.path).unwrap()), (800, 400));

    // A dense screen's picture: four times the pixels, the same readings.
    let big = ChartExport {
        width: 1_600,
        height: 800,
        ..request(ChartFormat::Png)
    };
    let png = queries.export_chart(&big, &out, now).unwrap();
    assert_eq!(png.rows, 600);
    assert_eq!(png_size(&std::fs::read(&png.path).unwrap()), (1_600, 800));

    let svg = queries
        .export_chart(&request(ChartFormat::Svg), &out, now)
        .unwrap();
    assert!(svg.path.ends_with(".svg"));
    let text = std::fs::read_to_string(&svg.path).unwrap();
    assert!(text.starts_with("<svg") && text.contains(r#"width="800""#));
    assert!(text.contains("<polyline") && text.contains("°C"));
    // The time axis is in the viewer's time: the tick at 22:13 UTC reads 23:13 an hour east.
    let utc = ChartExport {
        utc_offset_min: 0,
        ..request(ChartFormat::Svg)
    };
    let utc = std::fs::read_to_string(queries.export_chart(&utc, &out, now).unwrap().path);
    assert!(text.contains("23:13") && utc.unwrap().contains("22:13"));

    // A window with no readings still makes a picture, which says so.
    let before = ChartExport {
        from_ms: START - 600 * MIN,
        to_ms: START - MIN,
        ..request(ChartFormat::Svg)
    };
    let empty = queries.export_chart(&before, &out, now).unwrap();
    assert_eq!(empty.rows, 0);
    assert!(std::fs::read_to_string(&empty.path)
        .unwrap()
        .contains("no data in this range"));

    // An id with slashes and dots stays one file name in the folder asked for.
    let pump = ChartExport {
        series: vec![series("mqtt:plant/../pump", "vibration")],
        ..request(ChartFormat::Png)
    };
    let pump = queries.export_chart(&pump, &out, now).unwrap();
    let path = std::path::Path::new(&pump.path);
    assert_eq!(path.parent(), Some(out.as_path()));
    assert!(
        pump.path.contains("mqtt_plant____pump-vibration"),
        "{}",
        pump.path
    );
    assert_eq!(pump.rows, 600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comparison_is_saved_with_each_series_named() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine(&tmp.path().join("telltale.db")).await;
    let out = tmp.path().join("Downloads");
    let both = ChartExport {
        series: vec![
            series("ble:CELLAR", "temperature"),
            series("mqtt:plant/../pump", "vibration"),
        ],
        ..request(ChartFormat::Svg)
    };
    let saved = engine
        .queries()
        .export_chart(&both, &out, START + 600 * MIN)
        .unwrap();
    assert_eq!(saved.rows, 1_200, "both series' readings");
    assert!(saved
        .path
        .contains("telltale-chart-ble_CELLAR-temperature+mqtt_plant____pump-vibration-"));
    let text = std::fs::read_to_string(&saved.path).unwrap();
    // The legend names each series by its device's name, with its unit.
    assert!(text.contains("Cellar · temperature (°C)"), "{text}");
    assert!(text.contains("Pump · vibration (mm/s)"));
    let png = ChartExport {
        format: ChartFormat::Png,
        ..both
    };
    let saved = engine.queries().export_chart(&png, &out, START).unwrap();
    assert_eq!(png_size(&std::fs::read(&saved.path).unwrap()), (800, 400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_no_chart_can_answer_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = engine(&tmp.path().join("telltale.db")).await;
    let queries = engine.queries();
    let out = tmp.path().join("Downloads");
    let good = request(ChartFormat::Png);
    let bad = |f: &dyn Fn(&mut ChartExport)| {
        let mut req = good.clone();
        f(&mut req);
        queries.export_chart(&req, &out, START).unwrap_err()
    };
    let invalid = |e: EngineError| match e {
        EngineError::Invalid(m) => m,
        other => panic!("not refused as invalid: {other:?}"),
    };

    let five = |r: &mut ChartExport| {
        r.series = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|d| series(d, "temperature"))
            .collect();
    };
    assert!(invalid(bad(&five)).contains("got 5"));
    assert!(invalid(bad(&|r| r.series.clear())).contains("1 to 4"));
    assert!(invalid(bad(&|r| (r.width, r.height) = (0, 0))).contains("0×0"));
    assert!(invalid(bad(&|r| r.width = 100_000)).contains("pixels"));
    let inverted = |r: &mut ChartExport| (r.from_ms, r.to_ms) = (r.to_ms, r.from_ms);
    invalid(bad(&inverted));
    assert!(invalid(bad(&|r| r.utc_offset_min = 24 * 60)).contains("UTC offset"));

    // A series the store has never heard of is not found, as its history is: an empty picture
    // of a typo would hide the typo.
    let unknown = bad(&|r| r.series = vec![series("ble:NOPE", "temperature")]);
    assert!(
        matches!(
            unknown,
            EngineError::Store(telltale_store::StoreError::NotFound(_))
        ),
        "{unknown:?}"
    );
    assert!(!out.exists(), "nothing written");
}
