//! The app's link to a plant historian: its settings (the password in the OS keyring), a
//! *Test connection*, and the fill a chart asks for when its range reaches before this store's
//! history or into a gap. What the historian fills is marked on the answer
//! ([`History::from_historian`]) and kept in the local store for offline viewing — as history
//! from elsewhere, which neither the live view nor the alert engine takes for news; retention
//! later trims it like any other reading.

use crate::error::{EngineError, Result};
use crate::secret::{ExposeSecret, Secret, SecretStore};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use telltale_historian::{Historian, HistorianError, Target, TlsMode};
use telltale_model::historian::{HistorianCheck, HistorianSettings, SaveHistorian};
use telltale_model::{
    Bucket, DeviceSummary, Freshness, History, HistoryQuery, Reading, TimestampMs,
};
use telltale_store::{Ingest, SeriesKey, SourceConfigChange, Store};

/// The `source_configs` kind the historian's settings are kept under (one row).
pub const KIND: &str = "historian";
const ID: &str = "historian";
/// How long a chart waits for the historian before it draws what the local store has.
const PATIENCE: Duration = Duration::from_secs(5);
/// After a failure, charts do not wait for the historian again for this long.
const BACKOFF: Duration = Duration::from_secs(30);
/// The most readings one fill keeps locally (a night shift of a few 1 Hz tags; a year of one
/// is left to the historian).
const CACHE_MAX: u64 = 200_000;

#[derive(Serialize, Deserialize)]
struct Stored {
    url: String,
}

fn stored_url(store: &Store) -> Result<Option<String>> {
    match store.source_configs(KIND)?.into_iter().next() {
        None => Ok(None),
        Some((_, json)) => serde_json::from_str::<Stored>(&json)
            .map(|s| Some(s.url))
            .map_err(|e| EngineError::Config(format!("the historian's stored settings: {e}"))),
    }
}

/// The historian's settings, if one is set.
pub fn settings(store: &Store, secrets: &dyn SecretStore) -> Result<Option<HistorianSettings>> {
    let Some(url) = stored_url(store)? else {
        return Ok(None);
    };
    let target = Target::parse(&url)?;
    Ok(Some(HistorianSettings {
        url,
        has_password: secrets.get(&target.secret_name())?.is_some(),
    }))
}

/// The password a request gives, or the stored one. Asks the keyring: call it on a blocking
/// thread.
pub(crate) fn password(
    request: &SaveHistorian,
    secrets: &dyn SecretStore,
) -> Result<Option<Secret>> {
    let target = Target::parse(&request.url)?;
    match &request.password {
        Some(p) => Ok(Some(Secret::from(p.clone().into_text().as_str()))),
        None if request.clear_password => Ok(None),
        None => secrets.get(&target.secret_name()),
    }
}

/// Checks a request to save the historian's settings before anything is kept.
pub(crate) fn validate(request: &SaveHistorian) -> Result<()> {
    Target::parse(&request.url)?;
    match (&request.password, request.clear_password) {
        (Some(_), true) => Err(EngineError::Config(
            "give a new password or clear it, not both".into(),
        )),
        (Some(p), false) => {
            let text = p.clone().into_text();
            if text.is_empty() || text.len() > 1024 || text.contains('\n') {
                return Err(EngineError::Config(
                    "a password must be one line of 1 to 1024 characters".into(),
                ));
            }
            Ok(())
        }
        (None, _) => Ok(()),
    }
}

/// Keeps a (validated) request's password change in the keyring. The entry is named after
/// user, host, port and database: a password never follows the settings elsewhere. Asks the
/// keyring: call it on a blocking thread.
pub(crate) fn keep_password(request: &SaveHistorian, secrets: &dyn SecretStore) -> Result<()> {
    let target = Target::parse(&request.url)?;
    match (&request.password, request.clear_password) {
        (Some(p), _) => secrets.set(&target.secret_name(), &p.clone().into_text()),
        (None, true) => secrets.delete(&target.secret_name()),
        (None, false) => Ok(()),
    }
}

