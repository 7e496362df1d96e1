//! The IPC contract between the UI and the shell, written once: each command's name, the
//! arguments the UI sends (a struct whose fields are the command's arguments) and the answer it
//! gets. Each command's argument struct is named after the command (`save_broker` →
//! `ipc::SaveBroker`), so always write it with its module. The UI calls
//! `api::call(&ipc::History { query })`; the shell's command takes
//! `Args<ipc::History>` and returns `Result<<ipc::History as Command>::Answer, ApiError>`. A
//! renamed field or command no longer compiles on one side and fails at run time on the other.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// One IPC command: its arguments are `Self`, sent as a JSON object of named fields.
pub trait Command: Serialize + DeserializeOwned {
    /// The name the shell registers it under.
    const NAME: &'static str;
    /// What it answers when it succeeds (it fails with an `ApiError`).
    type Answer: Serialize + DeserializeOwned;
}

macro_rules! commands {
    ($(
        $(#[$doc:meta])*
        $command:ident = $name:literal { $($arg:ident: $arg_type:ty),* $(,)? } -> $answer:ty;
    )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
            // Tauri's own convention for argument names, which the wire has always used.
            #[serde(rename_all = "camelCase")]
            pub struct $command {
                $(pub $arg: $arg_type,)*
            }

            impl Command for $command {
                const NAME: &'static str = $name;
                type Answer = $answer;
            }
        )*

        /// Every command's name: the shell registers each, and the main window's capability
        /// grants each (`cargo xtask test` and the shell's tests check both).
        pub const NAMES: &[&str] = &[$($name),*];
    };
}

commands! {
    /// Everything the dashboard draws.
    Dashboard = "dashboard" {} -> crate::Dashboard;
    /// Starts the live stream. Its one argument, a Tauri channel, is made in JavaScript: the UI
    /// builds it by hand (`api::live`) and the shell takes it as Tauri's `Channel`.
    Live = "live" {} -> ();
    /// Starts the built-in demo fleet (a simulated home and plant) now; a no-op when it runs.
    StartDemo = "start_demo" {} -> ();
    /// Asks the live stream for a topic while a page shows it (`on`), or no longer. Answers
    /// whether the stream will push it (maintenance passes need the alert engine running).
    Watch = "watch" { topic: crate::LiveTopic, on: bool } -> bool;
    /// A chart's worth of history.
    History = "history" { query: crate::HistoryQuery } -> crate::History;
    /// Writes a series' readings as CSV into the user's Downloads folder.
    ExportCsv = "export_csv" { request: crate::ExportRequest } -> crate::ExportResult;
    /// Saves a chart as drawn (its series, window and size) as a PNG or SVG picture in the same
    /// folder; `rows` in the answer is how many readings the picture covers.
    ExportChart = "export_chart" { request: crate::view::ChartExport } -> crate::ExportResult;
    /// The saved comparisons, by name.
    ChartViews = "chart_views" {} -> Vec<crate::view::ChartView>;
    /// Saves a comparison under its name (replacing one of the same name).
    SaveChartView = "save_chart_view" { view: crate::view::ChartView } -> ();
    DeleteChartView = "delete_chart_view" { name: String } -> ();
    /// A series' retention setting.
    Retention = "retention" { device: crate::DeviceId, metric: String } -> crate::RetentionSetting;
    SetRetention = "set_retention" {
        device: crate::DeviceId,
        metric: String,
        setting: crate::RetentionSetting,
    } -> ();
    SetDeviceTags = "set_device_tags" { device: crate::DeviceId, tags: Vec<String> } -> ();
    /// The brokers configured in the app (whether each has a password, never the password).
    Brokers = "brokers" {} -> Vec<crate::broker::BrokerEntry>;
    SaveBroker = "save_broker" { request: crate::broker::SaveBroker } -> ();
    /// Listens to a broker for 5 s with settings not yet saved and says what they would store.
    TestBroker = "test_broker" { request: crate::broker::SaveBroker } -> crate::broker::BrokerCheck;
    DeleteBroker = "delete_broker" { id: String } -> ();
    /// The plant historian the app reads, if one is set.
    Historian = "historian" {} -> Option<crate::historian::HistorianSettings>;
    /// Saves the historian's address (its password into the OS keyring).
    SaveHistorian = "save_historian" { request: crate::historian::SaveHistorian } -> ();
    RemoveHistorian = "remove_historian" {} -> ();
    /// Connects to a historian (as given, or with the stored password) and says what it holds.
    TestHistorian = "test_historian" { request: crate::historian::SaveHistorian } -> crate::historian::HistorianCheck;
    BleNearby = "ble_nearby" {} -> Vec<crate::ble::NearbyDevice>;
    BleDevices = "ble_devices" {} -> Vec<crate::ble::BleDeviceStatus>;
    SaveBleDevice = "save_ble_device" { request: crate::ble::SaveBleDevice } -> ();
    RemoveBleDevice = "remove_ble_device" { address: String, delete_history: bool } -> ();
    Alerts = "alerts" {} -> crate::alert::AlertsOverview;
    AlertHistory = "alert_history" { query: crate::alert::AlertHistoryQuery } -> Vec<crate::alert::AlertRecord>;
    AcknowledgeAlert = "acknowledge_alert" { id: crate::alert::AlertId } -> ();
    /// Shelves an alert for `minutes` (1 minute to 7 days).
    ShelveAlert = "shelve_alert" { id: crate::alert::AlertId, minutes: u32 } -> ();
    UnshelveAlert = "unshelve_alert" { id: crate::alert::AlertId } -> ();
    /// Replaces the alert rules (RULES.toml's text).
    SaveAlertRules = "save_alert_rules" { rules: String } -> ();
    /// How a rule the form describes would have done over the last week of stored history.
    PreviewRule = "preview_rule" { change: crate::alert::RuleChange } -> crate::alert::RulePreview;
    /// Saves a rule made or changed by the form (one `[[rule]]` table of the rules' text).
    SaveRule = "save_rule" { change: crate::alert::RuleChange } -> ();
    DeleteRule = "delete_rule" { id: String } -> ();
    /// Sets the quiet hours (or none).
    SaveNotifications = "save_notifications" { settings: crate::alert::NotificationSettings } -> ();
    /// Shows a test notification; answers what alerts do at this hour.
    TestNotification = "test_notification" {} -> String;
    Forecasts = "forecasts" {} -> Vec<crate::alert::Forecast>;
    /// A chart's alert limits, active periods and forecast bands.
    SeriesAlerts = "series_alerts" { query: crate::HistoryQuery } -> crate::alert::SeriesAlerts;
    ServicePlans = "service_plans" {} -> Vec<crate::upkeep::ServiceStatus>;
    SaveServicePlan = "save_service_plan" { plan: crate::upkeep::ServicePlan } -> ();
    DeleteServicePlan = "delete_service_plan" { id: String } -> ();
    MarkServiced = "mark_serviced" { id: String } -> ();
    /// Remaining useful life of running units, learned from failed ones (two history texts).
    FleetRul = "fleet_rul" { failed: String, running: String } -> crate::upkeep::FleetRul;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_arguments_keep_their_wire_names() {
        let mut names = NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), NAMES.len());
        let args = RemoveBleDevice {
            address: "A4:C1:38:00:00:01".into(),
            delete_history: true,
        };
        assert_eq!(
            serde_json::to_value(&args).unwrap(),
            serde_json::json!({"address": "A4:C1:38:00:00:01", "deleteHistory": true})
        );
        assert_eq!(
            serde_json::to_value(Dashboard {}).unwrap(),
            serde_json::json!({})
        );
    }
}
