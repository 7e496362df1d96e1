//! IPC commands: take arguments, call the engine, map the error. Nothing else lives here.

use crate::args::{Answer, Args};
use crate::AppState;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime, State};
use telltale_engine::{upkeep, Queries};
use telltale_model::alert::AlertsOverview;
use telltale_model::ipc;
use telltale_model::{ApiError, Device, DeviceId, ErrorCode, LiveEvent, LiveTopic};
use telltale_sources::now_ms;

#[tauri::command]
pub async fn dashboard(
    state: State<'_, AppState>,
    _args: Args<ipc::Dashboard>,
) -> Answer<ipc::Dashboard> {
    let queries = queries(&state)?;
    let mut dashboard = blocking(move || queries.dashboard(now_ms())).await?;
    if let Some(link) = state.engine()?.historian() {
        // Other sites' devices: those this store has not heard.
        dashboard.historian = link
            .devices()
            .into_iter()
            .filter(|h| !dashboard.devices.iter().any(|d| d.device.id == h.device.id))
            .collect();
    }
    crate::LAUNCH.first_dashboard();
    Ok(dashboard)
}

/// The first run's third way in: the demo fleet, started in place.
#[tauri::command]
pub async fn start_demo(
    state: State<'_, AppState>,
    _args: Args<ipc::StartDemo>,
) -> Answer<ipc::StartDemo> {
    state.engine()?.start_demo();
    Ok(())
}

/// The page on screen asks the live stream for a topic, or no longer.
#[tauri::command]
pub async fn watch(state: State<'_, AppState>, args: Args<ipc::Watch>) -> Answer<ipc::Watch> {
    let ipc::Watch { topic, on } = args.0;
    state.watching.send_modify(|w| w.set(topic, on));
    Ok(match topic {
        LiveTopic::Bluetooth => true,
        LiveTopic::Upkeep => state.engine()?.alerts().is_some(),
    })
}

/// Starts pushing committed readings and source changes to `channel` (see `live.rs`), in place
/// of any earlier stream: the window has one page, and a reloaded page asks again.
#[tauri::command]
pub async fn live<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    channel: Channel<LiveEvent>,
) -> Result<(), ApiError> {
    state.engine()?;
    let task = tauri::async_runtime::spawn(crate::live::stream(app.clone(), channel));
    let earlier = state
        .live
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .replace(task);
    if let Some(earlier) = earlier {
        earlier.abort();
    }
    Ok(())
}

#[tauri::command]
pub async fn history(state: State<'_, AppState>, args: Args<ipc::History>) -> Answer<ipc::History> {
    let ipc::History { query } = args.0;
    query.validate()?;
    let queries = queries(&state)?;
    let asked = query.clone();
    let local = blocking(move || queries.history(&asked)).await;
    let Some(link) = state.engine()?.historian() else {
        return local;
    };
    // A series this store does not know may be one only the plant historian holds.
    let local = match local {
        Ok(h) => Some(h),
        Err(e) if e.code == ErrorCode::NotFound => None,
        Err(e) => return Err(e),
    };
    let ingest = state.engine()?.ingest();
    Ok(link.fill(&ingest, &query, local).await?)
}

/// The plant historian the app reads, if one is set.
#[tauri::command]
pub async fn historian(
    state: State<'_, AppState>,
    _args: Args<ipc::Historian>,
) -> Answer<ipc::Historian> {
    Ok(state.engine()?.historian_settings().await?)
}

#[tauri::command]
pub async fn save_historian(
    state: State<'_, AppState>,
    args: Args<ipc::SaveHistorian>,
) -> Answer<ipc::SaveHistorian> {
    let ipc::SaveHistorian { request } = args.0;
    Ok(state.engine()?.save_historian(request, now_ms()).await?)
}

#[tauri::command]
pub async fn remove_historian(
    state: State<'_, AppState>,
    _args: Args<ipc::RemoveHistorian>,
) -> Answer<ipc::RemoveHistorian> {
    Ok(state.engine()?.remove_historian(now_ms()).await?)
}

#[tauri::command]
pub async fn test_historian(
    state: State<'_, AppState>,
    args: Args<ipc::TestHistorian>,
) -> Answer<ipc::TestHistorian> {
    let ipc::TestHistorian { request } = args.0;
    Ok(state.engine()?.test_historian(request).await?)
}

#[tauri::command]
pub async fn device(state: State<'_, AppState>, id: DeviceId) -> Result<Device, ApiError> {
    if id.as_str().is_empty() || id.as_str().len() > 256 {
        return Err(ApiError::invalid("device id must be 1 to 256 characters"));
    }
    let queries = queries(&state)?;
    blocking(move || queries.device(&id)).await
}

