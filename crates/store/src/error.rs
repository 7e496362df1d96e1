use telltale_model::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the database was written by a newer Telltale (schema {found}, this build knows {supported}); \
         refusing to open it so that nothing in it is damaged"
    )]
    NewerSchema { found: i64, supported: i64 },
    #[error("the database is damaged: {0}")]
    Corrupt(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("the store's writer has stopped")]
    WriterStopped,
    /// The write was rolled back (alone, or with its batch when the database could not take
    /// it before the writer had to stop); nothing of it is stored.
    #[error("not stored: {0}")]
    Failed(String),
    #[error("writing: {0}")]
    Io(String),
    #[error("invalid query: {0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::NotFound(_) => ErrorCode::NotFound,
            StoreError::Invalid(_) => ErrorCode::InvalidArgument,
            StoreError::WriterStopped => ErrorCode::Unavailable,
            StoreError::Failed(_) | StoreError::Io(_) => ErrorCode::Internal,
            StoreError::Sqlite(_) | StoreError::NewerSchema { .. } | StoreError::Corrupt(_) => {
                ErrorCode::Internal
            }
        };
        ApiError::new(code, e.to_string())
    }
}
