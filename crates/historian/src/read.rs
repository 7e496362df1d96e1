//! Reading the historian as the local store is read: the same range plan and fold
//! ([`telltale_store::Plan`]), so `query --historian` answers exactly as `query --db` would over
//! the union of every site's readings, and export writes the same CSV.

use crate::error::{HistorianError, Result};
use crate::hour;
use crate::Historian;
use futures_util::{pin_mut, TryStreamExt};
use telltale_model::{Device, History, HistoryQuery, TimestampMs};
use telltale_store::chunk::{self, Sample};
use telltale_store::{Agg, Ask, CsvFor, CsvRows, Plan, SeriesKey, CHUNK_MS};

impl Historian {
    /// Every device any collector shipped, as its collector last described it.
    pub async fn devices(&self) -> Result<Vec<Device>> {
        let rows = self
            .client
            .query("SELECT device::text FROM telltale_devices ORDER BY id", &[])
            .await?;
        rows.iter()
            .map(|r| {
                serde_json::from_str(r.get(0))
                    .map_err(|e| HistorianError::Corrupt(format!("a device: {e}")))
            })
            .collect()
    }

    async fn series(&self, device: &str, metric: &str) -> Result<(i32, Option<String>)> {
        let row = self
            .client
            .query_opt(
                "SELECT id, unit FROM telltale_series WHERE device = $1 AND metric = $2",
                &[&device, &metric],
            )
            .await?
            .ok_or_else(|| {
                HistorianError::NotFound(format!(
                    "no metric {metric} on device {device} in the historian"
                ))
            })?;
        Ok((row.get(0), row.get(1)))
    }

    /// A chart's worth of history, as [`telltale_store::Store::history`] answers it.
    pub async fn history(&self, q: &HistoryQuery) -> Result<History> {
        q.validate()
            .map_err(|e| HistorianError::Address(e.message))?;
        let (id, unit) = self.series(q.device.as_str(), &q.metric).await?;
        let plan = Plan::new(q.from_ms, q.to_ms, i64::from(q.points));
        let mut pieces = Vec::new();
        for ask in plan.asks() {
            match *ask {
                Ask::Raw { from, to } => pieces.extend(
                    self.raw(id, from, to)
                        .await?
                        .iter()
                        .map(|s| (s.ts, Agg::of(s))),
                ),
                Ask::Rollup { level, from, to } => {
                    pieces.extend(self.rollups(id, level, from, to).await?)
                }
            }
        }
        let raw = if plan.wants_raw(&pieces) {
            Some(self.raw(id, q.from_ms, q.to_ms).await?)
        } else {
            None
        };
        let (bucket_ms, buckets) = plan.finish(&pieces, raw.as_deref());
        Ok(History {
            device: q.device.clone(),
            metric: q.metric.clone(),
            unit,
            from_ms: q.from_ms,
            to_ms: q.to_ms,
            bucket_ms,
            buckets,
            from_historian: Vec::new(),
        })
    }

