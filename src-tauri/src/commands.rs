//! IPC commands: take arguments, call the engine, map the error. Nothing else lives here.

use crate::AppState;
use tauri::{AppHandle, Manager, Runtime, State};
use telltale_model::{
    ApiError, Dashboard, Device, DeviceId, ErrorCode, ExportRequest, ExportResult, History,
    HistoryQuery, RetentionSetting,
};
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

/// Saves a series' readings as CSV in the user's Downloads folder (or the app's data folder
/// where there is none, as on phones) and says where.
#[tauri::command]
pub async fn export_csv<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    request: ExportRequest,
) -> Result<ExportResult, ApiError> {
    request.validate()?;
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| app.path().app_data_dir().map(|d| d.join("exports")))
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Unavailable,
                format!("no folder to save into: {e}"),
            )
        })?;
    state.with_engine(|e| Ok(e.export_csv(&request, &dir)?))
}

#[tauri::command]
pub async fn retention(
    state: State<'_, AppState>,
    device: DeviceId,
    metric: String,
) -> Result<RetentionSetting, ApiError> {
    state.with_engine(|e| Ok(e.retention(&device, &metric)?))
}

#[tauri::command]
pub async fn set_retention(
    state: State<'_, AppState>,
    device: DeviceId,
    metric: String,
    setting: RetentionSetting,
) -> Result<(), ApiError> {
    setting.validate()?;
    let ingest = state.with_engine(|e| Ok(e.ingest()))?;
    Ok(telltale_sources::set_retention(&ingest, device, metric, setting).await?)
}
