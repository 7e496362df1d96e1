use telltale_historian::HistorianError;
use telltale_model::{ApiError, ErrorCode};
use telltale_sources::SourceError;
use telltale_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An adapter that would not start or was refused (see [`SourceError`]).
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("configuration: {0}")]
    Config(String),
    #[error("secret store: {0}")]
    Secret(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Data a person handed in that cannot be used (a history file that does not parse).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Historian(#[from] HistorianError),
    /// A part the use case needs is not running (the alert engine).
    #[error("{0}")]
    Unavailable(String),
    /// Work on a blocking thread that panicked or was cancelled (a bug).
    #[error("internal: {0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, EngineError>;

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Store(s) | EngineError::Source(SourceError::Store(s)) => s.into(),
            EngineError::Config(_)
            | EngineError::Source(SourceError::Config(_))
            | EngineError::Invalid(_)
            | EngineError::Historian(HistorianError::Address(_)) => {
                ApiError::new(ErrorCode::InvalidArgument, e.to_string())
            }
            EngineError::Historian(HistorianError::NotFound(_)) => {
                ApiError::new(ErrorCode::NotFound, e.to_string())
            }
            EngineError::Internal(_) => ApiError::new(ErrorCode::Internal, e.to_string()),
            other => ApiError::new(ErrorCode::Unavailable, other.to_string()),
        }
    }
}
