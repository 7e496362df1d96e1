//! What the scanner hears, added or not: the list a person picks new devices from.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use telltale_decode::{Decoded, Value};
use telltale_model::ble::NearbyDevice;

/// At most this many devices are listed; a street full of phones and earbuds must not grow
/// memory without bound. The longest-silent one makes room.
const MAX_NEARBY: usize = 256;
/// Devices not heard for this long drop off the list.
const FORGET_AFTER_MS: i64 = 5 * 60_000;

/// The scanner's list, shared between the source that fills it and the UI that reads it.
#[derive(Clone, Default)]
pub struct Nearby {
    inner: Arc<Mutex<HashMap<String, NearbyDevice>>>,
}

/// What one advertisement told about its sender.
pub struct Heard<'a> {
    pub address: &'a str,
    pub name: Option<&'a str>,
    pub rssi: Option<i16>,
    pub now_ms: i64,
    pub decoded: Result<&'a Decoded, &'a str>,
    pub profiles: Vec<String>,
    pub added: bool,
}

impl Nearby {
    pub fn heard(&self, h: Heard<'_>) {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if !map.contains_key(h.address) && map.len() >= MAX_NEARBY {
            let oldest = map
                .values()
                .min_by_key(|d| d.last_seen_ms)
                .map(|d| d.address.clone());
            if let Some(oldest) = oldest {
                map.remove(&oldest);
            }
        }
        let entry = map
            .entry(h.address.to_owned())
            .or_insert_with(|| NearbyDevice {
                address: h.address.to_owned(),
                name: None,
                rssi: None,
                last_seen_ms: h.now_ms,
                format: None,
                preview: Vec::new(),
                problem: None,
                profiles: Vec::new(),
                added: h.added,
            });
        entry.last_seen_ms = h.now_ms;
        entry.added = h.added;
        if let Some(name) = h.name {
            entry.name = Some(name.chars().take(64).collect());
        }
        if h.rssi.is_some() {
            entry.rssi = h.rssi;
        }
        if !h.profiles.is_empty() {
            entry.profiles = h.profiles;
        }
        match h.decoded {
            Ok(decoded) => {
                entry.format = Some(decoded.format.as_str().to_owned());
                entry.preview = preview(decoded);
                entry.problem = None;
            }
            // An advertisement without data (a bare name, a service list) says nothing new
            // about a device whose data decoded before.
            Err(reason) if entry.format.is_none() || entry.problem.is_some() => {
                entry.problem = Some(reason.chars().take(200).collect());
            }
            Err(_) => {}
        }
    }

    /// Marks a device added or not, as soon as the user does it.
    pub fn set_added(&self, address: &str, added: bool) {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = map.get_mut(address) {
            d.added = added;
        }
    }

    /// The devices heard recently, strongest signal first.
    pub fn snapshot(&self, now_ms: i64) -> Vec<NearbyDevice> {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, d| now_ms - d.last_seen_ms <= FORGET_AFTER_MS);
        let mut out: Vec<NearbyDevice> = map.values().cloned().collect();
        out.sort_by(|a, b| {
            b.rssi
                .unwrap_or(i16::MIN)
                .cmp(&a.rssi.unwrap_or(i16::MIN))
                .then_with(|| a.address.cmp(&b.address))
        });
        out
    }
}

fn preview(decoded: &Decoded) -> Vec<String> {
    decoded
        .readings
        .iter()
        .take(12)
        .map(|r| {
            let value = match &r.value {
                Value::Number(v) => format!("{}", (v * 1000.0).round() / 1000.0),
                Value::Bool(b) => b.to_string(),
                Value::Event(e) | Value::Text(e) => e.chars().take(32).collect(),
            };
            match r.unit {
                Some(unit) => format!("{} {value} {unit}", r.metric),
                None => format!("{} {value}", r.metric),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_bounded_and_forgets_the_silent() {
        let nearby = Nearby::default();
        for i in 0..(MAX_NEARBY + 10) {
            nearby.heard(Heard {
                address: &format!("addr-{i}"),
                name: None,
                rssi: Some(-50),
                now_ms: i as i64,
                decoded: Err("no known format in this advertisement"),
                profiles: vec![],
                added: false,
            });
        }
        let list = nearby.snapshot(MAX_NEARBY as i64 + 10);
        assert_eq!(list.len(), MAX_NEARBY);
        assert!(
            !list.iter().any(|d| d.address == "addr-0"),
            "oldest made room"
        );
        assert!(nearby.snapshot(FORGET_AFTER_MS + 10_000).is_empty());
    }
}