/// Forgets the stored historian's password. Asks the keyring: call it on a blocking thread.
pub(crate) fn forget_password(store: &Store, secrets: &dyn SecretStore) -> Result<()> {
    if let Some(url) = stored_url(store)? {
        if let Ok(target) = Target::parse(&url) {
            secrets.delete(&target.secret_name())?;
        }
    }
    Ok(())
}

/// Saves the historian's address (`url`), or forgets it (None).
pub(crate) async fn save_settings(ingest: &Ingest, url: Option<String>, now_ms: i64) -> Result<()> {
    let config = match url {
        Some(url) => Some(
            serde_json::to_string(&Stored { url })
                .map_err(|e| EngineError::Config(format!("cannot encode the settings: {e}")))?,
        ),
        None => None,
    };
    ingest
        .save_source_config(SourceConfigChange {
            kind: KIND.into(),
            id: ID.into(),
            config,
            now_ms,
        })
        .await?;
    Ok(())
}

/// Connects to `url` with `password` and says what the historian holds.
pub(crate) async fn test(url: &str, password: Option<Secret>) -> Result<HistorianCheck> {
    let target = Target::parse(url)?;
    let historian = tokio::time::timeout(
        PATIENCE * 2,
        Historian::connect(&target, password.as_ref().map(|p| p.expose_secret())),
    )
    .await
    .map_err(|_| HistorianError::Connect(format!("{}: no answer in 10 s", target.shown())))??;
    let census = historian.census().await?;
    Ok(HistorianCheck {
        reached: target.shown(),
        tls: target.tls() != TlsMode::Disable,
        devices: census.devices,
        series: census.series,
        readings: census.readings,
        sites: census.sites,
    })
}

/// An open link to the historian the settings name: one connection, made when first needed and
/// again after a failure (not before [`BACKOFF`]), and the devices it holds.
pub struct HistorianLink {
    target: Target,
    password: Option<Secret>,
    session: tokio::sync::Mutex<Session>,
    devices: Mutex<Vec<DeviceSummary>>,
    /// The one job keeping filled history locally; aborted when the link goes.
    caching: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

#[derive(Default)]
struct Session {
    historian: Option<Historian>,
    failed_at: Option<Instant>,
}

impl Drop for HistorianLink {
    fn drop(&mut self) {
        if let Some(job) = self
            .caching
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            job.abort();
        }
    }
}

impl HistorianLink {
    /// The link the stored settings describe, if any.
    pub fn open(store: &Store, secrets: &dyn SecretStore) -> Result<Option<Arc<HistorianLink>>> {
        let Some(url) = stored_url(store)? else {
            return Ok(None);
        };
        let target = Target::parse(&url)?;
        let password = secrets.get(&target.secret_name())?;
        Ok(Some(Arc::new(HistorianLink {
            target,
            password,
            session: tokio::sync::Mutex::new(Session::default()),
            devices: Mutex::new(Vec::new()),
            caching: Mutex::new(None),
        })))
    }

    /// `USER@HOST:PORT/DBNAME`.
    pub fn shown(&self) -> String {
        self.target.shown()
    }

