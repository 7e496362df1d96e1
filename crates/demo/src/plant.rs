//! The simulated plant: machines publishing to a private mosquitto, read back by the ordinary
//! MQTT source exactly as a real gateway would be; where no mosquitto can run (a phone), they
//! publish into the same source in process.

use super::signal::wave;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use telltale_model::upkeep::ServicePlan;
use telltale_model::{DeviceId, Quality, Reading, SourceState, Transport};
use telltale_sources::mqtt::{self, BrokerConfig, PayloadFormat, TopicMap};
use telltale_sources::SourceBoard;
use telltale_sources::TaskHandle;
use telltale_store::{Ingest, SeriesKey, StoreError};
use tokio_util::sync::CancellationToken;

const SOURCE_ID: &str = "demo-plant";

/// The plant's air filter: its pressure drop creeps up as it clogs, the issue's own example of
/// a series whose limit is days away. It is what the demo's forecasts, forecast band and
/// upkeep alert have to show from the first minute.
pub const FILTER: &str = "filter-04";
/// The filter is changed every ten days, counted from when it was installed.
const FILTER_CYCLE_MS: i64 = 10 * 86_400_000;
/// On a first launch the filter was installed this long ago, and the plant's historian hands
/// over its readings since then.
pub const FILTER_HISTORY_MS: i64 = 2 * 86_400_000;
/// The historian's resolution.
const HISTORY_STEP_MS: i64 = 5 * 60_000;

/// Pressure drop across the filter (Pa) at `t_ms`: 120 Pa when new, 16 Pa more a day, a small
/// daily swing (airflow follows the shifts) and sensor noise.
pub fn filter_pressure_drop(t_ms: i64, installed_ms: i64) -> f64 {
    let age_days = (t_ms - installed_ms).rem_euclid(FILTER_CYCLE_MS) as f64 / 86_400_000.0;
    120.0 + 16.0 * age_days + wave(31, t_ms, 0.0, 3.0, 86_400.0, 1.0)
}

/// The historian's hand-over: the filter's pressure drop every 5 minutes from its installation
/// (first launch) or from its newest stored reading (a later one) until now, through the
/// ordinary ingest, as a gateway uploading its buffer would. Returns how many readings.
async fn backfill_filter(
    ingest: &Ingest,
    installed_ms: i64,
    now_ms: i64,
) -> Result<usize, StoreError> {
    let device = DeviceId::new(format!("mqtt:{SOURCE_ID}/{FILTER}"));
    let metric = "pressure_drop";
    let newest = ingest
        .last_ts(SeriesKey {
            device: device.clone(),
            metric: metric.into(),
        })
        .await?;
    let from = newest.map_or(installed_ms, |t| t + HISTORY_STEP_MS);
    let first = from.div_euclid(HISTORY_STEP_MS) * HISTORY_STEP_MS + HISTORY_STEP_MS;
    let readings: Vec<Reading> = (0..)
        .map(|i| first + i * HISTORY_STEP_MS)
        .take_while(|t| *t < now_ms - HISTORY_STEP_MS)
        .map(|t| Reading {
            device: device.clone(),
            metric: metric.into(),
            unit: Some("Pa".into()),
            ts_ms: t,
            value: (filter_pressure_drop(t, installed_ms) * 10.0).round() / 10.0,
            quality: Quality::Good,
        })
        .collect();
    for chunk in readings.chunks(2_000) {
        ingest.write(chunk.to_vec()).await?;
    }
    Ok(readings.len())
}

#[derive(Debug, Clone, Copy)]
pub struct Machine {
    pub name: &'static str,
    pub seed: u64,
    /// mm/s of slow vibration growth per hour: a bearing wearing out, for forecasts to find.
    pub wear_per_hour: f64,
    /// Seconds running then seconds stopped, over and over: the motor current shows it, for
    /// runtime counters to count.
    pub duty_s: (i64, i64),
}

pub fn plant_machines() -> [Machine; 3] {
    [
        Machine {
            name: "press-01",
            seed: 21,
            wear_per_hour: 0.0,
            duty_s: (20, 10),
        },
        Machine {
            name: "pump-02",
            seed: 22,
            wear_per_hour: 0.6,
            duty_s: (90, 30),
        },
        Machine {
            name: "compressor-03",
            seed: 23,
            wear_per_hour: 0.1,
            duty_s: (300, 120),
        },
    ]
}

