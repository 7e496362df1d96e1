//! `devices`: what a database knows of each device and whether it is current; and the device
//! names `query` and `export` accept, resolved to ids.

use std::path::Path;
use telltale_model::{
    freshness, Device, DeviceId, DeviceSummary, Freshness, OfflineDevice, TimestampMs, Transport,
};
use telltale_store::{PresenceRow, Store};

/// A device's state, as `telltale devices` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Heard within three of its expected intervals of now.
    Live,
    /// Not heard for longer than that, or never.
    Stale,
    /// Its source declared it back online, and nothing was heard from it since.
    Online,
    /// Its source declared it gone (Sparkplug NDEATH/DDEATH, an MQTT last will or availability
    /// topic), or its Sparkplug node, and it was not declared back since.
    Offline,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Live => "live",
            State::Stale => "stale",
            State::Online => "online",
            State::Offline => "offline",
        }
    }
}

/// Judges a device from its last reading and what sources declared (`presence`, every row).
/// A declaration that a Sparkplug node is gone covers its devices. Returns the state and, for an
/// offline device, since when.
fn judge(
    device: &Device,
    last_seen: Option<TimestampMs>,
    presence: &[PresenceRow],
    now: TimestampMs,
) -> (State, Option<TimestampMs>) {
    let offline_since = presence
        .iter()
        .filter_map(|p| {
            p.offline_since_ms.map(|since_ms| OfflineDevice {
                device: p.device.clone(),
                since_ms,
            })
        })
        .filter(|o| o.covers(&device.id))
        .map(|o| o.since_ms)
        .min();
    if offline_since.is_some() {
        return (State::Offline, offline_since);
    }
    let back_at = presence
        .iter()
        .find(|p| p.device == device.id)
        .map(|p| p.changed_ms);
    if let Some(back) = back_at {
        if last_seen.is_none_or(|seen| seen < back) {
            return (State::Online, None);
        }
    }
    match freshness(last_seen, device.expected_interval_ms, now) {
        Freshness::Live => (State::Live, None),
        _ => (State::Stale, None),
    }
}

/// The broker an MQTT device came through, when its id says (`mqtt:<broker>/...`).
fn broker_of(device: &Device) -> Option<&str> {
    if device.transport != Transport::Mqtt {
        return None;
    }
    device
        .id
        .as_str()
        .strip_prefix("mqtt:")?
        .split_once('/')
        .map(|(broker, _)| broker)
        .filter(|b| !b.is_empty())
}

fn line(summary: &DeviceSummary, presence: &[PresenceRow], now: TimestampMs) -> serde_json::Value {
    let d = &summary.device;
    let (state, offline_since) = judge(d, summary.last_seen_ms, presence, now);
    let metrics: Vec<serde_json::Value> = summary
        .latest
        .iter()
        .map(|v| {
            serde_json::json!({
                "metric": v.metric, "unit": v.unit, "last_ts_ms": v.ts_ms, "last_value": v.value,
            })
        })
        .collect();
    serde_json::json!({
        "id": d.id.as_str(),
        "name": d.name,
        "kind": d.kind,
        "site": d.site,
        "source": {"transport": d.transport.as_str(), "broker": broker_of(d)},
        "expected_interval_ms": d.expected_interval_ms,
        "state": state.as_str(),
        "last_seen_ms": summary.last_seen_ms,
        "offline_since_ms": offline_since,
        "metrics": metrics,
    })
}

/// Prints one JSON line per device, by id. Reads only: safe beside a live collector.
pub fn list(db: &Path, now: TimestampMs) -> Result<(), String> {
    let store = crate::history::open_existing(db)?;
    let mut summaries = store.device_summaries().map_err(|e| e.to_string())?;
    let presence = store.presence().map_err(|e| e.to_string())?;
    summaries.sort_by(|a, b| a.device.id.cmp(&b.device.id));
    for s in &summaries {
        crate::print_line(line(s, &presence, now))?;
    }
    Ok(())
}

