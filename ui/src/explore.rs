//! Exploring a chart by pointer, the same on a device's page and on the Compare page: one
//! finger (or the mouse) drags to pan, two fingers pinch to zoom and pan, the wheel zooms around
//! the pointer. While a gesture lasts, or while the new window's data is on its way, the picture
//! already drawn follows as a CSS transform (no redraw); the page asks for the new window's data
//! when the gesture ends, and calls [`Explore::drawn`] when it is drawn.

use leptos::ev::{PointerEvent, WheelEvent};
use leptos::prelude::*;
use telltale_chart::Frame;

/// A pointer closer than this to where it went down (CSS px) has not moved: a tap reads the
/// crosshair rather than panning by a pixel.
const STILL_PX: f64 = 4.0;

/// One wheel notch zooms in to this share of the window (out by its inverse).
pub const WHEEL_IN: f64 = 0.8;

/// The wheel counts as turning until this long (ms) after its last notch. Meanwhile a new
/// window's data waits to be drawn: drawing takes most of a frame, and a frame spent on a
/// window the wheel has already left makes the stretch stutter.
const WHEEL_REST_MS: f64 = 40.0;

/// A pointer down on the chart: its id, where it went down and where it is now (canvas CSS px).
type Pointer = (i32, f64, f64);

/// The state of one chart's gestures. Copy: it is a handful of reactive handles.
#[derive(Clone, Copy)]
pub struct Explore {
    /// The window the chart shows now, where a gesture starts.
    window: Callback<(), (i64, i64)>,
    /// Puts the crosshair at a pointer's x (canvas CSS px): a tap or a hover reads the chart.
    point: Callback<f64>,
    /// The pointers down on the chart, at most two, and the window the gesture started on.
    pointers: StoredValue<(Vec<Pointer>, (i64, i64))>,
    /// How much the wheel has zoomed the picture since it was drawn.
    stretched: StoredValue<f64>,
    /// When the wheel last turned (`performance.now()`), and whether a draw waits for it.
    wheeled: StoredValue<(f64, bool)>,
    /// The CSS the canvas wears meanwhile, None when it shows its own drawing as drawn.
    pub preview: RwSignal<Option<String>>,
}

impl Explore {
    pub fn new(window: Callback<(), (i64, i64)>, point: Callback<f64>) -> Self {
        Self {
            window,
            point,
            pointers: StoredValue::new((Vec::new(), (0, 0))),
            stretched: StoredValue::new(1.0),
            wheeled: StoredValue::new((f64::NEG_INFINITY, false)),
            preview: RwSignal::new(None),
        }
    }

    /// A pointer went down on the chart: it reads the chart there, and may start a gesture.
    pub fn down(&self, ev: &PointerEvent) {
        let x = f64::from(ev.offset_x());
        self.point.run(x);
        let window = self.window.run(());
        self.pointers.update_value(|(pointers, w)| {
            // A second finger starts the gesture afresh from where the first one is now.
            for p in pointers.iter_mut() {
                p.1 = p.2;
            }
            if pointers.is_empty() {
                *w = window;
            }
            pointers.retain(|p| p.0 != ev.pointer_id());
            pointers.push((ev.pointer_id(), x, x));
            pointers.truncate(2);
        });
    }

    /// A pointer moved: the picture follows it when it is part of a gesture; the crosshair
    /// does when it merely hovers.
    pub fn moved(&self, ev: &PointerEvent) {
        let x = f64::from(ev.offset_x());
        let mut tracked = false;
        self.pointers.update_value(|(pointers, _)| {
            if let Some(p) = pointers.iter_mut().find(|p| p.0 == ev.pointer_id()) {
                p.2 = x;
                tracked = ev.buttons() != 0;
            }
        });
        if !tracked {
            self.point.run(x);
            return;
        }
        let (pointers, _) = self.pointers.get_value();
        self.preview.set(match pointers.as_slice() {
            [(_, x0, x1)] if (x1 - x0).abs() > STILL_PX => {
                Some(format!("transform: translateX({:.0}px)", x1 - x0))
            }
            [(_, a0, a1), (_, b0, b1)] => {
                let k = (a1 - b1).abs().max(10.0) / (a0 - b0).abs().max(10.0);
                let tx = (a1 + b1) / 2.0 - k * (a0 + b0) / 2.0;
                Some(format!(
                    "transform-origin: 0 0; transform: translateX({tx:.0}px) scaleX({k:.3})"
                ))
            }
            _ => None,
        });
    }

    /// The gesture ended (a pointer lifted, left or was cancelled): the window it ends on,
    /// through `frame` (where the picture it moved was drawn), if it moved at all.
    pub fn ended(&self, frame: Option<&Frame>) -> Option<(i64, i64)> {
        let (pointers, window) = self.pointers.get_value();
        self.pointers.set_value((Vec::new(), (0, 0)));
        self.preview.set(None);
        let moved = pointers.iter().any(|(_, x0, x)| (x - x0).abs() > STILL_PX);
        if !moved {
            return None;
        }
        let start: Vec<f64> = pointers.iter().map(|p| p.1).collect();
        let now: Vec<f64> = pointers.iter().map(|p| p.2).collect();
        Some(telltale_chart::gesture_window(frame?, window, &start, &now))
    }

    /// A wheel notch: the picture stretches around the pointer at the next frame. Returns the
    /// zoom factor for the window and where (CSS px) to zoom around.
    pub fn wheel(&self, ev: &WheelEvent) -> (f64, f64) {
        ev.prevent_default();
        let factor = if ev.delta_y() < 0.0 {
            WHEEL_IN
        } else {
            1.0 / WHEEL_IN
        };
        let x = f64::from(ev.offset_x());
        self.wheeled.update_value(|w| w.0 = now());
        let k = self.stretched.get_value() / factor;
        self.stretched.set_value(k);
        self.preview.set(Some(format!(
            "transform-origin: {x:.0}px 0; transform: scaleX({k:.3})"
        )));
        (factor, x)
    }

    /// Whether a draw should wait because the wheel is still turning. Then `again` runs once
    /// the wheel has rested, and the caller draws nothing now.
    pub fn turning(&self, again: Callback<()>) -> bool {
        let (at, waiting) = self.wheeled.get_value();
        let left = WHEEL_REST_MS - (now() - at);
        if left <= 0.0 {
            return false;
        }
        if !waiting {
            self.wheeled.update_value(|w| w.1 = true);
            let wheeled = self.wheeled;
            set_timeout(
                move || {
                    // None: the chart's page has closed meanwhile.
                    if wheeled.try_update_value(|w| w.1 = false).is_some() {
                        again.run(());
                    }
                },
                std::time::Duration::from_millis(left.ceil() as u64),
            );
        }
        true
    }

    /// The chart was drawn anew: the wheel's stretch gives way to the window's own picture
    /// (a pan or pinch under way keeps its transform).
    pub fn drawn(&self) {
        if self.stretched.get_value() != 1.0 {
            self.stretched.set_value(1.0);
            self.preview.set(None);
        }
    }
}

/// `performance.now()`: milliseconds, finer than `Date.now()` and never set back.
pub fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}
