//! History charts, written once against plotters' `DrawingBackend`: the app draws them on a
//! `<canvas>`, tests and exports draw the same chart into SVG.
//!
//! What the chart promises: raw readings as a line through them; aggregated stretches as a
//! min–max band with the line the raw readings would draw at that width (each bucket's first,
//! min, max and last: the M4 idea); and gaps as gaps — a line never bridges a stretch with no
//! data. A dated
//! forecast is drawn ahead of the data: the fan of trends from the last point to
//! the limit, reached between the interval's ends, labelled with when.

mod compare;

pub use compare::{draw_comparison, series_colour, Compared, Comparison};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use telltale_model::alert::{ChartForecast, SeriesAlerts};
use telltale_model::{Bucket, History, TimestampMs};

#[cfg(feature = "export")]
pub mod export;

/// Makes sure plotters can lay out text before a chart is drawn (see the `export` module's fonts); a
/// no-op without the `export` feature, where SVG and canvas text need no font here.
fn fonts() {
    #[cfg(feature = "export")]
    export::register_fonts();
}

/// Colours and the viewer's clock, which the chart cannot know by itself.
#[derive(Debug, Clone, Copy)]
pub struct ChartStyle {
    pub background: RGBColor,
    pub foreground: RGBColor,
    pub grid: RGBColor,
    pub line: RGBColor,
    /// Alert limits and active periods.
    pub alert: RGBColor,
    /// Projected trends to a limit.
    pub forecast: RGBColor,
    /// Minutes east of UTC for axis labels (the browser knows it; the chart does not).
    pub utc_offset_min: i32,
    /// Backend pixels per layout pixel (a screen's `devicePixelRatio`): text, lines and margins
    /// grow with it, so a canvas drawn at the screen's own density is crisp and sized as at 1×.
    pub scale: f64,
}

impl Default for ChartStyle {
    fn default() -> Self {
        Self {
            background: RGBColor(255, 255, 255),
            foreground: RGBColor(40, 44, 52),
            // Light enough that the data, not the mesh, is what the eye finds.
            grid: RGBColor(238, 240, 243),
            line: RGBColor(14, 116, 144),
            alert: RGBColor(185, 28, 28),
            forecast: RGBColor(180, 83, 9),
            utc_offset_min: 0,
            scale: 1.0,
        }
    }
}

impl ChartStyle {
    /// For a dark page (the app's dark theme: `prefers-color-scheme: dark`): the card's own
    /// background, light text, a grid that stays behind the data, and the line, limit and
    /// forecast colours lightened until each reads at 4.5:1 or more on that background.
    pub fn dark() -> Self {
        Self {
            background: RGBColor(26, 33, 41),
            foreground: RGBColor(230, 233, 236),
            grid: RGBColor(44, 54, 64),
            line: RGBColor(56, 189, 214),
            alert: RGBColor(248, 113, 113),
            forecast: RGBColor(251, 146, 60),
            ..Self::default()
        }
    }
}

/// Splits buckets into runs with no gap inside: a gap is a step longer than `max_step` ms.
pub fn runs(buckets: &[Bucket], max_step: i64) -> Vec<&[Bucket]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..buckets.len() {
        if buckets[i].t - buckets[i - 1].t > max_step {
            out.push(&buckets[start..i]);
            start = i;
        }
    }
    if start < buckets.len() {
        out.push(&buckets[start..]);
    }
    out
}

/// Where each bucket of `run` ends: the next grid line after its start (buckets lie on a grid
/// `bucket_ms` wide; only the first of a history may start off it, at the query's start),
/// never past `to`.
fn bucket_ends<'a>(
    run: &'a [Bucket],
    bucket_ms: i64,
    grid: TimestampMs,
    to: TimestampMs,
) -> impl Iterator<Item = TimestampMs> + 'a {
    run.iter()
        .map(move |b| (b.t + bucket_ms - (b.t - grid).rem_euclid(bucket_ms)).min(to.max(b.t)))
}

/// The points of the line through one run of buckets. Raw readings: each reading. Aggregated
/// buckets: the first reading at the bucket's start, its min and then its max (the order they
/// came in is not kept) at its middle, and its last reading at its end, so at one bucket per
/// pixel column the line covers the same pixels the raw readings would, and between buckets it
/// joins one's last reading to the next one's first, as the readings do.
pub fn trace(h: &History, run: &[Bucket]) -> Vec<(TimestampMs, f64)> {
    if h.bucket_ms <= 0 {
        return run.iter().map(|b| (b.t, b.mean)).collect();
    }
    let mut out = Vec::with_capacity(run.len() * 4);
    for (b, end) in run
        .iter()
        .zip(bucket_ends(run, h.bucket_ms, grid(h), h.to_ms))
    {
        let mid = b.t + (end - b.t) / 2;
        out.extend([(b.t, b.first), (mid, b.min), (mid, b.max), (end, b.last)]);
    }
    out
}

