//! Rules made by the form, with a real SQLite file: the week's preview counts what the rule
//! would have raised on stored history, saving changes one table of the rules' text, and
//! notifications follow the rule's switch and the quiet hours, kept across a restart.

mod common;

use common::{Collected, Collector};
use std::sync::Arc;
use std::time::Duration;
use telltale_engine::alerting::local_minute;
use telltale_engine::Engine;
use telltale_model::alert::{
    AlertEvent, AlertKind, NotificationSettings, QuietHours, RuleChange, RuleForm, Severity,
};
use telltale_model::{Device, DeviceId, Quality, Reading, Transport};

const MIN: i64 = 60_000;

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

fn device(id: &str, name: &str) -> Device {
    Device {
        id: DeviceId::new(id),
        name: name.into(),
        kind: "thermometer".into(),
        transport: Transport::Ble,
        site: "Home".into(),
        expected_interval_ms: 60_000,
        tags: vec![],
    }
}

async fn engine(db: &std::path::Path, notes: Arc<Collected>) -> Engine {
    let engine = Engine::open(db).unwrap();
    for (id, name) in [("ble:FRIDGE", "Fridge"), ("ble:CELLAR", "Cellar")] {
        engine.ingest().register(device(id, name)).await.unwrap();
    }
    engine.start_alerts(Arc::new(Collector(notes))).unwrap();
    engine
}

