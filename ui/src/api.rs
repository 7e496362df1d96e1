//! Typed calls into the Tauri shell, through the IPC contract (`telltale_model::ipc`): each
//! call sends a command's argument struct and gets its declared answer. Every failure arrives as
//! an `ApiError`, whether the engine refused (`{code, message}`) or the IPC layer itself did (a
//! bare string).

use serde::de::DeserializeOwned;
use telltale_model::alert::{
    AlertHistoryQuery, AlertId, AlertRecord, AlertsOverview, Forecast, NotificationSettings,
    RuleChange, RulePreview, SeriesAlerts,
};
use telltale_model::ble::{BleDeviceStatus, NearbyDevice, SaveBleDevice};
use telltale_model::broker::{BrokerEntry, SaveBroker};
use telltale_model::historian::{HistorianCheck, HistorianSettings, SaveHistorian};
use telltale_model::ipc::{self, Command};
use telltale_model::upkeep::{FleetRul, ServicePlan, ServiceStatus};
use telltale_model::view::{ChartExport, ChartView};
use telltale_model::{
    ApiError, Dashboard, DeviceId, ErrorCode, ExportRequest, ExportResult, History, HistoryQuery,
    LiveEvent, RetentionSetting,
};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

/// Calls command `C` with `args`.
pub async fn call<C: Command>(args: &C) -> Result<C::Answer, ApiError> {
    let cmd = C::NAME;
    let args = serde_wasm_bindgen::to_value(args)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("encoding {cmd}: {e}")))?;
    invoke_call(cmd, args).await
}

/// `call` with arguments already in JavaScript form (a channel cannot go through serde).
async fn invoke_call<T: DeserializeOwned>(cmd: &str, args: JsValue) -> Result<T, ApiError> {
    match tauri_invoke(cmd, args).await {
        Ok(value) => serde_wasm_bindgen::from_value(value)
            .map_err(|e| ApiError::new(ErrorCode::Internal, format!("decoding {cmd}: {e}"))),
        Err(err) => Err(
            serde_wasm_bindgen::from_value::<ApiError>(err.clone()).unwrap_or_else(|_| {
                ApiError::new(
                    ErrorCode::Internal,
                    err.as_string().unwrap_or_else(|| format!("{cmd} failed")),
                )
            }),
        ),
    }
}

pub async fn dashboard() -> Result<Dashboard, ApiError> {
    call(&ipc::Dashboard {}).await
}

/// Subscribes to what the engine pushes (committed readings, source changes). `on_event` runs
/// for every event for as long as the page lives; a later subscription replaces this one.
pub async fn live(mut on_event: impl FnMut(LiveEvent) + 'static) -> Result<(), ApiError> {
    let js = |what: &'static str| {
        move |e: JsValue| {
            ApiError::new(
                ErrorCode::Internal,
                format!("{what}: {}", e.as_string().unwrap_or_default()),
            )
        }
    };
    // Tauri's own `Channel` (window.__TAURI__.core.Channel): it orders messages and serialises
    // to the `__CHANNEL__:<id>` reference the shell turns into an `ipc::Channel`.
    let core = js_sys::Reflect::get(&js_sys::global(), &"__TAURI__".into())
        .and_then(|t| js_sys::Reflect::get(&t, &"core".into()))
        .and_then(|c| js_sys::Reflect::get(&c, &"Channel".into()))
        .map_err(js("no Tauri channel"))?;
    let channel =
        js_sys::Reflect::construct::<fn() -> JsValue>(core.unchecked_ref(), &js_sys::Array::new())
            .map_err(js("creating a channel"))?;
    let handler = Closure::<dyn FnMut(JsValue)>::new(move |message: JsValue| {
        match serde_wasm_bindgen::from_value::<LiveEvent>(message) {
            Ok(event) => on_event(event),
            Err(e) => web_sys::console::warn_1(&format!("live event not understood: {e}").into()),
        }
    });
    js_sys::Reflect::set(&channel, &"onmessage".into(), handler.as_ref())
        .map_err(js("listening on the channel"))?;
    // The handler lives as long as the page: the shell keeps sending until it is replaced.
    handler.forget();
    let args = js_sys::Object::new();
    js_sys::Reflect::set(&args, &"channel".into(), &channel).map_err(js("channel argument"))?;
    invoke_call(ipc::Live::NAME, args.into()).await
}

pub async fn history(query: &HistoryQuery) -> Result<History, ApiError> {
    let query = query.clone();
    call(&ipc::History { query }).await
}

pub async fn export_csv(request: &ExportRequest) -> Result<ExportResult, ApiError> {
    let request = request.clone();
    call(&ipc::ExportCsv { request }).await
}

pub async fn export_chart(request: &ChartExport) -> Result<ExportResult, ApiError> {
    let request = request.clone();
    call(&ipc::ExportChart { request }).await
}

pub async fn retention(device: &DeviceId, metric: &str) -> Result<RetentionSetting, ApiError> {
    let (device, metric) = (device.clone(), metric.to_owned());
    call(&ipc::Retention { device, metric }).await
}

pub async fn set_retention(
    device: &DeviceId,
    metric: &str,
    setting: RetentionSetting,
) -> Result<(), ApiError> {
    let (device, metric) = (device.clone(), metric.to_owned());
    call(&ipc::SetRetention {
        device,
        metric,
        setting,
    })
    .await
}

pub async fn brokers() -> Result<Vec<BrokerEntry>, ApiError> {
    call(&ipc::Brokers {}).await
}

pub async fn save_broker(request: &SaveBroker) -> Result<(), ApiError> {
    let request = request.clone();
    call(&ipc::SaveBroker { request }).await
}

