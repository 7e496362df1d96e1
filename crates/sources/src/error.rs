use telltale_model::{ApiError, ErrorCode};
use telltale_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("configuration: {0}")]
    Config(String),
    #[error("MQTT: {0}")]
    Mqtt(String),
    #[error("secret store: {0}")]
    Secret(String),
    #[error("demo fleet: {0}")]
    Demo(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Data a person handed in that cannot be used (a history file that does not parse).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Historian(#[from] telltale_historian::HistorianError),
}

pub type Result<T> = std::result::Result<T, SourceError>;

use telltale_historian::HistorianError;

impl From<SourceError> for ApiError {
    fn from(e: SourceError) -> Self {
        match e {
            SourceError::Store(s) => s.into(),
            SourceError::Config(_)
            | SourceError::Invalid(_)
            | SourceError::Historian(HistorianError::Address(_)) => {
                ApiError::new(ErrorCode::InvalidArgument, e.to_string())
            }
            SourceError::Historian(HistorianError::NotFound(_)) => {
                ApiError::new(ErrorCode::NotFound, e.to_string())
            }
            other => ApiError::new(ErrorCode::Unavailable, other.to_string()),
        }
    }
}
