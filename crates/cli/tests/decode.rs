//! `telltale decode sparkplug|ble|gatt`, run as a user runs it: golden vectors decode to the
//! JSON contract (exit 0), malformed input is one line on stderr (exit 1), never a panic.

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

/// A golden vector file beside the workspace: the nearest ancestor holding shared/vectors
/// (/work/main and a worktree under /work/wt/ sit at different depths).
fn vector_file(name: &str) -> Json {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = manifest
        .ancestors()
        .map(|dir| dir.join("shared/vectors").join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("golden vectors missing: no shared/vectors/{name} above {manifest:?}")
        });
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("golden vectors missing: {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The golden Sparkplug vectors beside the workspace (see crates/sparkplug/tests).
fn vectors() -> Vec<Json> {
    serde_json::from_value(vector_file("sparkplug.json")).unwrap()
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

// ---------------------------------------------------------------------------------------------
// decode ble / decode gatt

fn decode(args: &[&str]) -> Output {
    telltale().arg("decode").args(args).output().unwrap()
}

/// The contract: exit 0, one line, one object with exactly `format` and `readings`, each
/// reading `metric`, `value`, `unit` and at most `steps` besides.
fn succeeds(out: &Output, what: &str) -> Json {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), 1, "{what}: {stdout}");
    let json: Json = serde_json::from_str(&stdout).unwrap();
    let mut keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["format", "readings"], "{what}");
    for reading in json["readings"].as_array().unwrap() {
        for key in reading.as_object().unwrap().keys() {
            assert!(
                ["metric", "value", "unit", "steps"].contains(&key.as_str()),
                "{what}: {reading}"
            );
        }
        assert!(reading["metric"].is_string(), "{what}: {reading}");
        assert!(
            reading["unit"].is_string() || reading["unit"].is_null(),
            "{what}: {reading}"
        );
    }
    json
}

/// (metric, value, unit) of each reading, for comparisons.
fn readings(json: &Json) -> Vec<(String, Json, Json)> {
    json["readings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["metric"].as_str().unwrap().to_owned(),
                r["value"].clone(),
                r["unit"].clone(),
            )
        })
        .collect()
}

/// Half a unit in the last decimal the reference printed (the vectors README).
fn close_to(actual: &Json, expected: &Json) -> bool {
    let (Some(actual), Some(value)) = (actual.as_f64(), expected.as_f64()) else {
        return actual == expected;
    };
    let tolerance = if expected.is_f64() {
        let printed = format!("{value}");
        let decimals = printed.split('.').nth(1).map_or(0, str::len).max(1);
        0.5 * 10f64.powi(-(decimals as i32))
    } else {
        0.5
    };
    (actual - value).abs() <= tolerance * (1.0 + 1e-9) + 1e-12
}