pub async fn test_broker(
    request: &SaveBroker,
) -> Result<telltale_model::broker::BrokerCheck, ApiError> {
    let request = request.clone();
    call(&ipc::TestBroker { request }).await
}

pub async fn delete_broker(id: &str) -> Result<(), ApiError> {
    call(&ipc::DeleteBroker { id: id.to_owned() }).await
}

pub async fn alerts() -> Result<AlertsOverview, ApiError> {
    call(&ipc::Alerts {}).await
}

pub async fn alert_history(query: &AlertHistoryQuery) -> Result<Vec<AlertRecord>, ApiError> {
    let query = query.clone();
    call(&ipc::AlertHistory { query }).await
}

pub async fn acknowledge_alert(id: &AlertId) -> Result<(), ApiError> {
    call(&ipc::AcknowledgeAlert { id: id.clone() }).await
}

pub async fn shelve_alert(id: &AlertId, minutes: u32) -> Result<(), ApiError> {
    let id = id.clone();
    call(&ipc::ShelveAlert { id, minutes }).await
}

pub async fn unshelve_alert(id: &AlertId) -> Result<(), ApiError> {
    call(&ipc::UnshelveAlert { id: id.clone() }).await
}

pub async fn save_alert_rules(rules: &str) -> Result<(), ApiError> {
    let rules = rules.to_owned();
    call(&ipc::SaveAlertRules { rules }).await
}

pub async fn preview_rule(change: RuleChange) -> Result<RulePreview, ApiError> {
    call(&ipc::PreviewRule { change }).await
}

pub async fn save_rule(change: RuleChange) -> Result<(), ApiError> {
    call(&ipc::SaveRule { change }).await
}

pub async fn delete_rule(id: &str) -> Result<(), ApiError> {
    let id = id.to_owned();
    call(&ipc::DeleteRule { id }).await
}

pub async fn save_notifications(settings: NotificationSettings) -> Result<(), ApiError> {
    call(&ipc::SaveNotifications { settings }).await
}

pub async fn test_notification() -> Result<String, ApiError> {
    call(&ipc::TestNotification {}).await
}

pub async fn forecasts() -> Result<Vec<Forecast>, ApiError> {
    call(&ipc::Forecasts {}).await
}

pub async fn series_alerts(query: &HistoryQuery) -> Result<SeriesAlerts, ApiError> {
    let query = query.clone();
    call(&ipc::SeriesAlerts { query }).await
}

pub async fn set_device_tags(device: &DeviceId, tags: &[String]) -> Result<(), ApiError> {
    let (device, tags) = (device.clone(), tags.to_vec());
    call(&ipc::SetDeviceTags { device, tags }).await
}

pub async fn ble_nearby() -> Result<Vec<NearbyDevice>, ApiError> {
    call(&ipc::BleNearby {}).await
}

pub async fn ble_devices() -> Result<Vec<BleDeviceStatus>, ApiError> {
    call(&ipc::BleDevices {}).await
}

pub async fn save_ble_device(request: &SaveBleDevice) -> Result<(), ApiError> {
    let request = request.clone();
    call(&ipc::SaveBleDevice { request }).await
}

pub async fn remove_ble_device(address: &str, delete_history: bool) -> Result<(), ApiError> {
    let address = address.to_owned();
    call(&ipc::RemoveBleDevice {
        address,
        delete_history,
    })
    .await
}

pub async fn chart_views() -> Result<Vec<ChartView>, ApiError> {
    call(&ipc::ChartViews {}).await
}

pub async fn save_chart_view(view: &ChartView) -> Result<(), ApiError> {
    let view = view.clone();
    call(&ipc::SaveChartView { view }).await
}

pub async fn delete_chart_view(name: &str) -> Result<(), ApiError> {
    call(&ipc::DeleteChartView {
        name: name.to_owned(),
    })
    .await
}

pub async fn service_plans() -> Result<Vec<ServiceStatus>, ApiError> {
    call(&ipc::ServicePlans {}).await
}

pub async fn save_service_plan(plan: &ServicePlan) -> Result<(), ApiError> {
    let plan = plan.clone();
    call(&ipc::SaveServicePlan { plan }).await
}

pub async fn delete_service_plan(id: &str) -> Result<(), ApiError> {
    call(&ipc::DeleteServicePlan { id: id.to_owned() }).await
}

pub async fn mark_serviced(id: &str) -> Result<(), ApiError> {
    call(&ipc::MarkServiced { id: id.to_owned() }).await
}

pub async fn fleet_rul(failed: &str, running: &str) -> Result<FleetRul, ApiError> {
    let (failed, running) = (failed.to_owned(), running.to_owned());
    call(&ipc::FleetRul { failed, running }).await
}

pub async fn historian() -> Result<Option<HistorianSettings>, ApiError> {
    call(&ipc::Historian {}).await
}

pub async fn save_historian(request: &SaveHistorian) -> Result<(), ApiError> {
    call(&ipc::SaveHistorian {
        request: request.clone(),
    })
    .await
}

pub async fn remove_historian() -> Result<(), ApiError> {
    call(&ipc::RemoveHistorian {}).await
}

pub async fn test_historian(request: &SaveHistorian) -> Result<HistorianCheck, ApiError> {
    call(&ipc::TestHistorian {
        request: request.clone(),
    })
    .await
}

pub async fn start_demo() -> Result<(), ApiError> {
    call(&ipc::StartDemo {}).await
}

pub async fn watch(topic: telltale_model::LiveTopic, on: bool) -> Result<bool, ApiError> {
    call(&ipc::Watch { topic, on }).await
}