/// What one machine publishes at `t_ms`: (metric, value, unit).
pub fn machine_values(
    m: &Machine,
    t_ms: i64,
    started_ms: i64,
) -> [(&'static str, f64, &'static str); 4] {
    let hours = (t_ms - started_ms).max(0) as f64 / 3_600_000.0;
    let (on_s, off_s) = m.duty_s;
    let running = (t_ms / 1000 + m.seed as i64 * 7).rem_euclid(on_s + off_s) < on_s;
    let current = if running {
        wave(m.seed + 3, t_ms, 8.0, 0.4, 60.0, 0.2)
    } else {
        wave(m.seed + 3, t_ms, 0.15, 0.0, 60.0, 0.05)
    };
    [
        (
            "vibration",
            wave(
                m.seed,
                t_ms,
                2.8 + m.wear_per_hour * hours,
                0.4,
                120.0,
                0.15,
            ),
            "mm/s",
        ),
        (
            "temperature",
            wave(m.seed + 1, t_ms, 61.0, 4.0, 900.0, 0.2),
            "°C",
        ),
        (
            "pressure",
            wave(m.seed + 2, t_ms, 6.2, 0.3, 300.0, 0.05),
            "bar",
        ),
        ("current", current, "A"),
    ]
}

/// Looks for mosquitto on PATH and where Debian puts it (/usr/sbin is not on a user's PATH).
pub fn find_mosquitto() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|dir| dir.join("mosquitto"))
        .find(|p| p.is_file())
}

/// How the simulated plant reaches the MQTT source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlantLink {
    /// Through a private mosquitto on a loopback port: the whole network path a real gateway
    /// takes.
    Mosquitto,
    /// Straight into the MQTT source, in process ([`mqtt::start_in_process`]): the same topic
    /// maps, parsing and storing, no broker. For phones, where no mosquitto runs.
    InProcess,
}

impl PlantLink {
    /// Mosquitto where it is installed (a desktop), in process elsewhere (a phone, or a desktop
    /// without it).
    pub fn available() -> Self {
        if cfg!(any(target_os = "android", target_os = "ios")) || find_mosquitto().is_none() {
            PlantLink::InProcess
        } else {
            PlantLink::Mosquitto
        }
    }
}

/// What the machines publish through.
enum Outlet {
    Broker {
        client: AsyncClient,
        events: Box<rumqttc::EventLoop>,
        /// Kept for as long as the machines publish.
        _broker: Box<LocalBroker>,
    },
    InProcess(mqtt::Publisher),
}

/// How the plant's MQTT source reads the machines (the URL is not dialled in process).
fn plant_config(url: &str) -> BrokerConfig {
    BrokerConfig {
        // The broker is new on every run: nothing to resume.
        persistent_session: false,
        site: "Plant".into(),
        expected_interval_ms: 1_000,
        ..BrokerConfig::new(
            SOURCE_ID,
            url,
            "telltale-demo-subscriber",
            vec![TopicMap {
                value_path: Some("value".into()),
                unit_path: Some("unit".into()),
                ..TopicMap::new("plant/+/+", PayloadFormat::Json, "{1}", "{2}")
            }],
        )
    }
}

/// Starts the plant's MQTT source and what its machines publish through.
async fn connect(
    link: PlantLink,
    ingest: Ingest,
    board: &SourceBoard,
) -> Result<(TaskHandle, Outlet), String> {
    match link {
        PlantLink::Mosquitto => {
            let broker = LocalBroker::start().await?;
            let config = plant_config(&format!("mqtt://127.0.0.1:{}", broker.port));
            let subscriber =
                mqtt::start(config, None, ingest, board.clone()).map_err(|e| e.to_string())?;
            let mut options = MqttOptions::new("telltale-demo-plant", "127.0.0.1", broker.port);
            options.set_keep_alive(Duration::from_secs(15));
            let (client, events) = AsyncClient::new(options, 64);
            let outlet = Outlet::Broker {
                client,
                events: Box::new(events),
                _broker: Box::new(broker),
            };
            Ok((subscriber, outlet))
        }
        PlantLink::InProcess => {
            let config = plant_config("mqtt://in-process");
            let (subscriber, publisher) =
                mqtt::start_in_process(config, ingest, board.clone()).map_err(|e| e.to_string())?;
            Ok((subscriber, Outlet::InProcess(publisher)))
        }
    }
}