fn high(id: &str, device: &str, limit: f64, for_s: f64) -> RuleChange {
    let mut form = RuleForm::new(device, "temperature", AlertKind::High);
    form.id = id.into();
    form.limit = limit;
    form.for_s = for_s;
    RuleChange {
        form,
        replaces: None,
    }
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not within 10 s: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_previews_a_week_saves_one_table_and_notifies_as_told() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("forms.db");
    let notes = Arc::new(Collected::default());
    let now = telltale_sources::now_ms();
    let engine = engine(&db, notes.clone()).await;

    // Three days of the fridge at 4 °C every minute, with two warm spells: 20 minutes at
    // 9 °C two days ago, 5 minutes at 10 °C yesterday. The cellar at 12 °C, silent for the
    // last 3 hours. Stored as history: nothing is judged live.
    let start = now - 3 * 1440 * MIN;
    let warm = |t: i64| {
        let (a, b) = (now - 2 * 1440 * MIN, now - 1440 * MIN);
        if (a..a + 20 * MIN).contains(&t) {
            9.0
        } else if (b..b + 5 * MIN).contains(&t) {
            10.0
        } else {
            4.0
        }
    };
    let mut history: Vec<Reading> = (0..3 * 1440)
        .map(|i| start + i * MIN)
        .map(|t| reading("ble:FRIDGE", "temperature", t, warm(t)))
        .collect();
    history.extend(
        (0..3 * 1440 - 180)
            .map(|i| start + i * MIN)
            .map(|t| reading("ble:CELLAR", "temperature", t, 12.0)),
    );
    engine.ingest().write_history(history).await.unwrap();

    // The preview: above 8 °C at once raises twice; for 10 minutes, once (the short spell is
    // too short); every device, the cellar's 12 °C raises too.
    let queries = engine.queries();
    let preview = |change: &RuleChange| {
        let rule = engine.rule_of(change).unwrap();
        queries.preview_rule(&rule, now).unwrap()
    };
    let p = preview(&high("fridge-warm", "Fridge", 8.0, 0.0));
    assert_eq!((p.series, p.raised), (1, 2), "{p:?}");
    assert_eq!(p.readings, 3 * 1440);
    assert_eq!(p.to_ms - p.from_ms, 7 * 1440 * MIN);
    let newest = &p.examples[0];
    assert_eq!(
        (newest.ts_ms, newest.device_name.as_str(), newest.value),
        (now - 1440 * MIN, "Fridge", 10.0)
    );
    assert_eq!(newest.unit.as_deref(), Some("°C"));
    assert_eq!(preview(&high("w", "Fridge", 8.0, 600.0)).raised, 1);
    let everywhere = preview(&high("w", "*", 8.0, 0.0));
    assert_eq!(
        (everywhere.series, everywhere.raised),
        (2, 3),
        "{everywhere:?}"
    );
    // A quiet cellar: silence is judged on all its metrics, and the one going on now counts.
    let mut quiet = RuleForm::new("Cellar", "*", AlertKind::Stale);
    quiet.id = "cellar-quiet".into();
    quiet.stale_after_s = 3600.0;
    let quiet = RuleChange {
        form: quiet,
        replaces: None,
    };
    let p = preview(&quiet);
    assert_eq!((p.series, p.raised), (1, 1), "{p:?}");
    assert_eq!(
        p.examples[0].ts_ms,
        start + (3 * 1440 - 181) * MIN + 60 * MIN
    );
    // Nothing matches, and kinds judged on forecasts say so rather than count nothing.
    let p = preview(&high("w", "Garage", 8.0, 0.0));
    assert_eq!(
        p.note.as_deref(),
        Some("no stored series matches this rule yet")
    );
    let mut wear = RuleForm::new("Fridge", "*", AlertKind::Forecast);
    wear.id = "wear".into();
    wear.horizon_s = 86_400.0;
    let p = preview(&RuleChange {
        form: wear,
        replaces: None,
    });
    assert!(p.note.unwrap().contains("not readings"));
    // A form a rule cannot be made of is refused with the reason.
    let err = engine.rule_of(&high("", "Fridge", 8.0, 0.0)).unwrap_err();
    assert!(err.to_string().contains("id must be 1 to 128"), "{err}");

    // Saving: the rules' text keeps what a person wrote, and gains one table.
    let alerts = engine.alerts().unwrap();
    alerts
        .set_rules("# Kept as written.\n[[rule]]\nid = \"cellar-damp\"\ndevice = \"Cellar\"\nmetric = \"humidity\"\nkind = \"high\"\nlimit = 70\n")
        .await
        .unwrap();
    let mut fridge = high("fridge-warm", "Fridge", 8.0, 0.0);
    fridge.form.notify = false;
    engine.save_rule(&fridge).await.unwrap();
    let mut critical = high("fridge-hot", "Fridge", 20.0, 0.0);
    critical.form.severity = Severity::Critical;
    engine.save_rule(&critical).await.unwrap();
    let text = alerts.rules_text();
    assert!(
        text.starts_with("# Kept as written.\n[[rule]]\nid = \"cellar-damp\""),
        "{text}"
    );
    let forms = engine.rule_forms().unwrap();
    assert_eq!(
        forms.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        ["cellar-damp", "fridge-warm", "fridge-hot"]
    );
    assert!(!forms[1].notify);
    // A second new rule under a used id is refused; an edit under its old id is not.
    let err = engine
        .save_rule(&RuleChange {
            replaces: Some("fridge-hot".into()),
            ..fridge.clone()
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("used twice"), "{err}");

    // Live: the rule with notifications off records its alert and tells nobody; the critical
    // one tells at once.
    let mut records = alerts.subscribe();
    engine
        .ingest()
        .write(vec![reading("ble:FRIDGE", "temperature", now, 9.0)])
        .await
        .unwrap();
    let raised = tokio::time::timeout(Duration::from_secs(10), records.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (raised.event, raised.id.rule.as_str()),
        (AlertEvent::Raised, "fridge-warm")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(notes.bodies().is_empty(), "{:?}", notes.bodies());

    // Quiet hours around this minute: a warning waits, a critical alert does not.
    let minute = local_minute(now) as i32;
    let around = |d: i32| (minute + d).rem_euclid(1440) as u16;
    let night = NotificationSettings {
        quiet: Some(QuietHours {
            from_min: around(-60),
            to_min: around(60),
        }),
    };
    engine.save_notifications(night.clone()).await.unwrap();
    fridge.form.notify = true;
    fridge.replaces = Some("fridge-warm".into());
    engine.save_rule(&fridge).await.unwrap();
    engine
        .ingest()
        .write(vec![
            reading("ble:FRIDGE", "temperature", now + 1_000, 3.0),
            reading("ble:FRIDGE", "temperature", now + 2_000, 21.0),
        ])
        .await
        .unwrap();
    eventually("the critical alert told at once", || {
        notes.bodies().iter().any(|b| b.contains("above 20"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        !notes.bodies().iter().any(|b| b.contains("above 8")),
        "a warning waits for quiet hours to end: {:?}",
        notes.bodies()
    );
    let said = engine.test_notification(now).unwrap();
    assert!(said.contains("only critical alerts notify now"), "{said}");
    assert!(notes
        .bodies()
        .contains(&"Alerts will reach you like this.".to_owned()));

    // The hours end (here: are taken away): what still needs attention is told, once.
    engine
        .save_notifications(NotificationSettings::default())
        .await
        .unwrap();
    eventually("the held warning told when quiet hours end", || {
        notes
            .bodies()
            .iter()
            .any(|b| b.contains("above 8") && b.ends_with("(held during quiet hours)"))
    })
    .await;

    // Removing a rule closes it; the settings and the rules' text outlive a restart.
    engine.save_notifications(night.clone()).await.unwrap();
    engine.delete_rule("fridge-hot").await.unwrap();
    assert!(engine.delete_rule("fridge-hot").await.is_err());
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    engine.shutdown().await;
    let engine = self::engine(&db, notes.clone()).await;
    let alerts = engine.alerts().unwrap();
    assert_eq!(alerts.notifications(), night);
    let text = alerts.rules_text();
    assert!(
        text.starts_with("# Kept as written.\n") && !text.contains("fridge-hot"),
        "{text}"
    );
    engine.shutdown().await;
}
