//! Secrets stay where they were given: a broker's stored password never follows its settings to
//! another host, a password in a broker URL is refused without being echoed, and a secret's
//! `Debug` never prints it.

mod common;

use common::MemoryKeyring;
use std::sync::Arc;
use telltale_engine::secret::{ExposeSecret, Secret, SecretStore};
use telltale_engine::Engine;
use telltale_model::broker::SaveBroker;
use telltale_model::secret::SecretInput;
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

fn save(config: &BrokerConfig, password: Option<&str>) -> SaveBroker {
    SaveBroker {
        config: config.clone(),
        password: password.map(SecretInput::from),
        clear_password: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_password_never_follows_the_settings_to_another_host() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = Arc::new(MemoryKeyring::default());
    let engine = Engine::open_with_secrets(&dir.path().join("s.db"), keyring.clone()).unwrap();
    let now = telltale_sources::now_ms();
    let first = broker("mqtts://gateway.plant:8883");
    engine
        .save_broker(save(&first, Some("s3cret")), now)
        .await
        .unwrap();
    // Same host, other settings: the password stays.
    let renamed = BrokerConfig {
        site: "Hall 2".into(),
        ..first.clone()
    };
    engine.save_broker(save(&renamed, None), now).await.unwrap();
    for elsewhere in [
        "mqtts://attacker.example:8883",
        "mqtts://gateway.plant:9999",
        "mqtt://gateway.plant:8883",
    ] {
        let moved = broker(elsewhere);
        let err = engine
            .save_broker(save(&moved, None), now)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("enter its password again"),
            "{elsewhere}: {err}"
        );
        // Refused before anything was kept: the saved settings still name the first host.
        let saved = engine.configured_brokers().unwrap();
        assert_eq!(saved[0].url, first.url, "{elsewhere}");
    }
    // Given again (or cleared), the move is fine.
    let moved = broker("mqtts://gateway2.plant:8883");
    engine
        .save_broker(save(&moved, Some("other")), now)
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
    let cleared = broker("mqtts://gateway3.plant:8883");
    let request = SaveBroker {
        clear_password: true,
        ..save(&cleared, None)
    };
    engine.save_broker(request, now).await.unwrap();
    assert!(keyring.get(&cleared.secret_key()).unwrap().is_none());
    // Deleting the broker forgets its settings and its password.
    keyring.set(&cleared.secret_key(), "again").unwrap();
    engine.delete_broker("plant", now).await.unwrap();
    assert!(engine.configured_brokers().unwrap().is_empty());
    assert!(keyring.get(&cleared.secret_key()).unwrap().is_none());
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
    let secret = Secret::from("s3cret".to_owned());
    assert!(!format!("{secret:?}").contains("s3cret"));
    let typed = SecretInput::from("s3cret");
    assert!(!format!("{typed:?}").contains("s3cret"));
}