/// The names a device answers to besides its id: its name, its id without the transport
/// (`plant/dev1`, `AA:BB:CC:DD:EE:FF`) and, for MQTT, without the broker either (`dev1`).
fn aliases(d: &Device) -> Vec<&str> {
    let mut names = vec![d.name.as_str()];
    if let Some((prefix, rest)) = d.id.as_str().split_once(':') {
        if Transport::parse(prefix).is_some() {
            names.push(rest);
            if prefix == "mqtt" {
                if let Some((_, local)) = rest.split_once('/') {
                    names.push(local);
                }
            }
        }
    }
    names
}

/// Why a device name did not resolve.
#[derive(Debug, PartialEq)]
enum Miss<'a> {
    /// Several devices answer to it.
    Ambiguous(Vec<&'a Device>),
    /// None does; these look alike (may be empty).
    NotFound(Vec<&'a Device>),
}

/// The most devices an error message lists.
const MAX_LISTED: usize = 10;

/// Finds the device `wanted` names: an exact id first, then a device answering to it by name
/// or a shorter form of its id (see [`aliases`]), then the same ignoring case. A name that more
/// than one device answers to resolves to none.
fn pick<'a>(devices: &'a [Device], wanted: &str) -> Result<&'a Device, Miss<'a>> {
    if let Some(d) = devices.iter().find(|d| d.id.as_str() == wanted) {
        return Ok(d);
    }
    let exact: Vec<&Device> = devices
        .iter()
        .filter(|d| aliases(d).contains(&wanted))
        .collect();
    let found = if exact.is_empty() {
        devices
            .iter()
            .filter(|d| {
                std::iter::once(d.id.as_str())
                    .chain(aliases(d))
                    .any(|a| a.eq_ignore_ascii_case(wanted))
            })
            .collect()
    } else {
        exact
    };
    match found[..] {
        [one] => Ok(one),
        [] => Err(Miss::NotFound(look_alikes(devices, wanted))),
        _ => Err(Miss::Ambiguous(found)),
    }
}

/// Devices whose id or a name contains `wanted` (or the reverse), ignoring case, or is within
/// two edits of it (one, for a name under four letters): what a typo or a half-remembered name
/// most likely meant.
fn look_alikes<'a>(devices: &'a [Device], wanted: &str) -> Vec<&'a Device> {
    let wanted = wanted.to_lowercase();
    let typos = if wanted.chars().count() >= 4 { 2 } else { 1 };
    devices
        .iter()
        .filter(|d| {
            std::iter::once(d.id.as_str())
                .chain(aliases(d))
                .map(str::to_lowercase)
                .any(|a| {
                    a.contains(&wanted)
                        || (a.chars().count() >= 3 && wanted.contains(&a))
                        || edits(&a, &wanted) <= typos
                })
        })
        .collect()
}

/// Levenshtein distance, in chars.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// `id (name)`, or the id alone when the name is the id; at most [`MAX_LISTED`], then a count.
fn listed(devices: &[&Device]) -> String {
    let mut shown: Vec<String> = devices
        .iter()
        .take(MAX_LISTED)
        .map(|d| {
            if d.name == d.id.as_str() || d.name.is_empty() {
                d.id.to_string()
            } else {
                format!("{} ({})", d.id, d.name)
            }
        })
        .collect();
    if devices.len() > MAX_LISTED {
        shown.push(format!("and {} more", devices.len() - MAX_LISTED));
    }
    shown.join(", ")
}