/// The outline of the min–max band of one run of aggregated buckets: each bucket's spread over
/// its whole width.
pub fn band(h: &History, run: &[Bucket]) -> Vec<(TimestampMs, f64)> {
    let ends: Vec<TimestampMs> = bucket_ends(run, h.bucket_ms, grid(h), h.to_ms).collect();
    let upper = run
        .iter()
        .zip(&ends)
        .flat_map(|(b, &end)| [(b.t, b.max), (end, b.max)]);
    let lower = run
        .iter()
        .zip(&ends)
        .rev()
        .flat_map(|(b, &end)| [(end, b.min), (b.t, b.min)]);
    upper.chain(lower).collect()
}

/// A time on the buckets' grid: the second bucket's start (the first may be cut at the query's
/// start), or the first's when it is alone.
fn grid(h: &History) -> TimestampMs {
    h.buckets.get(1).or(h.buckets.first()).map_or(0, |b| b.t)
}

/// The longest step between neighbours that still counts as continuous data. Aggregated data is
/// continuous bucket to bucket; raw readings are judged by their own typical spacing, so a sensor
/// that reports every 2 s is not broken into dots, and one silent for a minute shows a hole.
pub fn gap_threshold(h: &History) -> i64 {
    if h.bucket_ms > 0 {
        return h.bucket_ms * 2;
    }
    let mut steps: Vec<i64> = h.buckets.windows(2).map(|w| w[1].t - w[0].t).collect();
    if steps.is_empty() {
        return i64::MAX;
    }
    steps.sort_unstable();
    let median = steps[steps.len() / 2];
    (median * 5).max(1_000)
}

/// Draws `history` filling `area`. An empty history draws axes and says so.
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    h: &History,
    style: &ChartStyle,
) -> Result<Frame, String> {
    draw_with_alerts(area, h, &SeriesAlerts::default(), style)
}

/// Where a drawn chart put its data: the plotting area in the backend's pixels and the time and
/// value ranges it spans, so a pointer or a cursor over the picture can be turned into a time
/// and a point back into a position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub left: i32,
    pub right: i32,
    pub top: i32,
    pub bottom: i32,
    pub from_ms: TimestampMs,
    pub to_ms: TimestampMs,
    pub lo: f64,
    pub hi: f64,
}

impl Frame {
    /// The time under pixel column `x` (clamped to the plotting area).
    pub fn time_at(&self, x: f64) -> TimestampMs {
        let w = f64::from((self.right - self.left).max(1));
        let f = ((x - f64::from(self.left)) / w).clamp(0.0, 1.0);
        self.from_ms + ((self.to_ms - self.from_ms) as f64 * f).round() as TimestampMs
    }

    /// The pixel column of time `t`.
    pub fn x_of(&self, t: TimestampMs) -> f64 {
        let span = (self.to_ms - self.from_ms).max(1) as f64;
        f64::from(self.left) + f64::from(self.right - self.left) * (t - self.from_ms) as f64 / span
    }

    /// The same frame in pixels `1 / scale` the size (backend pixels to layout pixels).
    pub fn unscaled(&self, scale: f64) -> Frame {
        let k = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        let px = |v: i32| (f64::from(v) / k).round() as i32;
        Frame {
            left: px(self.left),
            right: px(self.right),
            top: px(self.top),
            bottom: px(self.bottom),
            ..*self
        }
    }

    /// The pixel row of value `v`.
    pub fn y_of(&self, v: f64) -> f64 {
        let range = if self.hi > self.lo {
            self.hi - self.lo
        } else {
            1.0
        };
        f64::from(self.bottom) - f64::from(self.bottom - self.top) * (v - self.lo) / range
    }
}

/// The shortest and longest window exploring may reach: 10 s and 20 years.
const SPAN_LIMITS_MS: (f64, f64) = (10_000.0, 20.0 * 365.0 * 86_400_000.0);

/// Where a zoom step leads: `window` scaled by `factor` (below 1 zooms in) around time `around`
/// (clamped into the window), which stays at the same place across it. The span stays between
/// 10 s and 20 years.
pub fn zoom_window(
    window: (TimestampMs, TimestampMs),
    around: TimestampMs,
    factor: f64,
) -> (TimestampMs, TimestampMs) {
    let (from, to) = window;
    let around = around.clamp(from, to);
    let span = ((to - from) as f64 * factor).clamp(SPAN_LIMITS_MS.0, SPAN_LIMITS_MS.1);
    let left = (around - from) as f64 / (to - from).max(1) as f64;
    let new_from = around - (span * left) as TimestampMs;
    (new_from, new_from + span as TimestampMs)
}