/// Runs the plant; `filter_installed_ms` is when its filter was installed (kept by the engine
/// across launches so the filter's history stays one curve).
pub(super) fn start(
    ingest: Ingest,
    board: SourceBoard,
    filter_installed_ms: i64,
    link: PlantLink,
) -> TaskHandle {
    TaskHandle::spawn("demo-plant", move |cancel| async move {
        board.set(
            SOURCE_ID,
            Transport::Mqtt,
            SourceState::Starting,
            "starting the plant",
        );
        let ingest_plans = ingest.clone();
        let (subscriber, outlet) = match connect(link, ingest, &board).await {
            Ok(parts) => parts,
            Err(e) => {
                board.set(SOURCE_ID, Transport::Mqtt, SourceState::Failed, e);
                return;
            }
        };
        // The demo's service plans, so the Upkeep page counts something (kept if edited).
        for plan in service_plans(SOURCE_ID) {
            let seed = telltale_store::ServiceChange::Seed(plan, telltale_sources::now_ms());
            if let Err(e) = ingest_plans.save_service(seed).await {
                tracing::error!(error = %e, "demo service plan not saved");
            }
        }
        match backfill_filter(
            &ingest_plans,
            filter_installed_ms,
            telltale_sources::now_ms(),
        )
        .await
        {
            Ok(n) => tracing::info!(readings = n, "demo plant: the filter's history handed over"),
            Err(e) => tracing::error!(error = %e, "demo plant: the filter's history not stored"),
        }
        let mut outlet = outlet;
        publish_until_cancelled(&mut outlet, filter_installed_ms, &cancel).await;
        // The broker goes last, so the source leaves it cleanly.
        subscriber.stop().await;
        drop(outlet);
    })
}