/// The message for a name that did not resolve. A device not found means its metric is not
/// found either, and says so first (as the store does when a device has no such metric).
fn explain(miss: Miss<'_>, wanted: &str, metric: &str, devices: &[Device]) -> String {
    match miss {
        Miss::Ambiguous(found) => format!(
            "device {wanted:?} is ambiguous: it could be {}; give the device's id",
            listed(&found)
        ),
        Miss::NotFound(alike) if !alike.is_empty() => format!(
            "no metric {metric} on device {wanted:?}: no device has that id or name; \
             did you mean {}?",
            listed(&alike)
        ),
        Miss::NotFound(_) if devices.is_empty() => {
            format!("no metric {metric} on device {wanted:?}: the database holds no devices yet")
        }
        Miss::NotFound(_) => {
            let mut all: Vec<&Device> = devices.iter().collect();
            all.sort_by(|a, b| a.id.cmp(&b.id));
            format!(
                "no metric {metric} on device {wanted:?}: no device has that id or name; \
                 known devices: {}",
                listed(&all)
            )
        }
    }
}

/// The id of the device `wanted` names (see [`pick`]), or a message listing candidates.
pub fn resolve(store: &Store, wanted: &str, metric: &str) -> Result<DeviceId, String> {
    resolve_among(&store.devices().map_err(|e| e.to_string())?, wanted, metric)
}