/// Saves a series' readings as CSV in the user's Downloads folder (or the app's data folder
/// where there is none, as on phones) and says where.
#[tauri::command]
pub async fn export_csv<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    args: Args<ipc::ExportCsv>,
) -> Answer<ipc::ExportCsv> {
    let ipc::ExportCsv { request } = args.0;
    request.validate()?;
    let dir = export_dir(&app)?;
    let queries = queries(&state)?;
    blocking(move || queries.export_csv(&request, &dir)).await
}

/// Saves a chart as drawn as a PNG or SVG picture, in the same folder as the CSV export.
#[tauri::command]
pub async fn export_chart<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    args: Args<ipc::ExportChart>,
) -> Answer<ipc::ExportChart> {
    let ipc::ExportChart { request } = args.0;
    request.validate()?;
    let dir = export_dir(&app)?;
    let queries = queries(&state)?;
    blocking(move || queries.export_chart(&request, &dir, now_ms())).await
}

/// Where exports go: the user's Downloads folder, or the app's data folder where there is none
/// (as on phones).
fn export_dir<R: Runtime>(app: &AppHandle<R>) -> Result<std::path::PathBuf, ApiError> {
    app.path()
        .download_dir()
        .or_else(|_| app.path().app_data_dir().map(|d| d.join("exports")))
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Unavailable,
                format!("no folder to save into: {e}"),
            )
        })
}

#[tauri::command]
pub async fn retention(
    state: State<'_, AppState>,
    args: Args<ipc::Retention>,
) -> Answer<ipc::Retention> {
    let ipc::Retention { device, metric } = args.0;
    let queries = queries(&state)?;
    blocking(move || queries.retention(&device, &metric)).await
}

#[tauri::command]
pub async fn set_retention(
    state: State<'_, AppState>,
    args: Args<ipc::SetRetention>,
) -> Answer<ipc::SetRetention> {
    let ipc::SetRetention {
        device,
        metric,
        setting,
    } = args.0;
    Ok(state
        .engine()?
        .set_retention(device, metric, setting)
        .await?)
}

/// The brokers configured in the app; whether each has a stored password, never the password.
#[tauri::command]
pub async fn brokers(
    state: State<'_, AppState>,
    _args: Args<ipc::Brokers>,
) -> Answer<ipc::Brokers> {
    Ok(state.engine()?.brokers().await?)
}

/// Saves a broker's settings (its password into the OS keyring) and (re)connects it.
#[tauri::command]
pub async fn save_broker(
    state: State<'_, AppState>,
    args: Args<ipc::SaveBroker>,
) -> Answer<ipc::SaveBroker> {
    let ipc::SaveBroker { request } = args.0;
    Ok(state.engine()?.save_broker(request, now_ms()).await?)
}

/// "Test connection": 5 s of what the broker sends, judged by settings not yet saved.
#[tauri::command]
pub async fn test_broker(
    state: State<'_, AppState>,
    args: Args<ipc::TestBroker>,
) -> Answer<ipc::TestBroker> {
    let ipc::TestBroker { request } = args.0;
    Ok(state.engine()?.test_broker(request).await?)
}

/// Disconnects a broker and forgets its settings and password; its history stays.
#[tauri::command]
pub async fn delete_broker(
    state: State<'_, AppState>,
    args: Args<ipc::DeleteBroker>,
) -> Answer<ipc::DeleteBroker> {
    let ipc::DeleteBroker { id } = args.0;
    Ok(state.engine()?.delete_broker(&id, now_ms()).await?)
}

/// What the Bluetooth scanners heard recently, added or not.
#[tauri::command]
pub async fn ble_nearby(
    state: State<'_, AppState>,
    _args: Args<ipc::BleNearby>,
) -> Answer<ipc::BleNearby> {
    Ok(state.engine()?.nearby(now_ms()))
}

/// The user's BLE devices with their health (never their bindkeys).
#[tauri::command]
pub async fn ble_devices(
    state: State<'_, AppState>,
    _args: Args<ipc::BleDevices>,
) -> Answer<ipc::BleDevices> {
    Ok(state.engine()?.ble_devices())
}

/// Adds, renames or re-keys a BLE device; the bindkey goes to the OS keyring only.
#[tauri::command]
pub async fn save_ble_device(
    state: State<'_, AppState>,
    args: Args<ipc::SaveBleDevice>,
) -> Answer<ipc::SaveBleDevice> {
    let ipc::SaveBleDevice { request } = args.0;
    Ok(state.engine()?.save_ble_device(request, now_ms()).await?)
}

/// Removes a BLE device (its settings and bindkey; its history too when asked).
#[tauri::command]
pub async fn remove_ble_device(
    state: State<'_, AppState>,
    args: Args<ipc::RemoveBleDevice>,
) -> Answer<ipc::RemoveBleDevice> {
    let ipc::RemoveBleDevice {
        address,
        delete_history,
    } = args.0;
    Ok(state
        .engine()?
        .remove_ble_device(&address, delete_history, now_ms())
        .await?)
}

