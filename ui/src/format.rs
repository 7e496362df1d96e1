//! How numbers and times read on screen.

use telltale_model::TimestampMs;

/// Enough digits to see change, not so many that noise looks like precision.
pub fn value(v: f64) -> String {
    let a = v.abs();
    if v.fract() == 0.0 && a < 1e9 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

pub fn with_unit(v: f64, unit: Option<&str>) -> String {
    match unit {
        Some(u) if !u.is_empty() => format!("{} {u}", value(v)),
        _ => value(v),
    }
}

/// "3 s ago" while recent; beyond an hour the clock time, which stays true as the screen ages.
pub fn ago(then: TimestampMs, now: TimestampMs) -> String {
    let s = (now - then).max(0) / 1000;
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        _ => format!("at {}", clock(then)),
    }
}

/// Local wall-clock time, `HH:MM`.
pub fn clock(t: TimestampMs) -> String {
    telltale_chart::time_label(t, 0, utc_offset_min())
}

/// `YYYY-MM-DDTHH:MM` in local time, as `<input type="datetime-local">` wants it.
pub fn local_input(t: TimestampMs) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(t as f64));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}

/// The inverse of `local_input`; None for an empty or malformed value.
pub fn parse_local_input(text: &str) -> Option<TimestampMs> {
    if text.is_empty() {
        return None;
    }
    // Without a zone designator, JavaScript reads a date-time as local time.
    let ms = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(text)).get_time();
    ms.is_finite().then_some(ms as TimestampMs)
}

/// Minutes east of UTC, from the browser.
pub fn utc_offset_min() -> i32 {
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}

/// Metric names as people read them.
pub fn metric_label(metric: &str) -> String {
    let label = match metric {
        "pm25" => "PM2.5",
        "pm10" => "PM10",
        "carbon_dioxide" => "CO₂",
        "rssi" => "Signal",
        "rr_interval" => "RR interval",
        other => return capitalise(&other.replace('_', " ")),
    };
    label.to_owned()
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Diagnostic series that belong on the device page, not on a dashboard card.
pub fn is_diagnostic(metric: &str) -> bool {
    matches!(
        metric,
        "rssi"
            | "measurement_sequence"
            | "movement_counter"
            | "tx_power"
            | "sensor_contact"
            | "rr_interval"
            | "packet_id"
    ) || metric.starts_with("acceleration_")
}