/// The machines' own publisher: one JSON message per metric per second, QoS 1.
async fn publish_until_cancelled(
    outlet: &mut Outlet,
    filter_installed_ms: i64,
    cancel: &CancellationToken,
) {
    let started = telltale_sources::now_ms();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let polled = async {
            match &mut *outlet {
                // The publisher's own loop must be polled for its messages to leave.
                Outlet::Broker { events, .. } => {
                    if events.poll().await.is_err() {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
                Outlet::InProcess(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = polled => {}
            _ = tick.tick() => {
                let now = telltale_sources::now_ms();
                let mut messages = Vec::new();
                for m in plant_machines() {
                    for (metric, value, unit) in machine_values(&m, now, started) {
                        let payload = serde_json::json!({ "value": (value * 1000.0).round() / 1000.0, "unit": unit });
                        messages.push((format!("plant/{}/{metric}", m.name), payload.to_string()));
                    }
                }
                let drop = (filter_pressure_drop(now, filter_installed_ms) * 10.0).round() / 10.0;
                let payload = serde_json::json!({ "value": drop, "unit": "Pa" });
                messages.push((format!("plant/{FILTER}/pressure_drop"), payload.to_string()));
                for (topic, payload) in messages {
                    // A message the link cannot take now is skipped: the next second has news.
                    let _ = match &*outlet {
                        Outlet::Broker { client, .. } => client
                            .try_publish(topic, QoS::AtLeastOnce, false, payload)
                            .map_err(|e| e.to_string()),
                        Outlet::InProcess(publisher) => publisher.publish(&topic, payload.into_bytes()),
                    };
                }
            }
        }
    }
    if let Outlet::Broker { client, .. } = &*outlet {
        let _ = client.try_disconnect();
    }
}

/// A private mosquitto on a free loopback port, killed when dropped (and, on Linux, when this
/// process dies). The demo plant publishes through one; tests use it as a real broker.
pub struct LocalBroker {
    port: u16,
    child: tokio::process::Child,
    config: PathBuf,
}

impl LocalBroker {
    pub async fn start() -> Result<Self, String> {
        let exe = find_mosquitto().ok_or(
            "mosquitto is not installed; the simulated plant needs it (apt install mosquitto)",
        )?;
        // The port is free when probed but another process may take it before mosquitto binds
        // it; mosquitto then exits at once, and a fresh port is tried.
        let mut last_error = String::new();
        for _ in 0..3 {
            match Self::start_on_free_port(&exe).await {
                Ok(broker) => return Ok(broker),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    async fn start_on_free_port(exe: &std::path::Path) -> Result<Self, String> {
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let config =
            std::env::temp_dir().join(format!("telltale-demo-{}-{port}.conf", std::process::id()));
        // As root, mosquitto would switch to its own user, and a change of user clears the
        // parent-death signal below; staying root keeps the broker tied to this process.
        let run_as = if is_root() { "user root\n" } else { "" };
        std::fs::write(
            &config,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n{run_as}"),
        )
        .map_err(|e| format!("writing {}: {e}", config.display()))?;
        let mut command = tokio::process::Command::new(exe);
        command
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        die_with_parent(&mut command);
        let child = command
            .spawn()
            .map_err(|e| format!("starting {}: {e}", exe.display()))?;
        let mut broker = LocalBroker {
            port,
            child,
            config,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(broker);
            }
            if let Ok(Some(status)) = broker.child.try_wait() {
                return Err(format!(
                    "mosquitto exited with {status} before listening on 127.0.0.1:{port}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!(
            "mosquitto did not listen on 127.0.0.1:{port} within 5 s"
        ))
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for LocalBroker {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.config);
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[cfg(unix)]
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(not(unix))]
fn is_root() -> bool {
    false
}

/// `kill_on_drop` covers a clean shutdown; a crash or a `kill -9` of the app runs no drop, so on
/// Linux the kernel also sends the broker SIGTERM when its parent dies.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut tokio::process::Command) {
    // SAFETY: the closure runs in the forked child before exec and calls only prctl, which is
    // async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut tokio::process::Command) {}

/// The demo plant's plans: the pump's seal by hours and starts (due within the demo's first
/// hours, so the page and the alerts show it), the compressor's filter by hours (weeks away).
pub fn service_plans(source_id: &str) -> Vec<ServicePlan> {
    let device = |name: &str| DeviceId::new(format!("mqtt:{source_id}/{name}"));
    vec![
        ServicePlan {
            id: "pump-02-seal".into(),
            device: device("pump-02"),
            metric: "current".into(),
            on_above: 2.0,
            every_hours: Some(2.0),
            every_cycles: Some(120),
        },
        ServicePlan {
            id: "compressor-03-filter".into(),
            device: device("compressor-03"),
            metric: "current".into(),
            on_above: 2.0,
            every_hours: Some(500.0),
            every_cycles: None,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_forecast::{time_to_threshold, Direction, Eta, TrendConfig};

    const DAY_MS: f64 = 86_400_000.0;

    /// The demo's filter must give what it is there to show: on a first launch, two days of
    /// history whose trend dates the 250 Pa limit days ahead (inside the demo's one-week
    /// maintenance horizon; linear says about six, the exponential fit fewer), with an interval
    /// around it.
    #[test]
    fn the_filters_history_dates_its_limit_days_ahead() {
        let now = 1_800_000_000_000i64;
        let installed = now - FILTER_HISTORY_MS;
        let hourly: Vec<(i64, f64)> = (0..48)
            .map(|h| {
                let t = installed + h * 3_600_000;
                // Hourly means of the 5-minute history, as the rollups give them.
                let mean = (0..12)
                    .map(|k| filter_pressure_drop(t + k * HISTORY_STEP_MS, installed))
                    .sum::<f64>()
                    / 12.0;
                (t, mean)
            })
            .collect();
        let eta = time_to_threshold(
            &hourly,
            250.0,
            Some(Direction::Rising),
            now,
            &TrendConfig::default(),
        );
        let Eta::Forecast(f) = eta else {
            panic!("no date: {eta:?}")
        };
        let days = |ms: i64| (ms - now) as f64 / DAY_MS;
        assert!((3.0..=7.0).contains(&days(f.eta_ms)), "{f:?}");
        assert!(f.low_ms <= f.eta_ms && f.eta_ms <= f.high_ms);
        assert!(days(f.high_ms) < 9.0, "a usable interval: {:?}", f);
        // A new filter after ten days: the curve starts again.
        assert!(filter_pressure_drop(installed + FILTER_CYCLE_MS + 60_000, installed) < 130.0);
    }
}