    /// Runs one request on the connection, connecting first if needed; every step within
    /// [`PATIENCE`]. A failure drops the connection and holds further requests off for
    /// [`BACKOFF`], so an offline tablet draws its local history at once.
    async fn call<T>(
        &self,
        f: impl for<'h> FnOnce(
            &'h Historian,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = telltale_historian::Result<T>> + Send + 'h>,
        >,
    ) -> Result<T> {
        let mut session = self.session.lock().await;
        if session.failed_at.is_some_and(|t| t.elapsed() < BACKOFF) {
            return Err(HistorianError::Connect(format!(
                "{}: unreachable a moment ago; trying again in at most {} s",
                self.shown(),
                BACKOFF.as_secs()
            ))
            .into());
        }
        let answer = async {
            if session.historian.is_none() {
                let connect = Historian::connect(
                    &self.target,
                    self.password.as_ref().map(|p| p.expose_secret()),
                );
                session.historian = Some(tokio::time::timeout(PATIENCE, connect).await.map_err(
                    |_| HistorianError::Connect(format!("{}: no answer", self.shown())),
                )??);
            }
            let historian = session.historian.as_ref().expect("connected above");
            tokio::time::timeout(PATIENCE, f(historian))
                .await
                .map_err(|_| HistorianError::Connect(format!("{}: no answer", self.shown())))?
        }
        .await;
        match answer {
            Ok(v) => {
                session.failed_at = None;
                Ok(v)
            }
            // The series is not there: an answer, not a failure of the link.
            Err(e @ HistorianError::NotFound(_)) => Err(e.into()),
            Err(e) => {
                tracing::warn!(historian = %self.shown(), "historian: {e}");
                session.historian = None;
                session.failed_at = Some(Instant::now());
                Err(e.into())
            }
        }
    }

    pub async fn history(&self, q: &HistoryQuery) -> Result<History> {
        let q = q.clone();
        self.call(move |h| Box::pin(async move { h.history(&q).await }))
            .await
    }

    /// Reads again which devices the historian holds and their newest values.
    pub async fn refresh(&self) -> Result<()> {
        let (devices, latest) = self
            .call(|h| Box::pin(async move { Ok((h.devices().await?, h.latest().await?)) }))
            .await?;
        let mut by_device: BTreeMap<_, Vec<_>> = BTreeMap::new();
        for (device, value) in latest {
            by_device.entry(device).or_default().push(value);
        }
        let summaries = devices
            .into_iter()
            .map(|device| {
                let latest = by_device.remove(&device.id).unwrap_or_default();
                DeviceSummary {
                    last_seen_ms: latest.iter().map(|v| v.ts_ms).max(),
                    latest,
                    device,
                    freshness: Freshness::Unknown,
                    sparkline: None,
                }
            })
            .collect();
        *self.devices.lock().unwrap_or_else(|p| p.into_inner()) = summaries;
        Ok(())
    }

