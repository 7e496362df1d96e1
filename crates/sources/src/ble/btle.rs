//! The real radio: an adapter driven through btleplug (BlueZ over D-Bus on Linux, CoreBluetooth
//! on macOS and iOS, WinRT on Windows, the Android Bluetooth stack through JNI).
//!
//! Scanning runs for as long as the source does; every GATT connection runs in its own task so a
//! device that takes 30 s to answer (or never does) cannot hold up advertisements from the
//! others. Links that drop are retried with exponential backoff and jitter.

use super::{short_uuid, BleEvent, BleFleet, Link, Radio, RadioFuture, RadioState};
use btleplug::api::{
    Central, CentralEvent, CentralState, CharPropFlags, Characteristic, Manager as _,
    Peripheral as _, ScanFilter,
};
use btleplug::platform::{Adapter, Manager, Peripheral, PeripheralId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;

/// How long to wait before looking for an adapter again (Bluetooth switched off, no dongle).
const ADAPTER_RETRY: Duration = Duration::from_secs(15);
/// BlueZ answers `Connect` within its own 30 s page timeout at worst; GATT discovery likewise.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Readable values that are not notified (a battery level) are read again this often.
const POLL_EVERY: Duration = Duration::from_secs(60);
/// A fallback for backends that do not signal a lost link promptly.
const LINK_CHECK: Duration = Duration::from_secs(5);
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// A link that stayed up this long was healthy: the next failure starts the backoff afresh.
const HEALTHY_LINK: Duration = Duration::from_secs(30);

/// The characteristics Telltale decodes (see `telltale_decode::gatt`).
const SUPPORTED: [u16; 6] = [0x2A37, 0x2A1C, 0x2A6E, 0x2A6F, 0x2A6D, 0x2A19];

/// The first Bluetooth adapter btleplug finds.
#[derive(Debug, Default)]
pub struct BtleplugRadio;

impl Radio for BtleplugRadio {
    fn listen(
        self: Box<Self>,
        fleet: watch::Receiver<Arc<BleFleet>>,
        events: mpsc::Sender<BleEvent>,
        state: mpsc::Sender<RadioState>,
        cancel: CancellationToken,
    ) -> RadioFuture {
        Box::pin(async move {
            loop {
                let outcome = match open_adapter().await {
                    Ok((adapter, info)) => {
                        scan(adapter, &info, fleet.clone(), &events, &state, &cancel).await
                    }
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok(()) => return,
                    Err(reason) => {
                        tracing::warn!(%reason, "Bluetooth unavailable");
                        let _ = state
                            .send(RadioState::Unavailable(format!(
                                "Bluetooth unavailable: {reason}"
                            )))
                            .await;
                    }
                }
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(ADAPTER_RETRY) => {}
                }
            }
        })
    }
}

async fn open_adapter() -> Result<(Adapter, String), String> {
    let manager = Manager::new().await.map_err(|e| e.to_string())?;
    let adapter = manager
        .adapters()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
        .ok_or("no Bluetooth adapter")?;
    let info = adapter
        .adapter_info()
        .await
        .unwrap_or_else(|_| "the Bluetooth adapter".into());
    Ok((adapter, info))
}

/// The most peripherals the scanner remembers (names and signal strengths between events).
const MAX_SEEN: usize = 4_096;

/// What the scanner remembers about a peripheral between its events.
struct Seen {
    address: String,
    name: Option<String>,
    rssi: Option<i16>,
}

/// The entry of peripheral `id`, made with `new` if it is not remembered yet. At `max` entries,
/// a new peripheral first makes the scanner forget everyone but the user's own devices: a
/// neighbour rotating random addresses (or a hostile advertiser) must not grow this without end.
fn remember<'a, K: std::hash::Hash + Eq>(
    seen: &'a mut HashMap<K, Seen>,
    max: usize,
    fleet: &BleFleet,
    id: K,
    new: impl FnOnce() -> Seen,
) -> &'a mut Seen {
    if !seen.contains_key(&id) && seen.len() >= max {
        seen.retain(|_, s| fleet.devices.iter().any(|d| d.address == s.address));
    }
    seen.entry(id).or_insert_with(new)
}

