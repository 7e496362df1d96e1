//! Service plans (runtime counters: "every 500 operating hours or 2,000 starts") and the
//! services done on them. A plan's counter runs from its latest service, or from its creation;
//! the services are kept as history, and go with their plan when it is removed.

use crate::error::Result;
use crate::migrate::Migration;
use rusqlite::{params, Connection, OptionalExtension};
use telltale_model::upkeep::{ServicePlan, ServiceRecord};
use telltale_model::{DeviceId, TimestampMs};

pub static MIGRATIONS: &[Migration] = &[Migration::sql(
    11,
    "CREATE TABLE service_plans (
        id TEXT PRIMARY KEY NOT NULL,
        device TEXT NOT NULL,
        metric TEXT NOT NULL,
        on_above REAL NOT NULL,
        every_hours REAL,
        every_cycles INTEGER,
        created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE services (
        id INTEGER PRIMARY KEY,
        plan TEXT NOT NULL REFERENCES service_plans (id) ON DELETE CASCADE,
        ts_ms INTEGER NOT NULL,
        by TEXT NOT NULL,
        hours REAL NOT NULL,
        cycles INTEGER NOT NULL
    );
    CREATE INDEX services_by_plan ON services (plan, ts_ms);",
)];

/// A plan as stored: the plan and when it was created (where its first count starts).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRow {
    pub plan: ServicePlan,
    pub created_ms: TimestampMs,
}

/// One change to the plans, written through the single writer.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceChange {
    /// Adds a plan, or changes one keeping its count (`now_ms` is its creation time if new).
    Save(ServicePlan, TimestampMs),
    /// Adds a plan unless one with its id exists (the demo's plans, on every start).
    Seed(ServicePlan, TimestampMs),
    Remove(String),
    /// A service done: the plan's count restarts at its `ts_ms`.
    Serviced(ServiceRecord),
}

/// Applies one change; returns false when it names no plan.
pub fn apply(conn: &Connection, change: &ServiceChange) -> Result<bool> {
    Ok(match change {
        ServiceChange::Save(p, now_ms) | ServiceChange::Seed(p, now_ms) => {
            let on_conflict = match change {
                ServiceChange::Seed(..) => "DO NOTHING",
                _ => {
                    "DO UPDATE SET device = excluded.device, metric = excluded.metric,
                    on_above = excluded.on_above, every_hours = excluded.every_hours,
                    every_cycles = excluded.every_cycles"
                }
            };
            conn.prepare_cached(&format!(
                "INSERT INTO service_plans
                    (id, device, metric, on_above, every_hours, every_cycles, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(id) {on_conflict}"
            ))?
            .execute(params![
                p.id,
                p.device.as_str(),
                p.metric,
                p.on_above,
                p.every_hours,
                p.every_cycles.map(|c| i64::try_from(c).unwrap_or(i64::MAX)),
                now_ms
            ])?;
            true
        }
        ServiceChange::Remove(id) => {
            conn.prepare_cached("DELETE FROM service_plans WHERE id = ?1")?
                .execute([id])?
                > 0
        }
        ServiceChange::Serviced(r) => {
            let known = conn
                .prepare_cached("SELECT 1 FROM service_plans WHERE id = ?1")?
                .query_row([&r.plan], |_| Ok(()))
                .optional()?
                .is_some();
            if known {
                conn.prepare_cached(
                    "INSERT INTO services (plan, ts_ms, by, hours, cycles)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    r.plan,
                    r.ts_ms,
                    r.by,
                    r.hours,
                    i64::try_from(r.cycles).unwrap_or(i64::MAX)
                ])?;
            }
            known
        }
    })
}

/// Every plan, by id.
pub fn all(conn: &Connection) -> Result<Vec<PlanRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, device, metric, on_above, every_hours, every_cycles, created_ms
         FROM service_plans ORDER BY id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(PlanRow {
                plan: ServicePlan {
                    id: r.get(0)?,
                    device: DeviceId::new(r.get::<_, String>(1)?),
                    metric: r.get(2)?,
                    on_above: r.get(3)?,
                    every_hours: r.get(4)?,
                    every_cycles: r
                        .get::<_, Option<i64>>(5)?
                        .map(|c| u64::try_from(c).unwrap_or(0)),
                },
                created_ms: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// A plan's services, newest first, at most `limit`.
pub fn services(conn: &Connection, plan: &str, limit: u32) -> Result<Vec<ServiceRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT plan, ts_ms, by, hours, cycles FROM services WHERE plan = ?1
         ORDER BY ts_ms DESC, id DESC LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![plan, limit], |r| {
            Ok(ServiceRecord {
                plan: r.get(0)?,
                ts_ms: r.get(1)?,
                by: r.get(2)?,
                hours: r.get(3)?,
                cycles: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