    /// Every raw reading of a series in `[from, to)`, in time order.
    async fn raw(&self, id: i32, from: TimestampMs, to: TimestampMs) -> Result<Vec<Sample>> {
        let mut out = Vec::new();
        self.each_reading(id, from, to, |s| {
            out.push(s);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Calls `f` on every raw reading of a series in `[from, to)`, in time order, one hour in
    /// memory at a time.
    async fn each_reading(
        &self,
        id: i32,
        from: TimestampMs,
        to: TimestampMs,
        mut f: impl FnMut(Sample) -> Result<()>,
    ) -> Result<()> {
        let after = from.saturating_sub(CHUNK_MS);
        let rows = self
            .client
            .query_raw(
                "SELECT start_ms, readings FROM telltale_hours
                 WHERE series = $1 AND start_ms > $2 AND start_ms < $3 AND readings IS NOT NULL
                 ORDER BY start_ms",
                [
                    &id as &(dyn tokio_postgres::types::ToSql + Sync),
                    &after,
                    &to,
                ],
            )
            .await?;
        pin_mut!(rows);
        while let Some(row) = rows.try_next().await? {
            let start: i64 = row.get(0);
            let data: &[u8] = row.get(1);
            for s in chunk::decode(start, data)
                .map_err(|e| HistorianError::Corrupt(format!("series {id}: {e}")))?
            {
                if s.ts >= from && s.ts < to {
                    f(s)?;
                }
            }
        }
        Ok(())
    }

    /// The rollup buckets `level` ms wide starting in `[from, to)` (on that level's grid).
    async fn rollups(
        &self,
        id: i32,
        level: i64,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<(TimestampMs, Agg)>> {
        // Levels finer than a row (an hour, a chunk), minutes and ten minutes, come from each
        // row's packed minutes, folded to the level asked.
        if level < CHUNK_MS {
            let rows = self
                .client
                .query(
                    "SELECT start_ms, minutes FROM telltale_hours
                     WHERE series = $1 AND start_ms >= $2 AND start_ms < $3 AND minutes IS NOT NULL
                     ORDER BY start_ms",
                    &[&id, &chunk::chunk_start(from), &to],
                )
                .await?;
            let mut out: Vec<(TimestampMs, Agg)> = Vec::new();
            for r in rows {
                let start: i64 = r.get(0);
                for (t, agg) in hour::unpack(start, r.get(1))? {
                    let t = t.div_euclid(level) * level;
                    if t < from || t >= to {
                        continue;
                    }
                    match out.last_mut() {
                        Some((last, a)) if *last == t => a.merge(&agg),
                        _ => out.push((t, agg)),
                    }
                }
            }
            return Ok(out);
        }
        let rows = self
            .client
            .query(
                "SELECT start_ms, lo, hi, total, n, first_ts, last_ts FROM telltale_hours
                 WHERE series = $1 AND start_ms >= $2 AND start_ms < $3 ORDER BY start_ms",
                &[&id, &from, &to],
            )
            .await?;
        // Hours are the rows; a day is the fold of its hours, in time order.
        let mut out: Vec<(TimestampMs, Agg)> = Vec::new();
        for r in rows {
            let start: i64 = r.get(0);
            let (sum, count): (f64, i32) = (r.get(3), r.get(4));
            // The hour's first and last values sit in its packed readings, which SQL cannot
            // read cheaply: the hour's mean stands for both.
            let mean = sum / f64::from(count);
            let agg = Agg {
                min: r.get(1),
                max: r.get(2),
                sum,
                count: i64::from(count),
                first_ts: r.get(5),
                last_ts: r.get(6),
                first: mean,
                last: mean,
            };
            let t = start.div_euclid(level) * level;
            match out.last_mut() {
                Some((last, a)) if *last == t => a.merge(&agg),
                _ => out.push((t, agg)),
            }
        }
        Ok(out)
    }

    /// Writes a series' raw readings in `[from, to)` as the local export does (see
    /// [`telltale_store::Store::export_csv`]) and returns how many rows.
    pub async fn export_csv(
        &self,
        key: &SeriesKey,
        from: TimestampMs,
        to: TimestampMs,
        reader: CsvFor,
        out: &mut impl std::io::Write,
    ) -> Result<u64> {
        let (id, _) = self.series(key.device.as_str(), &key.metric).await?;
        let rows_of = CsvRows::new(key, reader)?;
        let io = |e: std::io::Error| {
            HistorianError::Store(telltale_store::StoreError::Io(e.to_string()))
        };
        out.write_all(CsvRows::HEADER).map_err(io)?;
        let mut rows = 0;
        self.each_reading(id, from, to, |s| {
            rows += 1;
            Ok(rows_of.write(out, &s)?)
        })
        .await?;
        out.flush().map_err(io)?;
        Ok(rows)
    }
}

/// What a historian holds, for a *Test connection* answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Census {
    pub devices: i64,
    pub series: i64,
    pub readings: i64,
    /// Databases that shipped into it.
    pub sites: i64,
}

impl Historian {
    /// How much the historian holds.
    pub async fn census(&self) -> Result<Census> {
        let row = self
            .client
            .query_one(
                "SELECT (SELECT count(*) FROM telltale_devices), (SELECT count(*) FROM telltale_series),
                        (SELECT coalesce(sum(n), 0)::int8 FROM telltale_hours), (SELECT count(*) FROM telltale_sites)",
                &[],
            )
            .await?;
        Ok(Census {
            devices: row.get(0),
            series: row.get(1),
            readings: row.get(2),
            sites: row.get(3),
        })
    }

    /// Every raw reading of one series in `[from, to)`, in time order.
    pub async fn readings(
        &self,
        key: &SeriesKey,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<Sample>> {
        let (id, _) = self.series(key.device.as_str(), &key.metric).await?;
        self.raw(id, from, to).await
    }

    /// The unit of a series, if the historian has it (None: it has not).
    pub async fn unit(&self, key: &SeriesKey) -> Result<Option<Option<String>>> {
        match self.series(key.device.as_str(), &key.metric).await {
            Ok((_, unit)) => Ok(Some(unit)),
            Err(HistorianError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The newest reading of every series, by device: what a dashboard card shows of a device
    /// heard only by other sites.
    pub async fn latest(
        &self,
    ) -> Result<Vec<(telltale_model::DeviceId, telltale_model::LatestValue)>> {
        let rows = self
            .client
            .query(
                "SELECT s.device, s.metric, s.unit, h.start_ms, h.readings, h.last_ts, h.total / h.n
                 FROM telltale_series s
                 JOIN LATERAL (SELECT start_ms, readings, last_ts, total, n FROM telltale_hours
                               WHERE series = s.id ORDER BY start_ms DESC LIMIT 1) h ON true",
                &[],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let start: i64 = r.get(3);
            let readings: Option<&[u8]> = r.get(4);
            // The hour's last reading; an hour kept only as a rollup offers its mean.
            let (ts_ms, value) = match readings {
                Some(data) => match chunk::decode(start, data)
                    .map_err(|e| HistorianError::Corrupt(e.to_string()))?
                    .last()
                {
                    Some(s) => (s.ts, s.value),
                    None => continue,
                },
                None => (r.get(5), r.get(6)),
            };
            out.push((
                telltale_model::DeviceId::new(r.get::<_, String>(0)),
                telltale_model::LatestValue {
                    metric: r.get(1),
                    unit: r.get(2),
                    value,
                    ts_ms,
                },
            ));
        }
        Ok(out)
    }
}