/// Scans until cancelled (`Ok`) or the adapter goes away (`Err`).
async fn scan(
    adapter: Adapter,
    info: &str,
    mut fleet: watch::Receiver<Arc<BleFleet>>,
    events: &mpsc::Sender<BleEvent>,
    state: &mpsc::Sender<RadioState>,
    cancel: &CancellationToken,
) -> Result<(), String> {
    let mut stream = adapter.events().await.map_err(|e| e.to_string())?;
    // Scanning switches an adapter on (bluez-async sets Powered first): one the user switched
    // off stays off, and scanning starts when they switch it on.
    let on = adapter
        .adapter_state()
        .await
        .map_or(true, |s| s != CentralState::PoweredOff);
    if on {
        start_scan(&adapter, info, state).await?;
    } else {
        report_off(info, state).await;
    }
    let mut scanning = on;
    let mut seen: HashMap<PeripheralId, Seen> = HashMap::new();
    let mut links = Links::new(adapter.clone(), events.clone(), cancel.child_token());
    links.follow(&fleet.borrow_and_update(), &seen);
    let result = loop {
        tokio::select! {
            _ = cancel.cancelled() => break Ok(()),
            changed = fleet.changed() => {
                if changed.is_err() {
                    break Ok(());
                }
                let next = fleet.borrow_and_update().clone();
                links.follow(&next, &seen);
            }
            event = stream.next() => {
                let Some(event) = event else {
                    break Err("the adapter's event stream ended".to_owned());
                };
                let advert = match event {
                    CentralEvent::DeviceDiscovered(id) | CentralEvent::DeviceUpdated(id) => {
                        let Some(props) = properties(&adapter, &id).await else { continue };
                        let entry = remember(&mut seen, MAX_SEEN, &fleet.borrow(), id.clone(), || Seen {
                            address: props.address.to_string(),
                            name: None,
                            rssi: None,
                        });
                        entry.name = props.local_name.clone().or(entry.name.take());
                        entry.rssi = props.rssi.or(entry.rssi);
                        links.start_if_wanted(&id, &entry.address);
                        Some((id, short_map(&props.service_data), props.manufacturer_data.into_iter().collect(), short_list(&props.services)))
                    }
                    CentralEvent::ServiceDataAdvertisement { id, service_data } => {
                        Some((id, short_map(&service_data), Vec::new(), Vec::new()))
                    }
                    CentralEvent::ManufacturerDataAdvertisement { id, manufacturer_data } => {
                        Some((id, Vec::new(), manufacturer_data.into_iter().collect(), Vec::new()))
                    }
                    CentralEvent::ServicesAdvertisement { id, services } => {
                        Some((id, Vec::new(), Vec::new(), short_list(&services)))
                    }
                    CentralEvent::RssiUpdate { id, rssi } => {
                        if let Some(s) = seen.get_mut(&id) {
                            s.rssi = Some(rssi);
                        }
                        Some((id, Vec::new(), Vec::new(), Vec::new()))
                    }
                    CentralEvent::DeviceDisconnected(id) => {
                        if let Some(s) = seen.get(&id) {
                            links.disconnected(&s.address);
                        }
                        None
                    }
                    CentralEvent::StateUpdate(now) => {
                        tracing::info!(state = ?now, "Bluetooth adapter state");
                        match now {
                            // Discovery ended with the power; links fail and retry meanwhile.
                            CentralState::PoweredOff if scanning => {
                                scanning = false;
                                report_off(info, state).await;
                            }
                            CentralState::PoweredOn if !scanning => {
                                if let Err(e) = start_scan(&adapter, info, state).await {
                                    break Err(e);
                                }
                                scanning = true;
                            }
                            _ => {}
                        }
                        None
                    }
                    _ => None,
                };
                let Some((id, service_data, manufacturer_data, services)) = advert else { continue };
                let Some(s) = seen.get(&id) else { continue };
                let event = BleEvent::Advertisement {
                    address: s.address.clone(),
                    name: s.name.clone(),
                    rssi: s.rssi,
                    service_data,
                    manufacturer_data,
                    services,
                };
                if events.send(event).await.is_err() {
                    break Ok(());
                }
            }
        }
    };
    links.stop_all().await;
    let _ = adapter.stop_scan().await;
    result
}

/// Starts discovery; only then does the status strip say "scanning".
async fn start_scan(
    adapter: &Adapter,
    info: &str,
    state: &mpsc::Sender<RadioState>,
) -> Result<(), String> {
    adapter
        .start_scan(ScanFilter::default())
        .await
        .map_err(|e| e.to_string())?;
    let _ = state
        .send(RadioState::Scanning(format!("scanning on {info}")))
        .await;
    Ok(())
}

async fn report_off(info: &str, state: &mpsc::Sender<RadioState>) {
    let _ = state
        .send(RadioState::Unavailable(format!(
            "Bluetooth is off ({info}): scanning resumes when it is switched on"
        )))
        .await;
}

async fn properties(
    adapter: &Adapter,
    id: &PeripheralId,
) -> Option<btleplug::api::PeripheralProperties> {
    let peripheral = adapter.peripheral(id).await.ok()?;
    peripheral.properties().await.ok().flatten()
}

fn short_map(data: &HashMap<uuid::Uuid, Vec<u8>>) -> Vec<(u16, Vec<u8>)> {
    data.iter()
        .filter_map(|(uuid, bytes)| short_uuid(uuid.as_u128()).map(|u| (u, bytes.clone())))
        .collect()
}