/// Where a pan or pinch leads: pointers that were at `start` (pixel columns of `frame`, which
/// drew `window`) are now at `now`. One pointer pans the window with it; two also zoom it, by
/// how much the stretch between them grew, keeping the time under their midpoint under it. The
/// span stays between 10 s and 20 years.
pub fn gesture_window(
    frame: &Frame,
    window: (TimestampMs, TimestampMs),
    start: &[f64],
    now: &[f64],
) -> (TimestampMs, TimestampMs) {
    let (from, to) = window;
    let span = (to - from).max(1) as f64;
    let width = f64::from((frame.right - frame.left).max(1));
    let (mid0, mid1, stretch) = match (start, now) {
        ([a0, b0, ..], [a1, b1, ..]) => {
            let (d0, d1) = ((a0 - b0).abs().max(10.0), (a1 - b1).abs().max(10.0));
            ((a0 + b0) / 2.0, (a1 + b1) / 2.0, d0 / d1)
        }
        ([a0, ..], [a1, ..]) => (*a0, *a1, 1.0),
        _ => return window,
    };
    let new_span = (span * stretch).clamp(SPAN_LIMITS_MS.0, SPAN_LIMITS_MS.1);
    let at = |x: f64| (x - f64::from(frame.left)) / width;
    let anchor = from as f64 + at(mid0) * span;
    let new_from = anchor - at(mid1) * new_span;
    (
        new_from.round() as TimestampMs,
        (new_from + new_span).round() as TimestampMs,
    )
}

/// The index of the bucket whose point lies nearest time `t` (None for no buckets): what a
/// crosshair snaps to.
pub fn nearest(buckets: &[Bucket], t: TimestampMs) -> Option<usize> {
    let i = buckets.partition_point(|b| b.t < t);
    match (i.checked_sub(1), buckets.get(i)) {
        (Some(before), Some(after)) => Some(if t - buckets[before].t <= after.t - t {
            before
        } else {
            i
        }),
        (Some(before), None) => Some(before),
        (None, Some(_)) => Some(i),
        (None, None) => None,
    }
}

/// What a chart shows, in one sentence for people who cannot see it: the range of values, the
/// last one and which way it went. `unit` follows each value.
pub fn summary(h: &History) -> String {
    let unit = h
        .unit
        .as_deref()
        .map(|u| format!(" {u}"))
        .unwrap_or_default();
    let (Some(first), Some(last)) = (h.buckets.first(), h.buckets.last()) else {
        return "No readings in this range.".to_owned();
    };
    let lo = h
        .buckets
        .iter()
        .map(|b| b.min)
        .fold(f64::INFINITY, f64::min);
    let hi = h
        .buckets
        .iter()
        .map(|b| b.max)
        .fold(f64::NEG_INFINITY, f64::max);
    let count: u64 = h.buckets.iter().map(|b| b.count).sum();
    let digits = label_decimals(hi - lo).max(1);
    let v = |x: f64| format!("{x:.digits$}{unit}");
    let change = last.mean - first.mean;
    let trend = if (hi - lo) <= 0.0 || change.abs() < (hi - lo) * 0.1 {
        "about level".to_owned()
    } else if change > 0.0 {
        format!("rising by {}", v(change))
    } else {
        format!("falling by {}", v(-change))
    };
    format!(
        "{count} readings: lowest {}, highest {}, last {}; {trend} over the range.",
        v(lo),
        v(hi),
        v(last.mean)
    )
}

