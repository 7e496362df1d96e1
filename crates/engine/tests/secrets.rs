//! Secrets stay where they were given: a broker's stored password never follows its settings to
//! another host, a password in a broker URL is refused without being echoed, and a secret's
//! `Debug` never prints it.

mod common;

use common::MemoryKeyring;
use telltale_engine::secret::{ExposeSecret, Secret, SecretStore};
use telltale_engine::{save_broker, Engine, PasswordChange};
use telltale_sources::mqtt::{BrokerConfig, PayloadFormat, TopicMap};

fn broker(url: &str) -> BrokerConfig {
    BrokerConfig {
        username: Some("collector".into()),
        ..BrokerConfig::new(
            "plant",
            url,
            "telltale",
            vec![TopicMap::new("p/+/+", PayloadFormat::Number, "{1}", "{2}")],
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_password_never_follows_the_settings_to_another_host() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("s.db")).unwrap();
    let ingest = engine.ingest();
    let keyring = MemoryKeyring::default();
    let first = broker("mqtts://gateway.plant:8883");
    save_broker(
        &ingest,
        &keyring,
        None,
        &first,
        PasswordChange::Set(Secret::from("s3cret".to_owned())),
    )
    .await
    .unwrap();
    // Same host, other settings: the password stays.
    let renamed = BrokerConfig {
        site: "Hall 2".into(),
        ..first.clone()
    };
    save_broker(
        &ingest,
        &keyring,
        Some(&first),
        &renamed,
        PasswordChange::Keep,
    )
    .await
    .unwrap();
    for elsewhere in [
        "mqtts://attacker.example:8883",
        "mqtts://gateway.plant:9999",
        "mqtt://gateway.plant:8883",
    ] {
        let moved = broker(elsewhere);
        let err = save_broker(
            &ingest,
            &keyring,
            Some(&first),
            &moved,
            PasswordChange::Keep,
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("enter its password again"),
            "{elsewhere}: {err}"
        );
    }
    // Given again (or cleared), the move is fine.
    let moved = broker("mqtts://gateway2.plant:8883");
    save_broker(
        &ingest,
        &keyring,
        Some(&first),
        &moved,
        PasswordChange::Set(Secret::from("other".to_owned())),
    )
    .await
    .unwrap();
    assert_eq!(
        keyring
            .get(&moved.secret_key())
            .unwrap()
            .unwrap()
            .expose_secret(),
        "other"
    );
    engine.shutdown().await;
}

#[test]
fn a_password_in_a_broker_url_is_refused_and_not_echoed() {
    for url in [
        "mqtt://collector:s3cret@gateway.plant",
        "mqtts://:s3cret@gateway.plant:8883",
        "mqtt://s3cret@gateway.plant",
    ] {
        let err = broker(url).validate().unwrap_err();
        assert!(err.contains("OS keyring"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
}

#[test]
fn a_secret_never_prints() {
    let change = PasswordChange::Set(Secret::from("s3cret".to_owned()));
    assert!(!format!("{change:?}").contains("s3cret"));
}
