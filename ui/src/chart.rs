//! The history chart on a `<canvas>`: telltale-chart's plotters drawing on plotters-canvas.

use plotters::prelude::IntoDrawingArea;
use plotters_canvas::CanvasBackend;
use telltale_chart::{ChartStyle, Frame};
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
    // Drawn at the screen's own density (a phone's 2× or 3×), so lines and text are crisp.
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
        ..ChartStyle::default()
    };
    telltale_chart::draw_with_alerts(&backend.into_drawing_area(), h, alerts, &style)
        .map(|frame| frame.unscaled(scale))
}