/// Draws `history` with its alert limits (dashed lines, always in view) and the periods its
/// alerts were active (shaded behind the data).
pub fn draw_with_alerts<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    h: &History,
    alerts: &SeriesAlerts,
    style: &ChartStyle,
) -> Result<Frame, String> {
    fonts();
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    area.fill(&style.background).map_err(err)?;
    let (lo, hi) = value_range(
        &h.buckets,
        alerts
            .limits
            .iter()
            .map(|l| l.value)
            .chain(shown(h, &alerts.forecasts).map(|f| f.threshold)),
    );
    let unit = h.unit.as_deref().unwrap_or("");
    let span = h.to_ms - h.from_ms;
    let x_end = time_axis_end(h, &alerts.forecasts);
    let offset = style.utc_offset_min;
    let decimals = label_decimals(hi - lo);
    let k = if style.scale.is_finite() && style.scale > 0.0 {
        style.scale
    } else {
        1.0
    };
    let px = |n: f64| (n * k).round() as u32;
    let font = |size: f64| ("sans-serif", size * k).into_font();
    let mut chart = ChartBuilder::on(area)
        .margin(px(8.0))
        .x_label_area_size(px(28.0))
        .y_label_area_size(px(52.0))
        .build_cartesian_2d(h.from_ms..x_end, lo..hi)
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(style.grid)
        .bold_line_style(style.grid)
        .axis_style(style.foreground)
        .label_style(font(13.0).color(&style.foreground))
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|t| time_label(*t, span, offset))
        .y_label_formatter(&|v| format!("{v:.*}", decimals))
        .y_desc(unit)
        .draw()
        .map_err(err)?;
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let frame = Frame {
        left: xs.start,
        right: xs.end,
        top: ys.start,
        bottom: ys.end,
        from_ms: h.from_ms,
        to_ms: x_end,
        lo,
        hi,
    };

    if h.buckets.is_empty() {
        let center = (h.from_ms + span / 2, (lo + hi) / 2.0);
        chart
            .draw_series(std::iter::once(Text::new(
                "no data in this range",
                center,
                font(15.0).color(&style.foreground),
            )))
            .map_err(err)?;
        area.present().map_err(err)?;
        return Ok(frame);
    }

    let alert = style.alert;
    for p in &alerts.periods {
        let (from, to) = (p.from_ms.max(h.from_ms), p.to_ms.min(h.to_ms));
        if from < to {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(from, lo), (to, hi)],
                    alert.mix(0.12).filled(),
                )))
                .map_err(err)?;
        }
    }
    for l in &alerts.limits {
        chart
            .draw_series(DashedLineSeries::new(
                [(h.from_ms, l.value), (x_end, l.value)],
                px(8.0),
                px(5.0),
                alert.stroke_width(px(2.0)),
            ))
            .map_err(err)?;
    }

    for f in shown(h, &alerts.forecasts) {
        let fan = clip_right(&fan(f), x_end);
        if fan.len() >= 3 {
            chart
                .draw_series(std::iter::once(Polygon::new(
                    fan,
                    style.forecast.mix(0.2).filled(),
                )))
                .map_err(err)?;
        }
        let eta = f.eta_ms.min(x_end);
        let at_eta = if f.eta_ms > f.from_ms {
            f.from_value
                + (f.threshold - f.from_value) * (eta - f.from_ms) as f64
                    / (f.eta_ms - f.from_ms) as f64
        } else {
            f.threshold
        };
        chart
            .draw_series(DashedLineSeries::new(
                [(f.from_ms, f.from_value), (eta, at_eta)],
                px(6.0),
                px(4.0),
                style.forecast.stroke_width(px(2.0)),
            ))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                eta_label(f),
                (eta, f.threshold),
                font(13.0)
                    .color(&style.forecast)
                    .pos(Pos::new(HPos::Right, VPos::Bottom)),
            )))
            .map_err(err)?;
    }

    let fill = style.line.mix(0.22);
    for run in runs(&h.buckets, gap_threshold(h)) {
        if h.bucket_ms > 0 {
            chart
                .draw_series(std::iter::once(Polygon::new(band(h, run), fill.filled())))
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                trace(h, run),
                style.line.stroke_width(px(2.0)),
            ))
            .map_err(err)?;
        if run.len() == 1 && h.bucket_ms <= 0 {
            // A lone reading between gaps would otherwise be invisible.
            let b = run[0];
            chart
                .draw_series(std::iter::once(Circle::new(
                    (b.t, b.mean),
                    px(3.0),
                    style.line.filled(),
                )))
                .map_err(err)?;
        }
    }
    area.present().map_err(err)?;
    Ok(frame)
}

/// Where the time axis ends: the query's end, or further to show a forecast reaching its limit,
/// but never more than the shown span further (a date years ahead would squash the data).
pub fn time_axis_end(h: &History, forecasts: &[ChartForecast]) -> TimestampMs {
    let span = (h.to_ms - h.from_ms).max(1);
    shown(h, forecasts)
        .map(|f| f.high_ms.min(h.to_ms.saturating_add(span)))
        .fold(h.to_ms, TimestampMs::max)
}

/// The forecasts that start inside the shown range: a chart of last year shows no projection
/// from today.
fn shown<'a>(
    h: &'a History,
    forecasts: &'a [ChartForecast],
) -> impl Iterator<Item = &'a ChartForecast> + Clone + 'a {
    forecasts
        .iter()
        .filter(|f| (h.from_ms..=h.to_ms).contains(&f.from_ms))
}

/// The fan of trends a forecast allows: from the last point to the limit, reached between the
/// interval's ends.
pub fn fan(f: &ChartForecast) -> Vec<(TimestampMs, f64)> {
    vec![
        (f.from_ms, f.from_value),
        (f.low_ms, f.threshold),
        (f.high_ms, f.threshold),
    ]
}

/// `polygon` cut at `x = x_max`: the part at or left of it (Sutherland–Hodgman on one edge).
pub fn clip_right(polygon: &[(TimestampMs, f64)], x_max: TimestampMs) -> Vec<(TimestampMs, f64)> {
    let mut out = Vec::with_capacity(polygon.len() + 2);
    for (i, &a) in polygon.iter().enumerate() {
        let b = polygon[(i + 1) % polygon.len()];
        let (a_in, b_in) = (a.0 <= x_max, b.0 <= x_max);
        if a_in {
            out.push(a);
        }
        if a_in != b_in {
            let t = (x_max - a.0) as f64 / (b.0 - a.0) as f64;
            out.push((x_max, a.1 + (b.1 - a.1) * t));
        }
    }
    out
}