fn ble(address: &str, bindkey: Option<&str>, data: &[(&str, String)]) -> Output {
    let mut args = vec!["ble".to_owned(), "--address".to_owned(), address.to_owned()];
    if let Some(key) = bindkey {
        args.extend(["--bindkey".to_owned(), key.to_owned()]);
    }
    for (flag, value) in data {
        args.extend([(*flag).to_owned(), value.clone()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    decode(&args)
}

#[test]
fn xiaomi_vectors_decode_through_the_cli() {
    let file = vector_file("xiaomi_atc.json");
    let mut checked = 0;
    for (section, uuid) in [("atc_181a", "181a"), ("xiaomi_mibeacon", "fe95")] {
        for vector in file[section].as_array().unwrap() {
            let name = vector["name"].as_str().unwrap();
            let data = vector["service_data_hex"].as_str().unwrap();
            let out = ble(
                vector["mac"].as_str().unwrap(),
                vector["bindkey"].as_str(),
                &[("--service-data", format!("{uuid}={data}"))],
            );
            checked += 1;
            if vector["expect_error"] == true {
                assert_fails_in_one_line(&out, name);
                continue;
            }
            let json = succeeds(&out, name);
            let ours = readings(&json);
            // xiaomi-ble derives a MiBeacon voltage from the battery %: not transmitted.
            let expected: Vec<&Json> = vector["expected"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| !(section == "xiaomi_mibeacon" && e["key"] == "voltage"))
                .collect();
            assert_eq!(ours.len(), expected.len(), "{name}: {json}");
            for ((metric, value, unit), want) in ours.iter().zip(expected) {
                assert_eq!(metric, want["key"].as_str().unwrap(), "{name}");
                assert_eq!(unit, &want["unit"], "{name}");
                assert!(close_to(value, &want["value"]), "{name}: {value} vs {want}");
            }
            assert!(json["format"].as_str().unwrap().starts_with("xiaomi_"));
        }
    }
    assert_eq!(checked, 20);
}

/// BTHome and Ruuvi vectors: the CLI prints exactly what the library decodes (the library's
/// own golden tests compare that with the references), and fails where the library fails.
#[test]
fn bthome_and_ruuvi_vectors_decode_as_the_library_does() {
    let library = |address: &str,
                   key: Option<&str>,
                   service: Vec<(u16, Vec<u8>)>,
                   maker: Vec<(u16, Vec<u8>)>| {
        let key = key.and_then(|k| <[u8; 16]>::try_from(unhex(k).as_slice()).ok());
        telltale_decode::advertisement(&telltale_decode::Advertisement {
            address: telltale_decode::parse_address(address).unwrap(),
            local_name: None,
            service_data: &service,
            manufacturer_data: &maker,
            bindkey: key.as_ref(),
        })
    };
    let mut checked = 0;
    for vector in vector_file("bthome.json").as_array().unwrap() {
        let name = vector["name"].as_str().unwrap();
        let data = vector["service_data_hex"].as_str().unwrap();
        let mac = vector["mac"].as_str().unwrap();
        let key = vector["bindkey"].as_str();
        let out = ble(mac, key, &[("--service-data", format!("fcd2={data}"))]);
        if vector["expect_error"] == true {
            // The reference produced no value: neither do we, and we say why.
            assert_fails_in_one_line(&out, name);
        }
        same_as_library(
            &out,
            library(mac, key, vec![(0xfcd2, unhex(data))], vec![]),
            name,
        );
        checked += 1;
    }
    for vector in vector_file("ruuvi.json").as_array().unwrap() {
        let name = vector["name"].as_str().unwrap();
        let data = vector["manufacturer_data_hex"].as_str().unwrap();
        let company = if checked % 2 == 0 { "1177" } else { "0x0499" };
        let out = ble(
            "C8:25:2D:8E:AB:EC",
            None,
            &[("--manufacturer-data", format!("{company}={data}"))],
        );
        let decoded = library(
            "C8:25:2D:8E:AB:EC",
            None,
            vec![],
            vec![(0x0499, unhex(data))],
        );
        same_as_library(&out, decoded, name);
        checked += 1;
    }
    assert!(checked > 200);
}

/// The CLI prints exactly what the library decodes, or fails where the library fails; true
/// when it decoded.
fn same_as_library(
    out: &Output,
    library: telltale_decode::Result<telltale_decode::Decoded>,
    name: &str,
) -> bool {
    match library {
        Ok(decoded) => {
            let json = succeeds(out, name);
            assert_eq!(json["format"], decoded.format.as_str(), "{name}");
            let want = serde_json::to_value(&decoded.readings).unwrap();
            assert_eq!(json["readings"], want, "{name}");
            true
        }
        Err(_) => {
            assert_fails_in_one_line(out, name);
            false
        }
    }
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
        .collect()
}

#[test]
fn gatt_vectors_decode_through_the_cli() {
    let file = vector_file("gatt.json");
    let mut checked = 0;
    for (section, vectors) in file.as_object().unwrap() {
        let Some(uuid) = section.strip_prefix("heart_rate_measurement_").or_else(|| {
            section
                .rsplit_once('_')
                .map(|(_, id)| id)
                .filter(|id| id.starts_with("2a"))
        }) else {
            continue;
        };
        for vector in vectors.as_array().unwrap() {
            let name = vector["name"].as_str().unwrap();
            let value = vector["value_hex"].as_str().unwrap();
            // The three spellings of a characteristic, in turn.
            let spelled = match checked % 3 {
                0 => uuid.to_owned(),
                1 => format!("0x{}", uuid.to_uppercase()),
                _ => format!("0000{uuid}-0000-1000-8000-00805f9b34fb"),
            };
            let out = decode(&["gatt", "--characteristic", &spelled, value]);
            checked += 1;
            let code = u16::from_str_radix(uuid, 16).unwrap();
            if !same_as_library(&out, telltale_decode::gatt(code, &unhex(value)), name) {
                // Where references disagree either behaviour is acceptable (README).
                let disputed = vector["disagreements"]
                    .as_array()
                    .is_some_and(|list| !list.is_empty());
                assert!(
                    vector["expect_error"] == true || disputed,
                    "{name}: the reference decoded it"
                );
            }
        }
    }
    assert!(checked >= 30, "{checked}");
}

#[test]
fn gatt_contract_names_and_units() {
    let json = succeeds(
        &decode(&["gatt", "--characteristic", "2A37", "1FA0002301000400020000"]),
        "2a37",
    );
    assert_eq!(json["format"], "gatt_heart_rate");
    let want = [
        (
            "heart_rate",
            serde_json::json!(160.0),
            serde_json::json!("bpm"),
        ),
        ("sensor_contact", serde_json::json!(true), Json::Null),
        (
            "energy_expended",
            serde_json::json!(291.0),
            serde_json::json!("kJ"),
        ),
        (
            "rr_interval",
            serde_json::json!(1.0),
            serde_json::json!("s"),
        ),
        (
            "rr_interval",
            serde_json::json!(0.5),
            serde_json::json!("s"),
        ),
        (
            "rr_interval",
            serde_json::json!(0.0),
            serde_json::json!("s"),
        ),
    ];
    let want: Vec<(String, Json, Json)> = want
        .into_iter()
        .map(|(m, v, u)| (m.to_owned(), v, u))
        .collect();
    assert_eq!(readings(&json), want);
    // Contact not supported: no sensor_contact reading at all.
    let json = succeeds(
        &decode(&["gatt", "--characteristic", "2a37", "0048"]),
        "no contact",
    );
    assert_eq!(readings(&json).len(), 1);
    for (uuid, hex, metric, unit) in [
        ("2a1c", "01dc0300ff", "temperature", "°F"),
        ("2a1c", "006c0100ff", "temperature", "°C"),
        ("2a19", "55", "battery", "%"),
        ("2a6f", "6c13", "humidity", "%"),
        ("2a6d", "02760f00", "pressure", "Pa"),
        ("2a6e", "9cff", "temperature", "°C"),
    ] {
        let json = succeeds(&decode(&["gatt", "--characteristic", uuid, hex]), uuid);
        assert_eq!(json["readings"][0]["metric"], metric, "{uuid}");
        assert_eq!(json["readings"][0]["unit"], unit, "{uuid}");
    }
}

#[test]
fn ble_argument_spellings_are_equivalent() {
    // A pvvx frame (advertiser A4:C1:38:AA:BB:CC) and a BTHome one, each spelled several ways.
    let pvvx = "ccbbaa38c1a45608d711c40b580100";
    let bthome = "4000090161";
    let mut outputs = Vec::new();
    for (uuid, data) in [
        ("181a", pvvx.to_owned()),
        ("0x181A", pvvx.to_uppercase()),
        ("0000181a-0000-1000-8000-00805f9b34fb", pvvx.to_owned()),
        ("0000181A-0000-1000-8000-00805F9B34FB", pvvx.to_uppercase()),
    ] {
        let out = ble(
            "a4:c1:38:aa:bb:cc",
            None,
            &[("--service-data", format!("{uuid}={data}"))],
        );
        outputs.push(succeeds(&out, uuid));
    }
    assert!(outputs.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(outputs[0]["format"], "xiaomi_pvvx");
    assert_eq!(
        readings(&outputs[0])
            .iter()
            .map(|(m, ..)| m.as_str())
            .collect::<Vec<_>>(),
        ["temperature", "humidity", "voltage", "battery"]
    );

    let mut outputs = Vec::new();
    for uuid in [
        "fcd2",
        "0xfcd2",
        "0XFCD2",
        "FCD2",
        "0000fcd2-0000-1000-8000-00805f9b34fb",
    ] {
        let out = decode(&[
            "ble",
            "--address",
            "AA:BB:CC:DD:EE:FF",
            "--name",
            "DIY-sensor",
            "--service-data",
            &format!("{uuid}={bthome}"),
        ]);
        outputs.push(succeeds(&out, uuid));
    }
    assert!(outputs.windows(2).all(|pair| pair[0] == pair[1]));
    // The packet id is bookkeeping, never a reading or a key.
    assert_eq!(
        readings(&outputs[0]),
        [(
            "battery".to_owned(),
            serde_json::json!(97.0),
            serde_json::json!("%")
        )]
    );

    // Data the decoder does not know sits beside the data it does: detection finds the latter.
    let out = ble(
        "AA:BB:CC:DD:EE:FF",
        None,
        &[
            ("--service-data", "180f=64".to_owned()),
            ("--manufacturer-data", "76=0215".to_owned()),
            ("--service-data", format!("fcd2={bthome}")),
        ],
    );
    assert_eq!(succeeds(&out, "mixed")["format"], "bthome_v2");
}

#[test]
fn ble_events_binary_sensors_and_repeats_follow_the_contract() {
    // Two temperatures, a window (binary), a double press and a dimmer turned left 3 steps.
    let out = ble(
        "AA:BB:CC:DD:EE:FF",
        None,
        &[(
            "--service-data",
            "fcd2=4002ca0902cf092d013a023c0103".to_owned(),
        )],
    );
    let json = succeeds(&out, "bthome events");
    let readings = json["readings"].as_array().unwrap();
    assert_eq!(readings.len(), 5, "{json}");
    assert_eq!(readings[0]["metric"], "temperature");
    assert_eq!(readings[1]["metric"], "temperature");
    assert_eq!(readings[1]["value"], 25.11);
    assert_eq!(readings[2]["metric"], "window");
    assert_eq!(readings[2]["value"], true);
    assert_eq!(readings[3]["value"], "double_press");
    assert_eq!(readings[4]["value"], "rotate_left");
    assert_eq!(readings[4]["steps"], 3);
    assert!(readings[3].get("steps").is_none());
}

#[test]
fn encrypted_formats_need_the_right_key() {
    let file = vector_file("xiaomi_atc.json");
    let vector = file["xiaomi_mibeacon"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "atc_mi_interface_sample:mi_like_enc_humidity")
        .unwrap();
    let mac = vector["mac"].as_str().unwrap();
    let data = format!("fe95={}", vector["service_data_hex"].as_str().unwrap());
    let key = vector["bindkey"].as_str().unwrap();
    let json = succeeds(
        &ble(mac, Some(key), &[("--service-data", data.clone())]),
        "right key",
    );
    // The replay counter stays out of the output.
    assert_eq!(json["format"], "xiaomi_mibeacon");

    let wrong = format!("{}0", &key[..31]);
    for (what, key, data) in [
        ("no key", None, data.clone()),
        ("wrong key", Some(wrong.as_str()), data.clone()),
        (
            "uppercase right key, bad MIC",
            Some(key),
            format!("{}00", &data[..data.len() - 2]),
        ),
        ("truncated", Some(key), data[..data.len() - 8].to_owned()),
    ] {
        assert_fails_in_one_line(&ble(mac, key, &[("--service-data", data)]), what);
    }
    let out = ble(mac, Some(&key.to_uppercase()), &[("--service-data", data)]);
    assert_eq!(succeeds(&out, "uppercase key"), json);
}

#[test]
fn undecodable_ble_input_is_one_line_and_exit_1() {
    let pvvx = "181a=ccbbaa38c1a45608d711c40b580100";
    for (what, args) in [
        ("no data", vec!["ble", "--address", "AA:BB:CC:DD:EE:FF"]),
        (
            "unknown format",
            vec![
                "ble",
                "--address",
                "AA:BB:CC:DD:EE:FF",
                "--service-data",
                "1234=0102",
            ],
        ),
        (
            "unknown company",
            vec![
                "ble",
                "--address",
                "AA:BB:CC:DD:EE:FF",
                "--manufacturer-data",
                "76=0215",
            ],
        ),
        (
            "truncated BTHome",
            vec![
                "ble",
                "--address",
                "AA:BB:CC:DD:EE:FF",
                "--service-data",
                "fcd2=4002ca",
            ],
        ),
        (
            "truncated Ruuvi",
            vec![
                "ble",
                "--address",
                "AA:BB:CC:DD:EE:FF",
                "--manufacturer-data",
                "1177=0512fc53",
            ],
        ),
        (
            "truncated pvvx",
            vec![
                "ble",
                "--address",
                "A4:C1:38:AA:BB:CC",
                "--service-data",
                &pvvx[..pvvx.len() - 2],
            ],
        ),
        (
            "MAC mismatch",
            vec![
                "ble",
                "--address",
                "A4:C1:38:AA:BB:CD",
                "--service-data",
                pvvx,
            ],
        ),
        ("missing address", vec!["ble", "--service-data", pvvx]),
        (
            "bad address",
            vec!["ble", "--address", "A4:C1:38:AA:BB", "--service-data", pvvx],
        ),
        (
            "bad bindkey",
            vec![
                "ble",
                "--address",
                "A4:C1:38:AA:BB:CC",
                "--bindkey",
                "0011",
                "--service-data",
                pvvx,
            ],
        ),
        (
            "bindkey not hex",
            vec![
                "ble",
                "--address",
                "A4:C1:38:AA:BB:CC",
                "--bindkey",
                "zz",
                "--service-data",
                pvvx,
            ],
        ),
        (
            "plaintext with a bindkey",
            vec![
                "ble",
                "--address",
                "A4:C1:38:AA:BB:CC",
                "--bindkey",
                "00112233445566778899aabbccddeeff",
                "--service-data",
                pvvx,
            ],
        ),
        (
            "no =",
            vec![
                "ble",
                "--address",
                "A4:C1:38:AA:BB:CC",
                "--service-data",
                "181a",
            ],
        ),
        (
            "odd hex",
            vec![
                "ble",
                "--address",
                "A4:C1:38:AA:BB:CC",
                "--service-data",
                "181a=abc",
            ],
        ),
        (
            "bad UUID",
            vec![
                "ble",
                "--address",
                "A4:C1:38:AA:BB:CC",
                "--service-data",
                "18z1=00",
            ],
        ),
        (
            "128-bit non-base UUID",
            vec![
                "ble",
                "--address",
                "A4:C1:38:AA:BB:CC",
                "--service-data",
                "0000181a-0000-1000-8000-00805f9b34fc=00",
            ],
        ),
        (
            "32-bit UUID",
            vec![
                "ble",
                "--address",
                "A4:C1:38:AA:BB:CC",
                "--service-data",
                "1234181a-0000-1000-8000-00805f9b34fb=00",
            ],
        ),
        (
            "bad company",
            vec![
                "ble",
                "--address",
                "A4:C1:38:AA:BB:CC",
                "--manufacturer-data",
                "70000=00",
            ],
        ),
        (
            "signed company",
            vec![
                "ble",
                "--address",
                "A4:C1:38:AA:BB:CC",
                "--manufacturer-data",
                "+1177=00",
            ],
        ),
        (
            "unknown flag",
            vec!["ble", "--address", "A4:C1:38:AA:BB:CC", "--rssi", "-60"],
        ),
        (
            "gatt unsupported",
            vec!["gatt", "--characteristic", "2a00", "00"],
        ),
        (
            "gatt truncated",
            vec!["gatt", "--characteristic", "2a37", "10"],
        ),
        (
            "gatt bad uuid",
            vec!["gatt", "--characteristic", "heart", "0048"],
        ),
        (
            "gatt bad hex",
            vec!["gatt", "--characteristic", "2a37", "0x48"],
        ),
        ("gatt no value", vec!["gatt", "--characteristic", "2a37"]),
    ] {
        assert_fails_in_one_line(&decode(&args), what);
    }
}

/// A mistyped bindkey is a secret all the same: the error says what is wrong with it, never
/// what it is.
#[test]
fn a_wrong_bindkey_is_never_echoed() {
    for key in [
        "correcthorsebatterystaple0123456",   // 32 characters, not hex
        "00112233445566778899aabbccddeef",    // 31 hex digits
        "00112233445566778899aabbccddeeff00", // 34
    ] {
        let out = ble(
            "A4:C1:38:AA:BB:CC",
            Some(key),
            &[("--service-data", "fcd2=40020000".to_owned())],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{key}: {stderr}");
        assert!(stderr.contains("--bindkey"), "{stderr}");
        assert!(!stderr.contains(key), "the key was echoed: {stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains(key));
    }
}
