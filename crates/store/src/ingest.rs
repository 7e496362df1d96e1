//! Storing a series' new samples: merge them into their chunks and fold the new ones into the
//! rollups, all inside the caller's transaction.

use crate::chunk::{self, Sample};
use crate::error::Result;
use crate::rollup::{bucket_start, Agg, LEVELS};
use crate::table;
use rusqlite::Connection;
use std::collections::HashMap;

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
    let mut rollups: HashMap<(i64, i64), Agg> = HashMap::new();
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
            for level in LEVELS {
                let agg = Agg::of(&s);
                rollups
                    .entry((level, bucket_start(s.ts, level)))
                    .and_modify(|a| a.merge(&agg))
                    .or_insert(agg);
            }
        }
    }
    for ((level, t), agg) in rollups {
        table::rollups::add(conn, series, level, t, &agg)?;
    }
    Ok((fresh_tags, newest))
}