fn alerts_of(state: &State<'_, AppState>) -> Result<telltale_engine::alerting::Alerts, ApiError> {
    state
        .engine()?
        .alerts()
        .ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "the alert engine is not running"))
}

/// The engine's read side, taken out so that no read holds the engine.
fn queries(state: &State<'_, AppState>) -> Result<Queries, ApiError> {
    Ok(state.engine()?.queries())
}

/// Runs blocking work (SQLite, a trend fit, the keyring) on a blocking thread: never on the
/// async workers that carry IPC and the sources.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> telltale_engine::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
        .map_err(ApiError::from)
}

/// Who acknowledges: the signed-in user of this device (recorded with every acknowledgement).
fn operator() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "operator".to_owned())
}

/// Active alerts, the rules in force, and whether evaluation kept up.
#[tauri::command]
pub async fn alerts(state: State<'_, AppState>, _args: Args<ipc::Alerts>) -> Answer<ipc::Alerts> {
    let alerts = alerts_of(&state)?;
    Ok(AlertsOverview {
        active: alerts.active(),
        rules: alerts.rules_text(),
        missed_batches: alerts.missed_batches(),
        rule_kinds: alerts
            .rules()
            .rules
            .iter()
            .map(|r| (r.id.clone(), r.kind))
            .collect(),
        forms: alerts
            .rules()
            .rules
            .iter()
            .map(telltale_alerts::Rule::form)
            .collect(),
        notifications: alerts.notifications(),
    })
}

#[tauri::command]
pub async fn alert_history(
    state: State<'_, AppState>,
    args: Args<ipc::AlertHistory>,
) -> Answer<ipc::AlertHistory> {
    let ipc::AlertHistory { query } = args.0;
    query.validate()?;
    let queries = queries(&state)?;
    blocking(move || queries.alert_history(&query)).await
}

#[tauri::command]
pub async fn acknowledge_alert(
    state: State<'_, AppState>,
    args: Args<ipc::AcknowledgeAlert>,
) -> Answer<ipc::AcknowledgeAlert> {
    let ipc::AcknowledgeAlert { id } = args.0;
    Ok(state.engine()?.acknowledge_alert(&id, &operator()).await?)
}

/// Shelves an alert for `minutes` (1 minute to 7 days): it keeps being recorded, not notified.
#[tauri::command]
pub async fn shelve_alert(
    state: State<'_, AppState>,
    args: Args<ipc::ShelveAlert>,
) -> Answer<ipc::ShelveAlert> {
    let ipc::ShelveAlert { id, minutes } = args.0;
    Ok(state
        .engine()?
        .shelve_alert(&id, minutes, &operator(), now_ms())
        .await?)
}

#[tauri::command]
pub async fn unshelve_alert(
    state: State<'_, AppState>,
    args: Args<ipc::UnshelveAlert>,
) -> Answer<ipc::UnshelveAlert> {
    let ipc::UnshelveAlert { id } = args.0;
    Ok(state.engine()?.unshelve_alert(&id, &operator()).await?)
}

/// Replaces the alert rules (TOML); refused with the reason when they do not validate.
#[tauri::command]
pub async fn save_alert_rules(
    state: State<'_, AppState>,
    args: Args<ipc::SaveAlertRules>,
) -> Answer<ipc::SaveAlertRules> {
    let ipc::SaveAlertRules { rules } = args.0;
    Ok(state.engine()?.save_alert_rules(&rules).await?)
}

/// The week's preview of a rule the form describes: read on a blocking thread.
#[tauri::command]
pub async fn preview_rule(
    state: State<'_, AppState>,
    args: Args<ipc::PreviewRule>,
) -> Answer<ipc::PreviewRule> {
    let ipc::PreviewRule { change } = args.0;
    let rule = state.engine()?.rule_of(&change)?;
    let queries = queries(&state)?;
    blocking(move || queries.preview_rule(&rule, now_ms())).await
}

#[tauri::command]
pub async fn save_rule(
    state: State<'_, AppState>,
    args: Args<ipc::SaveRule>,
) -> Answer<ipc::SaveRule> {
    let ipc::SaveRule { change } = args.0;
    Ok(state.engine()?.save_rule(&change).await?)
}

#[tauri::command]
pub async fn delete_rule(
    state: State<'_, AppState>,
    args: Args<ipc::DeleteRule>,
) -> Answer<ipc::DeleteRule> {
    let ipc::DeleteRule { id } = args.0;
    Ok(state.engine()?.delete_rule(&id).await?)
}

#[tauri::command]
pub async fn save_notifications(
    state: State<'_, AppState>,
    args: Args<ipc::SaveNotifications>,
) -> Answer<ipc::SaveNotifications> {
    let ipc::SaveNotifications { settings } = args.0;
    Ok(state.engine()?.save_notifications(settings).await?)
}