fn short_list(services: &[uuid::Uuid]) -> Vec<u16> {
    services
        .iter()
        .filter_map(|uuid| short_uuid(uuid.as_u128()))
        .collect()
}

/// The GATT connections the fleet asks for, one task each.
struct Links {
    adapter: Adapter,
    events: mpsc::Sender<BleEvent>,
    cancel: CancellationToken,
    /// Addresses of fleet devices that want a connection.
    wanted: Vec<String>,
    running: HashMap<String, (CancellationToken, tokio::task::JoinHandle<()>)>,
    lost: broadcast::Sender<String>,
}

impl Links {
    fn new(adapter: Adapter, events: mpsc::Sender<BleEvent>, cancel: CancellationToken) -> Self {
        Links {
            adapter,
            events,
            cancel,
            wanted: Vec::new(),
            running: HashMap::new(),
            lost: broadcast::channel(64).0,
        }
    }

    /// Starts links for newly wanted devices already seen, stops links no longer wanted.
    fn follow(&mut self, fleet: &BleFleet, seen: &HashMap<PeripheralId, Seen>) {
        self.wanted = fleet
            .devices
            .iter()
            .filter(|d| d.connect)
            .map(|d| d.address.clone())
            .collect();
        let wanted = &self.wanted;
        self.running.retain(|address, (cancel, _)| {
            let keep = wanted.contains(address);
            if !keep {
                cancel.cancel();
            }
            keep
        });
        for (id, s) in seen {
            self.start_if_wanted(id, &s.address);
        }
    }

    fn start_if_wanted(&mut self, id: &PeripheralId, address: &str) {
        if !self.wanted.iter().any(|a| a == address) || self.running.contains_key(address) {
            return;
        }
        let cancel = self.cancel.child_token();
        let task = tokio::spawn(hold_link(
            self.adapter.clone(),
            id.clone(),
            address.to_owned(),
            self.events.clone(),
            self.lost.subscribe(),
            cancel.clone(),
        ));
        self.running.insert(address.to_owned(), (cancel, task));
    }

    fn disconnected(&self, address: &str) {
        let _ = self.lost.send(address.to_owned());
    }

    async fn stop_all(self) {
        self.cancel.cancel();
        for (_, (_, task)) in self.running {
            let _ = task.await;
        }
    }
}

