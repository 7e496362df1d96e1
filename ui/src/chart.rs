//! History charts on a `<canvas>`: telltale-chart's plotters drawing on plotters-canvas.

use plotters::prelude::IntoDrawingArea;
use plotters_canvas::CanvasBackend;
use telltale_chart::{ChartStyle, Compared, Comparison, Frame};
use telltale_model::alert::SeriesAlerts;
use telltale_model::History;
use web_sys::HtmlCanvasElement;

/// Sizes the canvas to its box (so phones get a phone-wide chart) and draws `h` on it; says where
/// the data went (canvas pixels are CSS pixels here), for the crosshair.
pub fn draw(
    canvas: &HtmlCanvasElement,
    h: &History,
    alerts: &SeriesAlerts,
) -> Result<Frame, String> {
    let (backend, style) = fit(canvas)?;
    telltale_chart::draw_with_alerts(&backend.into_drawing_area(), h, alerts, &style)
        .map(|frame| frame.unscaled(style.scale))
}

/// How many buckets to ask for a chart on `canvas`: one per CSS pixel column of its box (the M4
/// idea: each column's first, last, min and max draw what the raw readings would), but at most
/// [`MOST_POINTS`].
pub fn points(canvas: Option<&HtmlCanvasElement>) -> u32 {
    canvas.map_or(MOST_POINTS, |c| {
        (c.client_width().max(100) as u32).min(MOST_POINTS)
    })
}

/// The most buckets a chart asks for, whatever its width: a desktop-wide chart gets a bucket per
/// two columns. Drawing grows with the buckets, and in a software-rendered webview it is most
/// of the time a chart takes: the e2e measured a year drawn in 8 ms from 600 buckets and in
/// 31 ms from 1,400 (a 1,400 px chart), which put choosing "1 y" over its 50 ms budget.
pub const MOST_POINTS: u32 = 600;

/// Sizes the canvas to its box and draws several series on it, one time axis, an axis per unit.
pub fn draw_comparison(
    canvas: &HtmlCanvasElement,
    series: &[Compared<'_>],
) -> Result<Comparison, String> {
    let (backend, style) = fit(canvas)?;
    telltale_chart::draw_comparison(&backend.into_drawing_area(), series, &style)
        .map(|c| c.unscaled(style.scale))
}

/// The canvas at its box's size in the screen's own pixels (a phone's 2× or 3×, so lines and
/// text are crisp), and the style that draws at that density in the viewer's time zone.
fn fit(canvas: &HtmlCanvasElement) -> Result<(CanvasBackend, ChartStyle), String> {
    let scale = web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .filter(|r| r.is_finite() && *r >= 1.0)
        .unwrap_or(1.0)
        .min(4.0);
    let width = (f64::from(canvas.client_width().max(200)) * scale).round() as u32;
    let height = (f64::from(canvas.client_height().max(160)) * scale).round() as u32;
    if canvas.width() != width || canvas.height() != height {
        canvas.set_width(width);
        canvas.set_height(height);
    }
    let backend =
        CanvasBackend::with_canvas_object(canvas.clone()).ok_or("this canvas has no 2D context")?;
    let style = ChartStyle {
        utc_offset_min: crate::format::utc_offset_min(),
        scale,
        ..theme()
    };
    Ok((backend, style))
}

/// The chart's colours for the page's theme: the dark one where the system asks for it, as the
/// page's own CSS does.
pub fn theme() -> ChartStyle {
    let dark = web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|q| q.matches());
    if dark {
        ChartStyle::dark()
    } else {
        ChartStyle::default()
    }
}
