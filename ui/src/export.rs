//! Saving what the screen shows, shared by every page with an export button: what a picture of
//! a drawn chart asks for, and an export whose outcome is said in the page's status line.

use leptos::prelude::*;
use std::future::Future;
use telltale_model::view::{ChartExport, ChartFormat, SeriesRef};
use telltale_model::{ApiError, ExportResult, TimestampMs};
use web_sys::HtmlCanvasElement;

/// A picture of the chart drawn on `canvas`: its series over the window it shows, at the size
/// it is drawn at (its box times the screen's density, as `chart::draw` sizes it, so a phone's
/// picture is as crisp as its screen), within what a picture may be, in the viewer's time.
pub fn picture_of(
    canvas: &HtmlCanvasElement,
    series: Vec<SeriesRef>,
    (from_ms, to_ms): (TimestampMs, TimestampMs),
    format: ChartFormat,
) -> ChartExport {
    let size = |px: u32| px.clamp(ChartExport::MIN_SIZE, ChartExport::MAX_SIZE);
    ChartExport {
        series,
        from_ms,
        to_ms,
        format,
        width: size(canvas.width()),
        height: size(canvas.height()),
        utc_offset_min: crate::format::utc_offset_min(),
    }
}

/// An export that says how it went in `status`: "Exporting…" once asked, then `saved` of its
/// answer or why it failed. Returns what starts one.
pub fn exporter<T, F, Fut>(
    status: RwSignal<Option<String>>,
    saved: fn(&ExportResult) -> String,
    export: F,
) -> impl Fn(T) + Copy + 'static
where
    T: Send + Sync + 'static,
    F: Fn(&T) -> Fut + 'static,
    Fut: Future<Output = Result<ExportResult, ApiError>> + 'static,
{
    let action = Action::new_local(export);
    let done = action.value();
    Effect::new(move |_| {
        let text = match done.get() {
            None => return,
            Some(Ok(r)) => saved(&r),
            Some(Err(e)) => format!("Export failed: {}", e.message),
        };
        status.set(Some(text));
    });
    move |request: T| {
        status.set(Some("Exporting…".into()));
        action.dispatch_local(request);
    }
}
