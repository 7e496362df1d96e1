//! Typed calls into the Tauri shell. Every failure arrives as an `ApiError`, whether the engine
//! refused (`{code, message}`) or the IPC layer itself did (a bare string).

use serde::{de::DeserializeOwned, Serialize};
use telltale_model::alert::{
    AlertHistoryQuery, AlertId, AlertRecord, AlertsOverview, MaintenanceForecast, SeriesAlerts,
};
use telltale_model::ble::{BleDeviceStatus, NearbyDevice, SaveBleDevice};
use telltale_model::broker::{BrokerEntry, SaveBroker};
use telltale_model::upkeep::{FleetRul, ServicePlan, ServiceStatus};
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

async fn call<A: Serialize, T: DeserializeOwned>(cmd: &str, args: &A) -> Result<T, ApiError> {
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

#[derive(Serialize)]
struct NoArgs {}

#[derive(Serialize)]
struct QueryArgs<'a> {
    query: &'a HistoryQuery,
}

pub async fn dashboard() -> Result<Dashboard, ApiError> {
    call("dashboard", &NoArgs {}).await
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
    invoke_call("live", args.into()).await
}

pub async fn history(query: &HistoryQuery) -> Result<History, ApiError> {
    call("history", &QueryArgs { query }).await
}

#[derive(Serialize)]
struct ExportArgs<'a> {
    request: &'a ExportRequest,
}

#[derive(Serialize)]
struct SeriesArgs<'a> {
    device: &'a DeviceId,
    metric: &'a str,
}

#[derive(Serialize)]
struct RetentionArgs<'a> {
    device: &'a DeviceId,
    metric: &'a str,
    setting: RetentionSetting,
}

pub async fn export_csv(request: &ExportRequest) -> Result<ExportResult, ApiError> {
    call("export_csv", &ExportArgs { request }).await
}

pub async fn retention(device: &DeviceId, metric: &str) -> Result<RetentionSetting, ApiError> {
    call("retention", &SeriesArgs { device, metric }).await
}

pub async fn set_retention(
    device: &DeviceId,
    metric: &str,
    setting: RetentionSetting,
) -> Result<(), ApiError> {
    call(
        "set_retention",
        &RetentionArgs {
            device,
            metric,
            setting,
        },
    )
    .await
}

pub async fn brokers() -> Result<Vec<BrokerEntry>, ApiError> {
    call("brokers", &NoArgs {}).await
}

#[derive(Serialize)]
struct SaveBrokerArgs<'a> {
    request: &'a SaveBroker,
}

pub async fn save_broker(request: &SaveBroker) -> Result<(), ApiError> {
    call("save_broker", &SaveBrokerArgs { request }).await
}

#[derive(Serialize)]
struct IdArgs<'a> {
    id: &'a str,
}

pub async fn delete_broker(id: &str) -> Result<(), ApiError> {
    call("delete_broker", &IdArgs { id }).await
}

pub async fn alerts() -> Result<AlertsOverview, ApiError> {
    call("alerts", &NoArgs {}).await
}

#[derive(Serialize)]
struct AlertHistoryArgs<'a> {
    query: &'a AlertHistoryQuery,
}

pub async fn alert_history(query: &AlertHistoryQuery) -> Result<Vec<AlertRecord>, ApiError> {
    call("alert_history", &AlertHistoryArgs { query }).await
}

#[derive(Serialize)]
struct AlertArgs<'a> {
    id: &'a AlertId,
}

#[derive(Serialize)]
struct ShelveArgs<'a> {
    id: &'a AlertId,
    minutes: u32,
}

#[derive(Serialize)]
struct RulesArgs<'a> {
    rules: &'a str,
}

pub async fn acknowledge_alert(id: &AlertId) -> Result<(), ApiError> {
    call("acknowledge_alert", &AlertArgs { id }).await
}

pub async fn shelve_alert(id: &AlertId, minutes: u32) -> Result<(), ApiError> {
    call("shelve_alert", &ShelveArgs { id, minutes }).await
}

pub async fn unshelve_alert(id: &AlertId) -> Result<(), ApiError> {
    call("unshelve_alert", &AlertArgs { id }).await
}

pub async fn save_alert_rules(rules: &str) -> Result<(), ApiError> {
    call("save_alert_rules", &RulesArgs { rules }).await
}

pub async fn maintenance() -> Result<Vec<MaintenanceForecast>, ApiError> {
    call("maintenance", &NoArgs {}).await
}

pub async fn series_alerts(query: &HistoryQuery) -> Result<SeriesAlerts, ApiError> {
    call("series_alerts", &QueryArgs { query }).await
}

#[derive(Serialize)]
struct TagsArgs<'a> {
    device: &'a DeviceId,
    tags: &'a [String],
}

pub async fn set_device_tags(device: &DeviceId, tags: &[String]) -> Result<(), ApiError> {
    call("set_device_tags", &TagsArgs { device, tags }).await
}

pub async fn ble_nearby() -> Result<Vec<NearbyDevice>, ApiError> {
    call("ble_nearby", &NoArgs {}).await
}

pub async fn ble_devices() -> Result<Vec<BleDeviceStatus>, ApiError> {
    call("ble_devices", &NoArgs {}).await
}

#[derive(Serialize)]
struct SaveBleArgs<'a> {
    request: &'a SaveBleDevice,
}

pub async fn save_ble_device(request: &SaveBleDevice) -> Result<(), ApiError> {
    call("save_ble_device", &SaveBleArgs { request }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RemoveBleArgs<'a> {
    address: &'a str,
    delete_history: bool,
}

pub async fn remove_ble_device(address: &str, delete_history: bool) -> Result<(), ApiError> {
    call(
        "remove_ble_device",
        &RemoveBleArgs {
            address,
            delete_history,
        },
    )
    .await
}

pub async fn service_plans() -> Result<Vec<ServiceStatus>, ApiError> {
    call("service_plans", &NoArgs {}).await
}

#[derive(Serialize)]
struct PlanArgs<'a> {
    plan: &'a ServicePlan,
}

#[derive(Serialize)]
struct PlanIdArgs<'a> {
    id: &'a str,
}

pub async fn save_service_plan(plan: &ServicePlan) -> Result<(), ApiError> {
    call("save_service_plan", &PlanArgs { plan }).await
}

pub async fn delete_service_plan(id: &str) -> Result<(), ApiError> {
    call("delete_service_plan", &PlanIdArgs { id }).await
}

pub async fn mark_serviced(id: &str) -> Result<(), ApiError> {
    call("mark_serviced", &PlanIdArgs { id }).await
}

#[derive(Serialize)]
struct FleetArgs<'a> {
    failed: &'a str,
    running: &'a str,
}

pub async fn fleet_rul(failed: &str, running: &str) -> Result<FleetRul, ApiError> {
    call("fleet_rul", &FleetArgs { failed, running }).await
}
