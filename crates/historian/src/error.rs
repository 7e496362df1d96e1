use thiserror::Error;

#[derive(Debug, Error)]
pub enum HistorianError {
    /// The historian's address is not usable as given (never echoes a password).
    #[error("historian address: {0}")]
    Address(String),
    /// The server asked for a password and none was given or stored.
    #[error("the historian asks for a password: store it with `telltale secret set --historian URL` (read from stdin)")]
    NeedsPassword,
    #[error("cannot reach the historian: {0}")]
    Connect(String),
    #[error("historian: {0}")]
    Postgres(String),
    #[error("{0}")]
    NotFound(String),
    #[error("historian data: {0}")]
    Corrupt(String),
    #[error("local store: {0}")]
    Store(#[from] telltale_store::StoreError),
}

impl From<tokio_postgres::Error> for HistorianError {
    fn from(e: tokio_postgres::Error) -> Self {
        // The database's own message (constraint, permission) says more than the driver's
        // summary "db error".
        match e.as_db_error() {
            Some(db) => {
                HistorianError::Postgres(format!("{} ({})", db.message(), db.code().code()))
            }
            None => HistorianError::Postgres(e.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, HistorianError>;