/// Keeps one device connected until cancelled, reconnecting with backoff.
async fn hold_link(
    adapter: Adapter,
    id: PeripheralId,
    address: String,
    events: mpsc::Sender<BleEvent>,
    mut lost: broadcast::Receiver<String>,
    cancel: CancellationToken,
) {
    let link = |link: Link| BleEvent::Link {
        address: address.clone(),
        link,
    };
    let mut backoff = BACKOFF_FIRST;
    loop {
        let _ = events.send(link(Link::Connecting)).await;
        let started = Instant::now();
        let outcome = match adapter.peripheral(&id).await {
            Ok(peripheral) => {
                let outcome = session(&peripheral, &address, &events, &mut lost, &cancel).await;
                if cancel.is_cancelled() || outcome.is_err() {
                    // Leave nothing half-open behind: a stuck link blocks the device for
                    // everyone (the phone's own app included).
                    let _ = peripheral.disconnect().await;
                }
                outcome
            }
            Err(e) => Err(e.to_string()),
        };
        if cancel.is_cancelled() {
            return;
        }
        let reason = match outcome {
            Ok(()) => return,
            Err(reason) => reason,
        };
        if started.elapsed() >= HEALTHY_LINK {
            backoff = BACKOFF_FIRST;
        }
        let wait = jitter(backoff, &address);
        tracing::info!(%address, %reason, wait_ms = wait.as_millis() as u64, "BLE link down");
        let _ = events
            .send(link(Link::Waiting {
                retry_in: wait,
                reason,
            }))
            .await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Up to a quarter more, so devices that dropped together (a power cut) do not all reconnect at
/// the same instant. Derived from the clock and the address: no RNG needed for this.
fn jitter(base: Duration, address: &str) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let seed = address
        .bytes()
        .fold(u64::from(nanos), |h, b| h.rotate_left(5) ^ u64::from(b));
    base + base.mul_f64((seed % 1000) as f64 / 4000.0)
}

/// One connection: connect, discover, read and subscribe, then forward values until the link
/// drops (`Err`) or the task is cancelled (`Ok`).
async fn session(
    peripheral: &Peripheral,
    address: &str,
    events: &mpsc::Sender<BleEvent>,
    lost: &mut broadcast::Receiver<String>,
    cancel: &CancellationToken,
) -> Result<(), String> {
    let timed = |what: &'static str| move |_| format!("{what} timed out");
    tokio::select! {
        _ = cancel.cancelled() => return Ok(()),
        r = tokio::time::timeout(CONNECT_TIMEOUT, peripheral.connect()) => {
            r.map_err(timed("connect"))?.map_err(|e| format!("connect: {e}"))?
        }
    }
    tokio::select! {
        _ = cancel.cancelled() => return Ok(()),
        r = tokio::time::timeout(CONNECT_TIMEOUT, peripheral.discover_services()) => {
            r.map_err(timed("service discovery"))?.map_err(|e| format!("service discovery: {e}"))?
        }
    }
    let wanted: Vec<(u16, Characteristic)> = peripheral
        .characteristics()
        .into_iter()
        .filter_map(|c| {
            let short = short_uuid(c.uuid.as_u128())?;
            SUPPORTED.contains(&short).then_some((short, c))
        })
        .collect();
    if wanted.is_empty() {
        return Err(
            "no supported GATT characteristic (Heart Rate, Health Thermometer, \
                    Environmental Sensing, Battery)"
                .into(),
        );
    }
    // Subscribe before the first read, so nothing pushed in between is lost.
    let mut values = peripheral
        .notifications()
        .await
        .map_err(|e| format!("notifications: {e}"))?;
    let mut polled = Vec::new();
    for (short, c) in &wanted {
        if c.properties
            .intersects(CharPropFlags::NOTIFY | CharPropFlags::INDICATE)
        {
            peripheral
                .subscribe(c)
                .await
                .map_err(|e| format!("subscribe 0x{short:04X}: {e}"))?;
        } else if c.properties.contains(CharPropFlags::READ) {
            polled.push((*short, c.clone()));
        }
    }
    let _ = events
        .send(BleEvent::Link {
            address: address.to_owned(),
            link: Link::Connected,
        })
        .await;
    for (short, c) in &wanted {
        if c.properties.contains(CharPropFlags::READ) {
            read_into(peripheral, address, *short, c, events).await?;
        }
    }
    let mut poll = tokio::time::interval_at(tokio::time::Instant::now() + POLL_EVERY, POLL_EVERY);
    let mut check = tokio::time::interval_at(tokio::time::Instant::now() + LINK_CHECK, LINK_CHECK);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            gone = lost.recv() => match gone {
                Ok(a) if a == address => return Err("link lost".into()),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            value = values.next() => {
                let Some(v) = value else { return Err("notifications ended".into()) };
                let Some(characteristic) = short_uuid(v.uuid.as_u128()) else { continue };
                let event = BleEvent::Notification { address: address.to_owned(), characteristic, value: v.value };
                if events.send(event).await.is_err() {
                    return Ok(());
                }
            }
            _ = poll.tick() => {
                for (short, c) in &polled {
                    read_into(peripheral, address, *short, c, events).await?;
                }
            }
            _ = check.tick() => {
                if !peripheral.is_connected().await.unwrap_or(false) {
                    return Err("link lost".into());
                }
            }
        }
    }
}

async fn read_into(
    peripheral: &Peripheral,
    address: &str,
    short: u16,
    c: &Characteristic,
    events: &mpsc::Sender<BleEvent>,
) -> Result<(), String> {
    let value = tokio::time::timeout(READ_TIMEOUT, peripheral.read(c))
        .await
        .map_err(|_| format!("read 0x{short:04X} timed out"))?
        .map_err(|e| format!("read 0x{short:04X}: {e}"))?;
    let _ = events
        .send(BleEvent::Notification {
            address: address.to_owned(),
            characteristic: short,
            value,
        })
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_peripherals_stay_bounded_and_keep_the_users_devices() {
        let mine = "A4:C1:38:00:00:01";
        let fleet = BleFleet {
            devices: vec![crate::ble::KnownDevice {
                address: mine.to_owned(),
                name: "Fridge".into(),
                kind: "thermometer".into(),
                site: String::new(),
                expected_interval_ms: 10_000,
                tags: vec![],
                connect: false,
                bindkey: None,
            }],
        };
        let seen_as = |address: String| {
            move || Seen {
                address,
                name: None,
                rssi: None,
            }
        };
        let mut seen: HashMap<u32, Seen> = HashMap::new();
        remember(&mut seen, 8, &fleet, 0, seen_as(mine.to_owned()));
        // A flood of rotating addresses: never more than the bound.
        for id in 1..10_000u32 {
            remember(&mut seen, 8, &fleet, id, seen_as(format!("rotating-{id}")));
            assert!(seen.len() <= 8, "{} remembered", seen.len());
            assert!(
                seen.contains_key(&0),
                "the user's device is never forgotten"
            );
        }
        // One already remembered is found again, not replaced.
        remember(&mut seen, 8, &fleet, 0, seen_as("other".into())).rssi = Some(-40);
        assert_eq!(seen[&0].address, mine);
        assert_eq!(seen[&0].rssi, Some(-40));
    }
}
