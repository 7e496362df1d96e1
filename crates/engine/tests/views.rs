//! Saved comparisons on a real SQLite file: saved, listed by name, replaced by name, refused
//! when no chart could show them, forgotten, and kept across a restart; one unreadable row does
//! not hide the others.

use telltale_engine::Engine;
use telltale_model::view::{ChartView, SeriesRef, ViewRange};
use telltale_model::DeviceId;
use telltale_store::SourceConfigChange;

fn series(device: &str, metric: &str) -> SeriesRef {
    SeriesRef {
        device: DeviceId::new(device),
        metric: metric.into(),
    }
}

fn view(name: &str, series: Vec<SeriesRef>) -> ChartView {
    ChartView {
        name: name.into(),
        series,
        range: ViewRange::Last { ms: 86_400_000 },
    }
}

#[tokio::test]
async fn views_are_kept_by_name_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("telltale.db");
    let engine = Engine::open(&db).unwrap();
    let pump_and_cellar = view(
        "pump and cellar",
        vec![
            series("ble:A4:C1:38:00:00:01", "temperature"),
            series("spb:Plant/Line1/Pump02", "vibration"),
        ],
    );
    engine
        .save_chart_view(pump_and_cellar.clone(), 1_000)
        .await
        .unwrap();
    engine
        .save_chart_view(
            view("  Boiler  ", vec![series("boiler", "pressure")]),
            2_000,
        )
        .await
        .unwrap();
    let names: Vec<String> = engine
        .chart_views()
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    // By name, whatever the case; the name is saved trimmed.
    assert_eq!(names, ["Boiler", "pump and cellar"]);

    // Saving under a name replaces that view.
    let mut wider = pump_and_cellar.clone();
    wider
        .series
        .push(series("ble:A4:C1:38:00:00:02", "humidity"));
    wider.range = ViewRange::Between {
        from_ms: 1_700_000_000_000,
        to_ms: 1_700_086_400_000,
    };
    engine.save_chart_view(wider.clone(), 3_000).await.unwrap();
    let views = engine.chart_views().unwrap();
    assert_eq!(views.len(), 2);
    assert_eq!(views[1], wider);

    // What no chart can show is refused, and nothing kept changes.
    for bad in [
        view("", vec![series("a", "t")]),
        view("empty", vec![]),
        view(
            "five",
            (0..5).map(|i| series(&format!("d{i}"), "t")).collect(),
        ),
        view("twice", vec![series("a", "t"), series("a", "t")]),
    ] {
        let err = engine.save_chart_view(bad, 4_000).await.unwrap_err();
        assert_eq!(
            telltale_model::ApiError::from(err).code,
            telltale_model::ErrorCode::InvalidArgument
        );
    }
    assert_eq!(engine.chart_views().unwrap().len(), 2);

    // A row this version cannot read (a newer app's, or damaged) is skipped, not fatal.
    engine
        .ingest()
        .save_source_config(SourceConfigChange {
            kind: "chart_view".into(),
            id: "from the future".into(),
            config: Some(r#"{"name":"from the future","series":"?"}"#.into()),
            now_ms: 5_000,
        })
        .await
        .unwrap();
    assert_eq!(engine.chart_views().unwrap().len(), 2);

    engine.delete_chart_view(" Boiler ", 6_000).await.unwrap();
    engine.shutdown().await;
    drop(engine);

    let engine = Engine::open(&db).unwrap();
    assert_eq!(engine.chart_views().unwrap(), vec![wider]);
    assert!(engine.delete_chart_view("", 7_000).await.is_err());
    engine.shutdown().await;
}