#[tauri::command]
pub async fn test_notification(
    state: State<'_, AppState>,
    _args: Args<ipc::TestNotification>,
) -> Answer<ipc::TestNotification> {
    Ok(state.engine()?.test_notification(now_ms())?)
}

/// When each series under a high/low alert limit will reach it, soonest first.
#[tauri::command]
pub async fn forecasts(
    state: State<'_, AppState>,
    _args: Args<ipc::Forecasts>,
) -> Answer<ipc::Forecasts> {
    let queries = queries(&state)?;
    blocking(move || queries.forecasts(now_ms())).await
}

/// A series' alert limits and active periods over a chart's range.
#[tauri::command]
pub async fn series_alerts(
    state: State<'_, AppState>,
    args: Args<ipc::SeriesAlerts>,
) -> Answer<ipc::SeriesAlerts> {
    let ipc::SeriesAlerts { query } = args.0;
    query.validate()?;
    let queries = queries(&state)?;
    blocking(move || {
        let mut alerts =
            queries.series_alerts(&query.device, &query.metric, query.from_ms, query.to_ms)?;
        alerts.forecasts = queries.chart_forecasts(&query.device, &query.metric, now_ms())?;
        Ok(alerts)
    })
    .await
}

/// Where each service plan stands: counted since its last service, due when at the recent pace.
#[tauri::command]
pub async fn service_plans(
    state: State<'_, AppState>,
    _args: Args<ipc::ServicePlans>,
) -> Answer<ipc::ServicePlans> {
    let queries = queries(&state)?;
    blocking(move || queries.service_plans(now_ms())).await
}

/// The saved comparisons, by name.
#[tauri::command]
pub async fn chart_views(
    state: State<'_, AppState>,
    _args: Args<ipc::ChartViews>,
) -> Answer<ipc::ChartViews> {
    let engine = state.engine()?.clone();
    blocking(move || engine.chart_views()).await
}

/// Saves a comparison under its name.
#[tauri::command]
pub async fn save_chart_view(
    state: State<'_, AppState>,
    args: Args<ipc::SaveChartView>,
) -> Answer<ipc::SaveChartView> {
    let ipc::SaveChartView { view } = args.0;
    Ok(state.engine()?.save_chart_view(view, now_ms()).await?)
}

/// Forgets a saved comparison (its series stay).
#[tauri::command]
pub async fn delete_chart_view(
    state: State<'_, AppState>,
    args: Args<ipc::DeleteChartView>,
) -> Answer<ipc::DeleteChartView> {
    let ipc::DeleteChartView { name } = args.0;
    Ok(state.engine()?.delete_chart_view(&name, now_ms()).await?)
}

/// Adds a service plan, or changes one (its count goes on).
#[tauri::command]
pub async fn save_service_plan(
    state: State<'_, AppState>,
    args: Args<ipc::SaveServicePlan>,
) -> Answer<ipc::SaveServicePlan> {
    let ipc::SaveServicePlan { plan } = args.0;
    Ok(state.engine()?.save_service_plan(plan, now_ms()).await?)
}

/// Removes a service plan with its service history.
#[tauri::command]
pub async fn delete_service_plan(
    state: State<'_, AppState>,
    args: Args<ipc::DeleteServicePlan>,
) -> Answer<ipc::DeleteServicePlan> {
    let ipc::DeleteServicePlan { id } = args.0;
    Ok(state.engine()?.delete_service_plan(&id).await?)
}

/// Records a service done now by the signed-in user: the plan's count starts again.
#[tauri::command]
pub async fn mark_serviced(
    state: State<'_, AppState>,
    args: Args<ipc::MarkServiced>,
) -> Answer<ipc::MarkServiced> {
    let ipc::MarkServiced { id } = args.0;
    Ok(state
        .engine()?
        .mark_serviced(&id, &operator(), now_ms())
        .await?)
}

/// Remaining lives of a fleet's running assets from its failed ones' histories, both as the
/// text of C-MAPSS-layout files the user picked. Fitted off the async workers.
#[tauri::command]
pub async fn fleet_rul(args: Args<ipc::FleetRul>) -> Answer<ipc::FleetRul> {
    let ipc::FleetRul { failed, running } = args.0;
    blocking(move || upkeep::fleet_rul(&failed, &running)).await
}

/// Replaces a device's tags ("freezer", "line-2"), which alert rules can target.
#[tauri::command]
pub async fn set_device_tags(
    state: State<'_, AppState>,
    args: Args<ipc::SetDeviceTags>,
) -> Answer<ipc::SetDeviceTags> {
    let ipc::SetDeviceTags { device, tags } = args.0;
    Ok(state.engine()?.set_device_tags(device, &tags).await?)
}