/// "limit in 12–19 h": the forecast's interval, counted from its last point.
pub fn eta_label(f: &ChartForecast) -> String {
    let (low, high) = (f.low_ms - f.from_ms, f.high_ms - f.from_ms);
    if f.high_ms <= f.from_ms {
        return "at the limit".to_owned();
    }
    let (unit, per) = if high >= 2 * 86_400_000 {
        ("days", 86_400_000.0)
    } else if high >= 2 * 3_600_000 {
        ("h", 3_600_000.0)
    } else {
        ("min", 60_000.0)
    };
    let n = |ms: i64| (ms.max(0) as f64 / per).round();
    if n(low) == n(high) {
        format!("limit in {} {unit}", n(high))
    } else {
        format!("limit in {}–{} {unit}", n(low), n(high))
    }
}

/// The value axis: the data's extent (and the alert limits, so they are always in view) with a
/// margin, never a zero-height range.
fn value_range(buckets: &[Bucket], limits: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let lo = buckets
        .iter()
        .map(|b| b.min)
        .chain(limits.clone())
        .fold(f64::INFINITY, f64::min);
    let hi = buckets
        .iter()
        .map(|b| b.max)
        .chain(limits)
        .fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(hi.abs().max(1.0) * 0.01);
    (lo - pad, hi + pad)
}

/// Enough decimals that six labels across `range` read as six different numbers.
pub fn label_decimals(range: f64) -> usize {
    let step = range / 6.0;
    if !step.is_finite() || step <= 0.0 {
        return 1;
    }
    (-step.log10().floor()).clamp(0.0, 6.0) as usize
}

