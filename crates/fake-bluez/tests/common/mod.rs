//! Shared by the test binaries: one private bus per process (libdbus reads
//! `DBUS_SYSTEM_BUS_ADDRESS` once per process), and a timeout on every await so a broken fake
//! fails the test instead of hanging CI.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use btleplug::api::{Central, CentralEvent, CentralState, Manager as _, ScanFilter};
use btleplug::platform::{Adapter, Manager, PeripheralId};
use futures::{Stream, StreamExt};
use telltale_fake_bluez::{DeviceSpec, FakeBluez, PrivateBus};

pub const TIMEOUT: Duration = Duration::from_secs(10);

/// What `Central::events` returns.
pub type Events = Pin<Box<dyn Stream<Item = CentralEvent> + Send>>;

/// Awaits `future` for at most [`TIMEOUT`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(TIMEOUT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {TIMEOUT:?}: {what}"),
    }
}

/// The private bus, the fake on it, and btleplug's first adapter (which must be the fake's).
pub async fn start() -> (PrivateBus, FakeBluez, Adapter) {
    let bus = PrivateBus::start().expect("start dbus-daemon");
    // Before btleplug's first call, and the only bus this process will ever use.
    std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", bus.address());
    let bluez = within("fake start", FakeBluez::start(bus.address()))
        .await
        .expect("start fake bluez");
    let manager = within("Manager::new", Manager::new())
        .await
        .expect("btleplug manager");
    let adapter = within("adapters", manager.adapters())
        .await
        .expect("adapters")
        .into_iter()
        .next()
        .expect("btleplug sees the fake adapter");
    let info = within("adapter_info", adapter.adapter_info())
        .await
        .expect("adapter info");
    assert!(info.contains("hci0"), "{info}");
    (bus, bluez, adapter)
}

/// The first event for which `pick` returns `Some`, skipping the others.
pub async fn next_matching<T>(
    what: &str,
    events: &mut (impl Stream<Item = CentralEvent> + Unpin),
    mut pick: impl FnMut(CentralEvent) -> Option<T>,
) -> T {
    within(what, async {
        while let Some(event) = events.next().await {
            if let Some(found) = pick(event) {
                return found;
            }
        }
        panic!("event stream ended while waiting for {what}");
    })
    .await
}

/// Subscribes to adapter events, starts a scan, lets the fake add `device` and waits for
/// btleplug's `DeviceDiscovered`. The scan keeps running.
pub async fn scan_and_discover(
    bluez: &FakeBluez,
    adapter: &Adapter,
    device: DeviceSpec,
) -> (Events, PeripheralId) {
    let mut events = within("events", adapter.events()).await.expect("events");
    within("start_scan", adapter.start_scan(ScanFilter::default()))
        .await
        .expect("start_scan");
    assert!(bluez.is_discovering());
    bluez.add_device(device).await.expect("add device");
    let id = next_discovered(&mut events).await;
    (events, id)
}

/// The next `DeviceDiscovered`.
pub async fn next_discovered(events: &mut Events) -> PeripheralId {
    next_matching("DeviceDiscovered", events, |event| match event {
        CentralEvent::DeviceDiscovered(id) => Some(id),
        _ => None,
    })
    .await
}

/// The next `StateUpdate` (the adapter's `Powered`).
pub async fn next_state(events: &mut Events) -> CentralState {
    next_matching("StateUpdate", events, |event| match event {
        CentralEvent::StateUpdate(state) => Some(state),
        _ => None,
    })
    .await
}
