//! Storing a series' new samples: merge them into their chunks and fold the new ones into the
//! rollups, all inside the caller's transaction.

use crate::chunk::{self, Sample};
use crate::error::Result;
use crate::rollup::{bucket_start, Agg, LEVELS};
use crate::table;
use rusqlite::Connection;

/// Stores `incoming` samples of one series, each tagged by the caller. Any order and repeats are
/// fine: a time already stored (or repeated within `incoming`) keeps its first value. Returns the
/// tags of the samples that were new, and the newest of them.
pub fn store_series(
    conn: &Connection,
    series: i64,
    incoming: &mut [(Sample, usize)],
) -> Result<(Vec<usize>, Option<Sample>)> {
    // Stable: among equal times the earliest-submitted sample comes first and wins.
    incoming.sort_by_key(|(s, _)| s.ts);
    let mut fresh_tags = Vec::new();
    let mut newest: Option<Sample> = None;
    // The bucket being filled at each level. New samples come in time order (the chunk groups
    // in order, each group's new samples in order), so a bucket is whole once a sample falls
    // past it: one upsert per bucket, no map.
    let mut open: [Option<(i64, Agg)>; LEVELS.len()] = [None; LEVELS.len()];
    let mut i = 0;
    while i < incoming.len() {
        let start = chunk::chunk_start(incoming[i].0.ts);
        let mut j = i;
        let mut group: Vec<Sample> = Vec::new();
        let mut tags: Vec<usize> = Vec::new();
        while j < incoming.len() && chunk::chunk_start(incoming[j].0.ts) == start {
            let (s, tag) = incoming[j];
            if group.last().is_none_or(|last| last.ts != s.ts) {
                group.push(s);
                tags.push(tag);
            }
            j += 1;
        }
        i = j;
        let existing = table::chunks::load(conn, series, start)?;
        let (merged, fresh) = chunk::merge(&existing, &group);
        if fresh.is_empty() {
            continue;
        }
        table::chunks::save(conn, series, start, &merged)?;
        for k in fresh {
            let s = group[k];
            fresh_tags.push(tags[k]);
            if newest.is_none_or(|n| n.ts < s.ts) {
                newest = Some(s);
            }
            let agg = Agg::of(&s);
            for (level, slot) in LEVELS.into_iter().zip(&mut open) {
                let t = bucket_start(s.ts, level);
                match slot {
                    Some((open_t, acc)) if *open_t == t => acc.merge(&agg),
                    _ => {
                        if let Some((done_t, done)) = slot.replace((t, agg)) {
                            table::rollups::add(conn, series, level, done_t, &done)?;
                        }
                    }
                }
            }
        }
    }
    for (level, slot) in LEVELS.into_iter().zip(open) {
        if let Some((t, agg)) = slot {
            table::rollups::add(conn, series, level, t, &agg)?;
        }
    }
    Ok((fresh_tags, newest))
}
