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

/// How long ago, while that reads better than a time: "12 s ago", "5 min ago", "3 h ago"; after a
/// day, the day and time ([`when`]), which stays true as the screen ages.
pub fn ago(then: TimestampMs, now: TimestampMs) -> String {
    match ago_text((now - then).max(0)) {
        Some(text) => text,
        None => when(then, now),
    }
}

fn ago_text(elapsed_ms: i64) -> Option<String> {
    let s = elapsed_ms / 1000;
    match s {
        0..=59 => Some(format!("{s} s ago")),
        60..=3599 => Some(format!("{} min ago", s / 60)),
        3600..=86_399 => Some(format!("{} h ago", s / 3600)),
        _ => None,
    }
}

/// A moment as people say it, relative to `now`: "14:05" today, "yesterday 14:05", "Thu 14:05"
/// within the week either way, "3 Dec 14:05" further off, "3 Dec 2025 14:05" in another year.
pub fn when(t: TimestampMs, now: TimestampMs) -> String {
    let local = |ms: TimestampMs| ms + i64::from(offset_at(ms)) * 60_000;
    when_local(local(t), local(now), false)
}

/// [`when_now`] to the second: for single readings, which a minute does not tell apart.
pub fn when_exact(t: TimestampMs) -> String {
    let local = |ms: TimestampMs| ms + i64::from(offset_at(ms)) * 60_000;
    when_local(local(t), local(js_sys::Date::now() as TimestampMs), true)
}

/// [`when`] against the browser's clock.
pub fn when_now(t: TimestampMs) -> String {
    when(t, js_sys::Date::now() as TimestampMs)
}

/// [`when`] on local times (ms since the epoch, shifted by each moment's own UTC offset).
fn when_local(t: i64, now: i64, seconds: bool) -> String {
    const DAY: i64 = 86_400_000;
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (day, today) = (t.div_euclid(DAY), now.div_euclid(DAY));
    let ms_of_day = t.rem_euclid(DAY);
    let mut time = format!(
        "{:02}:{:02}",
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60
    );
    if seconds {
        time.push_str(&format!(":{:02}", ms_of_day / 1000 % 60));
    }
    let (year, month, date) = telltale_chart::civil_from_days(day);
    let (this_year, _, _) = telltale_chart::civil_from_days(today);
    match day - today {
        0 => time,
        -1 => format!("yesterday {time}"),
        1 => format!("tomorrow {time}"),
        // 1970-01-01 was a Thursday.
        -6..=6 => format!("{} {time}", WEEKDAYS[day.rem_euclid(7) as usize]),
        _ if year == this_year => format!("{date} {} {time}", MONTHS[month as usize - 1]),
        _ => format!("{date} {} {year} {time}", MONTHS[month as usize - 1]),
    }
}

/// A stretch of time in the unit that reads best: "40 s", "12 min", "3.5 h", "6.8 days".
pub fn duration(ms: i64) -> String {
    let s = ms.unsigned_abs() as f64 / 1000.0;
    let one = |v: f64| {
        let text = format!("{v:.1}");
        text.strip_suffix(".0").map(str::to_owned).unwrap_or(text)
    };
    if s < 60.0 {
        format!("{s:.0} s")
    } else if s < 3600.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 48.0 * 3600.0 {
        format!("{} h", one(s / 3600.0))
    } else {
        format!("{} days", one(s / 86_400.0))
    }
}

/// What one point of a chart's line is, in small print: the resolution changes as the window
/// does, from single readings to a day's rollup.
pub fn resolution(h: &telltale_model::History) -> String {
    if h.buckets.is_empty() {
        String::new()
    } else if h.bucket_ms == 0 {
        "Each point: one reading".to_owned()
    } else {
        format!(
            "Each point: {} (mean; the band spans min to max)",
            duration(h.bucket_ms)
        )
    }
}

/// "in 6.8 days" or "3 h ago": a moment as its distance from now.
pub fn relative(t: TimestampMs, now: TimestampMs) -> String {
    if t >= now {
        format!("in {}", duration(t - now))
    } else {
        format!("{} ago", duration(now - t))
    }
}

/// The browser's UTC offset at `t`, in minutes east (daylight saving time included).
fn offset_at(t: TimestampMs) -> i32 {
    #[cfg(target_arch = "wasm32")]
    {
        -(js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(t as f64)).get_timezone_offset()
            as i32)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = t;
        0
    }
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

pub use telltale_model::is_diagnostic;

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;
    /// Thursday 2026-12-03, 10:00 (as local time).
    const NOW: i64 = 1_764_756_000_000 + 365 * DAY;

    #[test]
    fn moments_read_relative_to_today() {
        let at = |days: i64, hh: i64, mm: i64| {
            NOW - NOW.rem_euclid(DAY) + days * DAY + hh * 3_600_000 + mm * 60_000
        };
        assert_eq!(when_local(at(0, 14, 5), NOW, false), "14:05");
        assert_eq!(when_local(at(0, 14, 5) + 7_250, NOW, true), "14:05:07");
        assert_eq!(when_local(at(-1, 23, 59), NOW, false), "yesterday 23:59");
        assert_eq!(when_local(at(1, 9, 0), NOW, false), "tomorrow 09:00");
        assert_eq!(when_local(at(-3, 8, 30), NOW, false), "Mon 08:30");
        assert_eq!(when_local(at(4, 8, 30), NOW, false), "Mon 08:30");
        assert_eq!(when_local(at(-30, 7, 0), NOW, false), "3 Nov 07:00");
        assert_eq!(when_local(at(-400, 7, 0), NOW, false), "29 Oct 2025 07:00");
    }

    #[test]
    fn durations_use_the_unit_that_reads_best() {
        assert_eq!(duration(40_000), "40 s");
        assert_eq!(duration(12 * 60_000), "12 min");
        assert_eq!(duration(3 * 3_600_000 + 1_800_000), "3.5 h");
        assert_eq!(duration(24 * 3_600_000), "24 h");
        assert_eq!(duration(585_985_200), "6.8 days");
        assert_eq!(duration(2 * DAY), "2 days");
        assert_eq!(relative(NOW + 585_985_200, NOW), "in 6.8 days");
        assert_eq!(relative(NOW - 3 * 3_600_000, NOW), "3 h ago");
        assert_eq!(ago_text(5_000).as_deref(), Some("5 s ago"));
        assert_eq!(ago_text(3 * 3_600_000).as_deref(), Some("3 h ago"));
        assert_eq!(ago_text(DAY), None);
    }
}
