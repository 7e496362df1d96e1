//! Facts about the database itself. `db_id` tells one database from another when several ship
//! to the same plant historian under one site name (a replaced disk, a copied demo): what the
//! historian remembers as shipped belongs to a database, not to a label.

use crate::error::Result;
use crate::migrate::Migration;
use rusqlite::Connection;

pub static MIGRATIONS: &[Migration] = &[Migration::sql(
    16,
    "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
     INSERT INTO meta VALUES ('db_id', lower(hex(randomblob(16))));",
)];

/// This database's random identity, made when it was created (or upgraded to schema 16).
pub fn db_id(conn: &Connection) -> Result<String> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'db_id'")?
        .query_row([], |r| r.get(0))?)
}
