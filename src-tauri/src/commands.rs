//! IPC commands: take arguments, call the engine, map the error. Nothing else lives here.

use crate::AppState;
use tauri::State;
use telltale_model::{ApiError, Dashboard, Device, DeviceId, History, HistoryQuery};
use telltale_sources::now_ms;

#[tauri::command]
pub async fn dashboard(state: State<'_, AppState>) -> Result<Dashboard, ApiError> {
    state.with_engine(|e| Ok(e.dashboard(now_ms())?))
}

#[tauri::command]
pub async fn history(state: State<'_, AppState>, query: HistoryQuery) -> Result<History, ApiError> {
    query.validate()?;
    state.with_engine(|e| Ok(e.history(&query)?))
}

#[tauri::command]
pub async fn device(state: State<'_, AppState>, id: DeviceId) -> Result<Device, ApiError> {
    if id.as_str().is_empty() || id.as_str().len() > 256 {
        return Err(ApiError::invalid("device id must be 1 to 256 characters"));
    }
    state.with_engine(|e| Ok(e.store().device(&id)?))
}