/// [`resolve`] among a list of devices (a plant historian's).
pub fn resolve_among(devices: &[Device], wanted: &str, metric: &str) -> Result<DeviceId, String> {
    match pick(devices, wanted) {
        Ok(d) => Ok(d.id.clone()),
        Err(miss) => Err(explain(miss, wanted, metric, devices)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str, name: &str, interval_ms: i64) -> Device {
        Device {
            id: DeviceId::new(id),
            name: name.into(),
            kind: "machine".into(),
            transport: if id.starts_with("ble:") {
                Transport::Ble
            } else {
                Transport::Mqtt
            },
            site: String::new(),
            expected_interval_ms: interval_ms,
            tags: vec![],
        }
    }

    fn presence(id: &str, offline_since_ms: Option<i64>, changed_ms: i64) -> PresenceRow {
        PresenceRow {
            device: DeviceId::new(id),
            offline_since_ms,
            changed_ms,
        }
    }

    /// (last seen, declarations, the judgement).
    type Case = (Option<i64>, Vec<PresenceRow>, (State, Option<i64>));

    #[test]
    fn states_follow_declarations_then_intervals() {
        let pump = device("mqtt:p/G/E/pump", "pump", 10_000);
        let now = 1_000_000;
        let node_dead = presence("mqtt:p/G/E", Some(900_000), 900_000);
        let pump_back = presence("mqtt:p/G/E/pump", None, 950_000);
        let pump_dead = presence("mqtt:p/G/E/pump", Some(800_000), 800_000);
        let other_dead = presence("mqtt:p/G/E2", Some(1), 1);
        let cases: Vec<Case> = vec![
            // Heard within 3 intervals (30 s), then not.
            (Some(970_000), vec![], (State::Live, None)),
            (Some(969_999), vec![], (State::Stale, None)),
            (None, vec![], (State::Stale, None)),
            // Declared gone, even when heard since; a node's death covers its devices, and
            // the earliest standing declaration says since when. Another node's does not.
            (
                Some(999_000),
                vec![pump_dead.clone()],
                (State::Offline, Some(800_000)),
            ),
            (
                Some(999_000),
                vec![node_dead.clone()],
                (State::Offline, Some(900_000)),
            ),
            (
                None,
                vec![node_dead.clone(), pump_dead.clone()],
                (State::Offline, Some(800_000)),
            ),
            (Some(999_000), vec![other_dead], (State::Live, None)),
            // Declared back: online until a reading, then judged by it.
            (
                Some(900_000),
                vec![pump_back.clone()],
                (State::Online, None),
            ),
            (None, vec![pump_back.clone()], (State::Online, None)),
            (Some(960_000), vec![pump_back.clone()], (State::Stale, None)),
            (Some(990_000), vec![pump_back.clone()], (State::Live, None)),
            // Back itself, but its node is gone.
            (
                Some(990_000),
                vec![pump_back, node_dead],
                (State::Offline, Some(900_000)),
            ),
        ];
        for (seen, rows, want) in cases {
            assert_eq!(
                judge(&pump, seen, &rows, now),
                want,
                "last seen {seen:?}, {rows:?}"
            );
        }
    }

    #[test]
    fn brokers_come_from_mqtt_ids() {
        assert_eq!(broker_of(&device("mqtt:plant/dev1", "x", 1)), Some("plant"));
        assert_eq!(
            broker_of(&device("mqtt:plant/G/E/d", "x", 1)),
            Some("plant")
        );
        assert_eq!(broker_of(&device("ble:AA:BB", "x", 1)), None);
        assert_eq!(broker_of(&device("mqtt:lonely", "x", 1)), None);
        assert_eq!(broker_of(&device("filter-1", "x", 1)), None);
    }

    #[test]
    fn names_resolve_when_one_device_answers() {
        let devices = [
            device("mqtt:plant/dev1", "dev1", 1),
            device("mqtt:other/dev1", "dev1", 1),
            device("mqtt:plant/press-7", "Press 7", 1),
            device("ble:AA:BB:CC:DD:EE:FF", "Freezer", 1),
            device("ble:11:22:33:44:55:66", "ble:11:22:33:44:55:66", 1),
            // A name that is another device's id: the id wins.
            device("mqtt:plant/press-8", "mqtt:plant/press-7", 1),
        ];
        let id = |wanted: &str| pick(&devices, wanted).map(|d| d.id.as_str());
        for (wanted, want) in [
            ("mqtt:plant/dev1", "mqtt:plant/dev1"),
            ("plant/dev1", "mqtt:plant/dev1"),
            ("other/dev1", "mqtt:other/dev1"),
            ("press-7", "mqtt:plant/press-7"),
            ("Press 7", "mqtt:plant/press-7"),
            ("press 7", "mqtt:plant/press-7"),
            ("mqtt:plant/press-7", "mqtt:plant/press-7"),
            ("Freezer", "ble:AA:BB:CC:DD:EE:FF"),
            ("AA:BB:CC:DD:EE:FF", "ble:AA:BB:CC:DD:EE:FF"),
            ("aa:bb:cc:dd:ee:ff", "ble:AA:BB:CC:DD:EE:FF"),
            ("11:22:33:44:55:66", "ble:11:22:33:44:55:66"),
        ] {
            assert_eq!(id(wanted), Ok(want), "{wanted}");
        }
        let Err(Miss::Ambiguous(found)) = pick(&devices, "dev1") else {
            panic!("dev1 names two devices");
        };
        assert_eq!(
            explain(Miss::Ambiguous(found), "dev1", "t", &devices),
            "device \"dev1\" is ambiguous: it could be mqtt:plant/dev1 (dev1), \
             mqtt:other/dev1 (dev1); give the device's id"
        );
        let Err(miss) = pick(&devices, "dev2") else {
            panic!("no dev2");
        };
        let msg = explain(miss, "dev2", "t", &devices);
        assert!(msg.starts_with("no metric t on device \"dev2\""), "{msg}");
        assert!(
            msg.ends_with("did you mean mqtt:plant/dev1 (dev1), mqtt:other/dev1 (dev1)?"),
            "{msg}"
        );
        let Err(miss) = pick(&devices, "zzzzzz") else {
            panic!("no zzzzzz");
        };
        let msg = explain(miss, "zzzzzz", "t", &devices);
        assert!(
            msg.contains("known devices: ble:11:22:33:44:55:66, "),
            "{msg}"
        );
        assert_eq!(
            explain(Miss::NotFound(vec![]), "d", "t", &[]),
            "no metric t on device \"d\": the database holds no devices yet"
        );
    }

    #[test]
    fn edit_distance() {
        assert_eq!(edits("dev1", "dev1"), 0);
        assert_eq!(edits("dev1", "dev2"), 1);
        assert_eq!(edits("dev", "dev12"), 2);
        assert_eq!(edits("", "abc"), 3);
        assert_eq!(edits("kitten", "sitting"), 3);
    }
}