    /// The historian's devices as last read ([`HistorianLink::refresh`]).
    pub fn devices(&self) -> Vec<DeviceSummary> {
        self.devices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A chart's history: the local answer, with what the historian holds where the local
    /// store has nothing (before its history, or in a gap). `local` is None when the local store
    /// does not know the series. Falls back to the local answer when the historian cannot be
    /// reached; what it filled is kept locally in the background.
    pub async fn fill(
        self: &Arc<Self>,
        ingest: &Ingest,
        q: &HistoryQuery,
        local: Option<History>,
    ) -> Result<History> {
        if let Some(l) = local.as_ref().filter(|l| !wants_historian(l, q)) {
            return Ok(l.clone());
        }
        let remote = match self.history(q).await {
            Ok(r) => r,
            Err(e) => {
                return match local {
                    Some(l) => Ok(l),
                    None => Err(e),
                }
            }
        };
        let merged = merge(local, remote);
        self.keep(ingest, &merged);
        Ok(merged)
    }

    /// Keeps what the historian filled in the local store, unless a job is still at it or the
    /// stretch is too large to keep.
    fn keep(self: &Arc<Self>, ingest: &Ingest, h: &History) {
        let count: u64 = h
            .buckets
            .iter()
            .filter(|b| h.from_historian.iter().any(|s| b.t >= s[0] && b.t < s[1]))
            .map(|b| b.count)
            .sum();
        if h.from_historian.is_empty() || count > CACHE_MAX {
            return;
        }
        let mut slot = self.caching.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_some_and(|job| !job.is_finished()) {
            return;
        }
        let (link, ingest) = (Arc::downgrade(self), ingest.clone());
        let key = SeriesKey {
            device: h.device.clone(),
            metric: h.metric.clone(),
        };
        let (spans, unit) = (h.from_historian.clone(), h.unit.clone());
        *slot = Some(tokio::spawn(async move {
            let Some(link) = link.upgrade() else { return };
            if let Err(e) = link.keep_spans(&ingest, &key, &spans, unit).await {
                tracing::warn!(device = %key.device, metric = %key.metric, "keeping the historian's history: {e}");
            }
        }));
    }

    async fn keep_spans(
        &self,
        ingest: &Ingest,
        key: &SeriesKey,
        spans: &[[TimestampMs; 2]],
        unit: Option<String>,
    ) -> Result<()> {
        // A device only the historian knew gets its description before its readings.
        if let Some(known) = self
            .devices()
            .into_iter()
            .find(|d| d.device.id == key.device)
        {
            ingest.register(known.device).await?;
        }
        for &[from, to] in spans {
            let k = key.clone();
            let samples = self
                .call(move |h| Box::pin(async move { h.readings(&k, from, to).await }))
                .await?;
            let readings: Vec<Reading> = samples
                .into_iter()
                .map(|s| Reading {
                    device: key.device.clone(),
                    metric: key.metric.clone(),
                    unit: unit.clone(),
                    ts_ms: s.ts,
                    value: s.value,
                    quality: s.quality,
                })
                .collect();
            let n = readings.len();
            let c = ingest.write_history(readings).await?;
            tracing::info!(device = %key.device, metric = %key.metric, readings = n, stored = c.stored,
                "kept the historian's history for offline viewing");
        }
        Ok(())
    }
}

/// Whether the local answer lacks a stretch the historian may hold: nothing at all, a start
/// later than the range's (past 2 % of it), or a gap inside longer than a tenth of it.
pub fn wants_historian(local: &History, q: &HistoryQuery) -> bool {
    let span = q.to_ms - q.from_ms;
    let Some(first) = local.buckets.first() else {
        return true;
    };
    if first.t - q.from_ms > (span / 50).max(local.bucket_ms) {
        return true;
    }
    local
        .buckets
        .windows(2)
        .any(|w| w[1].t - w[0].t > (span / 10).max(2 * local.bucket_ms))
}

/// The local answer with the historian's buckets where the local store has fewer readings
/// (none, typically), and which stretches came from the historian. Both answers were planned
/// alike (the same range and budget), so equal widths mean equal grids; when the widths differ
/// (one answered raw readings), the answer holding more readings wins.
pub fn merge(local: Option<History>, remote: History) -> History {
    let Some(local) = local else {
        let flags = vec![true; remote.buckets.len()];
        let spans = spans(&remote.buckets, &flags, remote.bucket_ms);
        return History {
            from_historian: spans,
            ..remote
        };
    };
    let count = |h: &History| h.buckets.iter().map(|b| b.count).sum::<u64>();
    if local.bucket_ms == remote.bucket_ms {
        let mut by_t: BTreeMap<TimestampMs, (Bucket, bool)> =
            local.buckets.iter().map(|b| (b.t, (*b, false))).collect();
        for b in &remote.buckets {
            match by_t.get(&b.t) {
                Some((mine, _)) if mine.count >= b.count => {}
                _ => {
                    by_t.insert(b.t, (*b, true));
                }
            }
        }
        let (buckets, flags): (Vec<Bucket>, Vec<bool>) = by_t.into_values().unzip();
        let from_historian = spans(&buckets, &flags, local.bucket_ms);
        return History {
            buckets,
            from_historian,
            ..local
        };
    }
    if count(&remote) <= count(&local) {
        return local;
    }
    // The historian's coarser answer: marked where no local reading falls in a bucket.
    let width = remote.bucket_ms.max(1);
    let flags: Vec<bool> = remote
        .buckets
        .iter()
        .map(|b| {
            !local
                .buckets
                .iter()
                .any(|l| l.t >= b.t && l.t < b.t + width)
        })
        .collect();
    let from_historian = spans(&remote.buckets, &flags, remote.bucket_ms);
    History {
        from_historian,
        unit: local.unit.or(remote.unit),
        ..remote
    }
}

/// Runs of flagged buckets as `[first start, last end)` stretches.
fn spans(buckets: &[Bucket], flags: &[bool], width: i64) -> Vec<[TimestampMs; 2]> {
    let mut out: Vec<[TimestampMs; 2]> = Vec::new();
    let mut open = false;
    for (b, &flag) in buckets.iter().zip(flags) {
        let end = b.t + width.max(1);
        match (flag, open) {
            (true, true) => out.last_mut().expect("open")[1] = end,
            (true, false) => out.push([b.t, end]),
            _ => {}
        }
        open = flag;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_model::DeviceId;

    fn b(t: i64, count: u64) -> Bucket {
        Bucket {
            t,
            min: 1.0,
            max: 2.0,
            mean: 1.5,
            count,
            first: 1.5,
            last: 1.5,
        }
    }

    fn h(bucket_ms: i64, buckets: Vec<Bucket>) -> History {
        History {
            device: DeviceId::new("mqtt:plant/press"),
            metric: "vibration".into(),
            unit: Some("mm/s".into()),
            from_ms: 0,
            to_ms: 10_000,
            bucket_ms,
            buckets,
            from_historian: vec![],
        }
    }

    fn q() -> HistoryQuery {
        HistoryQuery {
            device: DeviceId::new("mqtt:plant/press"),
            metric: "vibration".into(),
            from_ms: 0,
            to_ms: 10_000,
            points: 10,
        }
    }

    #[test]
    fn the_historian_fills_before_and_inside_the_local_history_and_is_marked() {
        let local = h(1000, vec![b(5000, 10), b(6000, 10), b(9000, 3)]);
        assert!(
            wants_historian(&local, &q()),
            "it starts half-way into the range"
        );
        let remote = h(
            1000,
            (0..10)
                .map(|i| b(i * 1000, if i == 9 { 2 } else { 10 }))
                .collect(),
        );
        let merged = merge(Some(local.clone()), remote);
        assert_eq!(merged.buckets.len(), 10);
        assert_eq!(
            merged.from_historian,
            vec![[0, 5000], [7000, 9000]],
            "the local buckets stay the local ones; the one with more readings wins"
        );
        assert_eq!(merged.buckets[9].count, 3);
        // Nothing local at all: everything is the historian's.
        let only = merge(None, h(1000, vec![b(0, 1), b(3000, 1)]));
        assert_eq!(only.from_historian, vec![[0, 4000]]);
    }

    #[test]
    fn a_local_history_that_covers_the_range_does_not_ask() {
        let full = h(1000, (0..10).map(|i| b(i * 1000, 10)).collect());
        assert!(!wants_historian(&full, &q()));
        let gap = h(1000, vec![b(0, 1), b(1000, 1), b(8000, 1), b(9000, 1)]);
        assert!(wants_historian(&gap, &q()), "a gap of 7 s in 10");
        assert!(wants_historian(&h(1000, vec![]), &q()));
    }

    #[test]
    fn answers_of_different_resolution_keep_the_fuller_one() {
        let sparse = h(0, vec![b(9500, 1)]);
        let dense = h(1000, (0..10).map(|i| b(i * 1000, 10)).collect());
        let merged = merge(Some(sparse.clone()), dense);
        assert_eq!(merged.bucket_ms, 1000);
        assert_eq!(merged.from_historian, vec![[0, 9000]]);
        let kept = merge(Some(h(1000, vec![b(0, 50)])), h(0, vec![b(10, 1)]));
        assert_eq!(kept.buckets, vec![b(0, 50)]);
        assert!(kept.from_historian.is_empty());
    }
}
