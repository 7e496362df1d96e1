//! `telltale decode sparkplug`, run as a user runs it: golden vectors decode to the JSON
//! contract (exit 0), malformed input is one line on stderr (exit 1), never a panic.

use base64::Engine as _;
use serde_json::Value as Json;
use std::process::{Command, Output};

fn telltale() -> Command {
    Command::new(env!("CARGO_BIN_EXE_telltale"))
}

fn sparkplug(topic: &str, base64: &str) -> Output {
    telltale()
        .args(["decode", "sparkplug", "--topic", topic, "--base64", base64])
        .output()
        .unwrap()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The golden Sparkplug vectors beside the workspace (see crates/sparkplug/tests).
fn vectors() -> Vec<Json> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vectors/sparkplug.json"
    );
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("golden vectors missing: {path}: {e}"));
    serde_json::from_str::<Vec<Json>>(&text).unwrap()
}

fn assert_fails_in_one_line(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
    assert!(out.stdout.is_empty(), "{what}: printed {:?}", out.stdout);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{what}: {stderr:?}");
    assert!(stderr.starts_with("telltale: "), "{what}: {stderr:?}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
}

#[test]
fn vectors_decode_to_the_json_contract() {
    let mut checked = 0;
    for vector in vectors() {
        if vector["expect_error"] == true {
            continue;
        }
        let topic = vector["topic"].as_str().unwrap();
        let out = sparkplug(topic, vector["payload_b64"].as_str().unwrap());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stderr}", vector["name"]);
        let json: Json = serde_json::from_slice(&out.stdout).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = vec![
            "message_type",
            "group_id",
            "edge_node_id",
            "device_id",
            "timestamp",
            "seq",
            "metrics",
        ];
        if json["message_type"] == "STATE" {
            want.extend(["host_id", "online"]);
        }
        let (mut keys, mut want) = (keys, want);
        keys.sort_unstable();
        want.sort_unstable();
        assert_eq!(keys, want, "{}", vector["name"]);
        assert_eq!(json["message_type"], vector["message_type"]);
        let parts: Vec<&str> = topic.split('/').collect();
        if json["message_type"] != "STATE" {
            assert_eq!(json["group_id"], parts[1]);
            assert_eq!(json["edge_node_id"], parts[3]);
            assert_eq!(
                json["device_id"],
                parts.get(4).map_or(Json::Null, |d| Json::from(*d))
            );
        }
        let expected = &vector["expected"];
        assert_eq!(
            json["timestamp"], expected["timestamp"],
            "{}",
            vector["name"]
        );
        assert_eq!(json["seq"], expected["seq"], "{}", vector["name"]);
        let metrics = json["metrics"].as_array().unwrap();
        let wanted = expected["metrics"].as_array().unwrap();
        assert_eq!(metrics.len(), wanted.len(), "{}", vector["name"]);
        for (metric, wanted) in metrics.iter().zip(wanted) {
            for key in ["name", "alias", "timestamp", "datatype", "is_null", "value"] {
                assert!(
                    metric.get(key).is_some(),
                    "{}: no {key} in {metric}",
                    vector["name"]
                );
            }
            if wanted["skip"] != true {
                assert_eq!(metric["datatype"], wanted["datatype_name"]);
                assert_eq!(metric["is_null"], wanted["is_null"]);
                assert_eq!(metric["value"], wanted["value"], "{}", vector["name"]);
            }
        }
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn state_messages_decode_too() {
    let out = sparkplug(
        "spBv1.0/STATE/scada",
        &b64(br#"{"online":true,"timestamp":1700000000000}"#),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["message_type"], "STATE");
    assert_eq!(json["online"], true);
    assert_eq!(json["timestamp"], 1_700_000_000_000u64);
    assert_eq!(json["seq"], Json::Null);
    assert_eq!(json["metrics"], serde_json::json!([]));
}

#[test]
fn malformed_input_is_one_line_and_exit_1() {
    let vector = vectors()
        .into_iter()
        .find(|v| v["name"] == "NDATA_seq3_negative_ints_tahu_python")
        .expect("vector");
    let whole = base64::engine::general_purpose::STANDARD
        .decode(vector["payload_b64"].as_str().unwrap())
        .unwrap();
    let ndata = "spBv1.0/Plant1/NDATA/Edge01";
    for (what, topic, payload) in [
        ("bad base64", ndata, "not*base64!".to_owned()),
        ("bad protobuf", ndata, b64(&[0xff, 0xff, 0xff])),
        ("truncated", ndata, b64(&whole[..whole.len() - 3])),
        // Metric{datatype: Int32, string_value: "x"}.
        ("value against datatype", ndata, "EgUgA3oBeA==".to_owned()),
        ("bad topic", "spBv1.0/Plant1/NDATA/Edge01/PLC1", b64(&whole)),
        ("not Sparkplug", "plant/temperature", b64(&whole)),
        ("STATE not JSON", "spBv1.0/STATE/scada", b64(b"ONLINE")),
    ] {
        assert_fails_in_one_line(&sparkplug(topic, &payload), what);
    }
    // A valid protobuf with nothing in it is a message with nothing in it.
    let out = sparkplug(ndata, "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