/// `HH:MM` for spans within a day, `DD.MM HH:MM` beyond, in the viewer's local time.
pub fn time_label(t: TimestampMs, span_ms: i64, utc_offset_min: i32) -> String {
    let local = t + i64::from(utc_offset_min) * 60_000;
    let days = local.div_euclid(86_400_000);
    let ms_of_day = local.rem_euclid(86_400_000);
    let (h, m) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60);
    if span_ms <= 86_400_000 {
        format!("{h:02}:{m:02}")
    } else {
        let (_, month, day) = civil_from_days(days);
        format!("{day:02}.{month:02} {h:02}:{m:02}")
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use telltale_model::alert::ChartForecast;
    use telltale_model::DeviceId;

    /// WCAG's contrast ratio of two colours.
    fn contrast(a: RGBColor, b: RGBColor) -> f64 {
        let lum = |c: RGBColor| {
            let ch = |v: u8| {
                let v = f64::from(v) / 255.0;
                if v <= 0.039_28 {
                    v / 12.92
                } else {
                    ((v + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * ch(c.0) + 0.7152 * ch(c.1) + 0.0722 * ch(c.2)
        };
        let (x, y) = (lum(a), lum(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    #[test]
    fn every_colour_reads_on_its_background_in_both_themes() {
        for style in [ChartStyle::default(), ChartStyle::dark()] {
            assert!(contrast(style.foreground, style.background) >= 7.0);
            for (what, c) in [("limit", style.alert), ("forecast", style.forecast)] {
                assert!(
                    contrast(c, style.background) >= 3.0,
                    "{what} on {:?}",
                    style.background
                );
            }
            for i in 0..telltale_model::view::MAX_COMPARED {
                let c = series_colour(&style, i);
                assert!(
                    contrast(c, style.background) >= 3.0,
                    "series {i} {c:?} on {:?}: {:.2}",
                    style.background,
                    contrast(c, style.background)
                );
            }
            // The grid is there, but quieter than anything drawn on it.
            let grid = contrast(style.grid, style.background);
            assert!(grid > 1.05 && grid < 1.6, "grid {grid:.2}");
        }
    }

    pub(crate) fn bucket(t: i64, v: f64) -> Bucket {
        Bucket {
            t,
            min: v - 1.0,
            max: v + 1.0,
            mean: v,
            count: 1,
            first: v,
            last: v,
        }
    }

    pub(crate) fn history(buckets: Vec<Bucket>, bucket_ms: i64) -> History {
        History {
            device: DeviceId::new("ble:A"),
            metric: "temperature".into(),
            unit: Some("°C".into()),
            from_ms: 0,
            to_ms: 100_000,
            bucket_ms,
            buckets,
            from_historian: Vec::new(),
        }
    }

    fn svg(h: &History) -> String {
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, (640, 320)).into_drawing_area();
            draw(&root, h, &ChartStyle::default()).unwrap();
        }
        out
    }

    #[test]
    fn alert_limits_are_in_view_and_periods_shaded() {
        use telltale_model::alert::{AlertLimit, AlertPeriod, SeriesAlerts};
        let h = history(
            (0..10)
                .map(|i| bucket(i * 1_000, 1.0 + i as f64 * 0.1))
                .collect(),
            0,
        );
        let plain = svg(&h);
        let alerts = SeriesAlerts {
            limits: vec![AlertLimit {
                rule: "hot".into(),
                value: 5.0,
            }],
            periods: vec![AlertPeriod {
                rule: "hot".into(),
                from_ms: 3_000,
                to_ms: 6_000,
            }],
            forecasts: Vec::new(),
        };
        let mut drawn = String::new();
        {
            let root = SVGBackend::with_string(&mut drawn, (640, 320)).into_drawing_area();
            draw_with_alerts(&root, &h, &alerts, &ChartStyle::default()).unwrap();
        }
        let red = "#B91C1C";
        assert!(!plain.contains(red), "no alerts, no alert colour");
        // Dashes of the limit line plus the shaded period.
        assert!(
            drawn.matches(red).count() >= 5,
            "{}",
            drawn.matches(red).count()
        );
        // The axis grew to show a limit far above the data.
        assert!(drawn.contains("\n4.0\n") && !plain.contains("\n4.0\n"));
    }

    fn forecast(from_ms: i64, low_ms: i64, eta_ms: i64, high_ms: i64) -> ChartForecast {
        ChartForecast {
            rule: "wear".into(),
            threshold: 5.0,
            from_ms,
            from_value: 2.0,
            eta_ms,
            low_ms,
            high_ms,
        }
    }

    #[test]
    fn forecast_fan_clipping_and_labels() {
        let h = 3_600_000;
        let f = forecast(0, 12 * h, 15 * h, 19 * h);
        assert_eq!(fan(&f), vec![(0, 2.0), (12 * h, 5.0), (19 * h, 5.0)]);
        #[rustfmt::skip]
        let clips: &[(i64, Vec<(i64, f64)>)] = &[
            (20 * h, vec![(0, 2.0), (12 * h, 5.0), (19 * h, 5.0)]),
            // Cut between the interval's ends: the limit line stops at the edge.
            (16 * h, vec![(0, 2.0), (12 * h, 5.0), (16 * h, 5.0), (16 * h, 2.0 + 3.0 * 16.0 / 19.0)]),
            // Cut before either end: a sliver of the fan.
            (6 * h, vec![(0, 2.0), (6 * h, 3.5), (6 * h, 2.0 + 3.0 * 6.0 / 19.0)]),
        ];
        for (x_max, want) in clips {
            let got = clip_right(&fan(&f), *x_max);
            assert_eq!(got.len(), want.len(), "{x_max}: {got:?}");
            for (g, w) in got.iter().zip(want) {
                assert!(g.0 == w.0 && (g.1 - w.1).abs() < 1e-9, "{x_max}: {got:?}");
            }
        }
        #[rustfmt::skip]
        let labels = [
            (forecast(0, 12 * h, 15 * h, 19 * h), "limit in 12–19 h"),
            (forecast(0, 3 * 86_400_000, 4 * 86_400_000, 6 * 86_400_000), "limit in 3–6 days"),
            (forecast(0, 20 * 60_000, 30 * 60_000, 40 * 60_000), "limit in 20–40 min"),
            (forecast(0, 0, 0, 0), "at the limit"),
        ];
        for (f, want) in labels {
            assert_eq!(eta_label(&f), want);
        }
    }

    #[test]
    fn forecast_band_is_drawn_ahead_of_the_data_and_only_when_dated() {
        let h = history((0..10).map(|i| bucket(i * 10_000, 1.0)).collect(), 0);
        let plain = svg(&h);
        let alerts = SeriesAlerts {
            forecasts: vec![forecast(90_000, 120_000, 150_000, 400_000)],
            ..SeriesAlerts::default()
        };
        // The axis reaches past the data to show the band, at most one span further.
        assert_eq!(time_axis_end(&h, &alerts.forecasts), 200_000);
        assert_eq!(time_axis_end(&h, &[]), 100_000);
        let from_elsewhere = [forecast(500_000, 600_000, 700_000, 800_000)];
        assert_eq!(
            time_axis_end(&h, &from_elsewhere),
            100_000,
            "not in range, not shown"
        );
        let mut drawn = String::new();
        {
            let root = SVGBackend::with_string(&mut drawn, (640, 320)).into_drawing_area();
            draw_with_alerts(&root, &h, &alerts, &ChartStyle::default()).unwrap();
        }
        let amber = "#B45309";
        assert!(!plain.contains(amber), "no forecast, nothing drawn");
        assert!(drawn.contains(amber) && drawn.contains("<polygon"));
        assert!(drawn.contains("limit in"), "labelled");
    }

    #[test]
    fn gaps_split_the_line() {
        let b: Vec<Bucket> = [0, 1_000, 2_000, 60_000, 61_000]
            .iter()
            .map(|&t| bucket(t, 1.0))
            .collect();
        let r = runs(&b, 5_000);
        assert_eq!(r.iter().map(|r| r.len()).collect::<Vec<_>>(), vec![3, 2]);
        assert!(runs(&[], 5_000).is_empty());
    }

    #[test]
    fn raw_gap_threshold_follows_the_sensor_cadence() {
        let every_2s: Vec<Bucket> = (0..20).map(|i| bucket(i * 2_000, 1.0)).collect();
        assert_eq!(gap_threshold(&history(every_2s, 0)), 10_000);
        assert_eq!(gap_threshold(&history(vec![], 5_000)), 10_000);
    }

    #[test]
    fn a_gap_draws_two_lines_and_a_band_per_run() {
        let mut b: Vec<Bucket> = (0..10).map(|i| bucket(i * 5_000, i as f64)).collect();
        b.extend((15..20).map(|i| bucket(i * 5_000, i as f64)));
        let out = svg(&history(b, 5_000));
        // The data line is the only thing drawn in the line colour (#0E7490); the mesh is grey.
        let lines = out
            .lines()
            .filter(|l| l.contains("<polyline") && l.contains("#0E7490"));
        assert_eq!(lines.count(), 2, "one line per run:\n{out}");
        assert_eq!(
            out.matches("<polygon").count(),
            2,
            "one min-max band per run"
        );
        assert!(out.contains("°C"));
    }

    #[test]
    fn an_aggregated_bucket_is_drawn_through_first_min_max_last_and_raw_readings_as_they_are() {
        let b = |t, first, min, max, last| Bucket {
            t,
            min,
            max,
            mean: (min + max) / 2.0,
            count: 100,
            first,
            last,
        };
        // The first bucket is cut at the query's start (5); the grid runs every 10 from 10.
        let mut h = history(
            vec![b(5, 2.0, 1.0, 4.0, 3.0), b(10, 3.5, 0.0, 9.0, 8.0)],
            10,
        );
        h.from_ms = 5;
        h.to_ms = 17;
        assert_eq!(
            trace(&h, &h.buckets),
            vec![
                (5, 2.0),
                (7, 1.0),
                (7, 4.0),
                (10, 3.0),
                (10, 3.5),
                (13, 0.0),
                (13, 9.0),
                (17, 8.0),
            ],
            "first, min, max, last of each bucket, the second ending at the query's end"
        );
        assert_eq!(
            band(&h, &h.buckets),
            vec![
                (5, 4.0),
                (10, 4.0),
                (10, 9.0),
                (17, 9.0),
                (17, 0.0),
                (10, 0.0),
                (10, 1.0),
                (5, 1.0),
            ],
            "the band spans each bucket's min to max over its width"
        );
        let raw = history(vec![bucket(0, 1.0), bucket(1_000, 2.0)], 0);
        assert_eq!(trace(&raw, &raw.buckets), vec![(0, 1.0), (1_000, 2.0)]);
    }

    #[test]
    fn empty_history_says_so() {
        let out = svg(&history(vec![], 0));
        assert!(out.contains("no data in this range"));
    }

    #[test]
    fn value_labels_keep_neighbours_apart() {
        assert_eq!(label_decimals(0.3), 2);
        assert_eq!(label_decimals(3.0), 1);
        assert_eq!(label_decimals(60.0), 0);
        assert_eq!(label_decimals(6_000.0), 0);
        assert_eq!(label_decimals(0.0), 1);
        for range in [0.05, 0.3, 2.0, 47.0, 1_000.0] {
            let d = label_decimals(range);
            let labels: Vec<String> = (0..6)
                .map(|i| format!("{:.*}", d, 6.2 + range * i as f64 / 6.0))
                .collect();
            let mut unique = labels.clone();
            unique.dedup();
            assert_eq!(unique, labels, "range {range}");
        }
    }

    #[test]
    fn labels_in_local_time() {
        // 2023-11-14 22:13:20 UTC.
        let t = 1_700_000_000_000;
        assert_eq!(time_label(t, 3_600_000, 0), "22:13");
        assert_eq!(time_label(t, 3_600_000, 120), "00:13");
        assert_eq!(time_label(t, 7 * 86_400_000, 120), "15.11 00:13");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn a_crosshair_snaps_to_the_nearest_point_and_the_frame_maps_both_ways() {
        let buckets: Vec<Bucket> = [0, 1000, 5000, 9000]
            .iter()
            .map(|&t| bucket(t, 1.0))
            .collect();
        assert_eq!(nearest(&buckets, -50), Some(0));
        assert_eq!(nearest(&buckets, 2900), Some(1));
        assert_eq!(nearest(&buckets, 3100), Some(2));
        assert_eq!(nearest(&buckets, 99_999), Some(3));
        assert_eq!(nearest(&[], 5), None);
        let h = history(buckets, 0);
        let mut svg = String::new();
        let frame = {
            let root = SVGBackend::with_string(&mut svg, (600, 300)).into_drawing_area();
            draw(&root, &h, &ChartStyle::default()).unwrap()
        };
        assert!(frame.left > 0 && frame.right < 600 && frame.top >= 0 && frame.bottom < 300);
        assert_eq!((frame.from_ms, frame.to_ms), (h.from_ms, h.to_ms));
        for t in [0, 25_000, 100_000] {
            assert!((frame.time_at(frame.x_of(t)) - t).abs() <= 200, "{t}");
        }
        assert_eq!(frame.time_at(-10.0), h.from_ms, "clamped to the plot");
        assert!(
            frame.y_of(frame.hi) < frame.y_of(frame.lo),
            "up is higher values"
        );
    }

    #[test]
    fn the_summary_says_range_last_and_trend() {
        let rising = history(
            (0..10).map(|i| bucket(i * 1000, 20.0 + i as f64)).collect(),
            0,
        );
        let text = summary(&rising);
        assert!(text.starts_with("10 readings: lowest 19.0 °C"), "{text}");
        assert!(
            text.contains("last 29.0 °C") && text.contains("rising by 9.0 °C"),
            "{text}"
        );
        let flat = history(
            (0..10)
                .map(|i| bucket(i * 1000, 5.0 + (i % 2) as f64 * 0.01))
                .collect(),
            0,
        );
        assert!(summary(&flat).contains("about level"), "{}", summary(&flat));
        assert_eq!(summary(&history(vec![], 0)), "No readings in this range.");
    }

    #[test]
    fn a_denser_screen_gets_the_same_chart_at_its_own_density() {
        let h = history(
            (0..10).map(|i| bucket(i * 1000, 20.0 + i as f64)).collect(),
            0,
        );
        let frame_at = |scale: f64, size: (u32, u32)| {
            let mut svg = String::new();
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            let style = ChartStyle {
                scale,
                ..ChartStyle::default()
            };
            draw(&root, &h, &style).unwrap()
        };
        let one = frame_at(1.0, (600, 300));
        let two = frame_at(2.0, (1200, 600)).unscaled(2.0);
        for (a, b) in [
            (one.left, two.left),
            (one.right, two.right),
            (one.top, two.top),
            (one.bottom, two.bottom),
        ] {
            assert!((a - b).abs() <= 1, "{one:?} vs {two:?}");
        }
    }

    #[test]
    fn a_drag_pans_and_a_pinch_zooms_around_the_fingers() {
        let frame = Frame {
            left: 100,
            right: 1100,
            top: 0,
            bottom: 100,
            from_ms: 0,
            to_ms: 1_000_000,
            lo: 0.0,
            hi: 1.0,
        };
        let window = (0, 1_000_000);
        // Dragged 100 px right: a tenth of the span earlier.
        assert_eq!(
            gesture_window(&frame, window, &[600.0], &[700.0]),
            (-100_000, 900_000)
        );
        // Fingers spread to twice their distance around the middle: half the span, same middle.
        assert_eq!(
            gesture_window(&frame, window, &[500.0, 700.0], &[400.0, 800.0]),
            (250_000, 750_000)
        );
        // Pinched together and moved: the time under the midpoint follows the midpoint.
        let (a, b) = gesture_window(&frame, window, &[500.0, 700.0], &[650.0, 750.0]);
        assert_eq!(b - a, 2_000_000);
        let under = |x: f64, (a, b): (i64, i64)| a as f64 + (x - 100.0) / 1000.0 * (b - a) as f64;
        assert!((under(700.0, (a, b)) - under(600.0, window)).abs() < 1.0);
        assert_eq!(gesture_window(&frame, window, &[], &[]), window);
    }

    #[test]
    fn a_zoom_step_keeps_its_anchor_in_place_within_the_limits() {
        let window = (0, 1_000_000);
        // In by 0.8 around 750 s: that moment stays three quarters along.
        assert_eq!(zoom_window(window, 750_000, 0.8), (150_000, 950_000));
        // Out around the start: the window grows to the right.
        assert_eq!(zoom_window(window, 0, 1.25), (0, 1_250_000));
        // An anchor outside the window is taken at its edge.
        assert_eq!(zoom_window(window, 5_000_000, 0.5), (500_000, 1_000_000));
        // Never under 10 s, never over 20 years.
        let (a, b) = zoom_window((0, 12_000), 6_000, 0.1);
        assert_eq!(b - a, 10_000);
        let year = 365 * 86_400_000;
        let (a, b) = zoom_window((0, 19 * year), 0, 2.0);
        assert_eq!(b - a, 20 * year);
    }
}
