//! Several series on one chart: one time axis, a colour each, and a value axis per unit, so a
//! BLE thermometer's °C and a Sparkplug tag's mm/s share the picture without sharing a scale.
//!
//! Each unit's values are mapped onto the same plotting height (its own range, bottom to top),
//! and its axis is drawn by hand beside the plot in its first series' colour: plotters' own
//! secondary axis stops at two, a comparison may need four.

use crate::{band, gap_threshold, label_decimals, runs, time_label, trace, value_range};
use crate::{ChartStyle, Frame};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use telltale_model::view::MAX_COMPARED;
use telltale_model::{History, TimestampMs};

/// One series on a comparison: its history and what to call it.
#[derive(Debug, Clone, Copy)]
pub struct Compared<'a> {
    pub label: &'a str,
    pub history: &'a History,
}

/// Where a comparison put its data: the plotting area and time span (`frame`, whose value range
/// is the first series'), and each series' own value range, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub frame: Frame,
    pub ranges: Vec<(f64, f64)>,
}

impl Comparison {
    /// The pixel row of series `i`'s value `v`.
    pub fn y_of(&self, i: usize, v: f64) -> f64 {
        let (lo, hi) = self.ranges.get(i).copied().unwrap_or((0.0, 1.0));
        Frame {
            lo,
            hi,
            ..self.frame
        }
        .y_of(v)
    }

    /// The same in pixels `1 / scale` the size (backend pixels to layout pixels).
    pub fn unscaled(&self, scale: f64) -> Comparison {
        Comparison {
            frame: self.frame.unscaled(scale),
            ranges: self.ranges.clone(),
        }
    }
}

/// The colour of the `i`th series: the chart's own line colour first, then colours that stay
/// apart from it and from each other for the common colour-vision deficiencies (Okabe–Ito),
/// each dark enough to read on white and light enough to read on the dark theme's background.
pub fn series_colour(style: &ChartStyle, i: usize) -> RGBColor {
    const OTHERS: [RGBColor; MAX_COMPARED - 1] = [
        RGBColor(213, 94, 0),
        RGBColor(140, 86, 189),
        RGBColor(0, 150, 100),
    ];
    match i {
        0 => style.line,
        i => OTHERS[(i - 1) % OTHERS.len()],
    }
}

/// The value axes: one per unit, in the order the units first appear, with the range that holds
/// every series in that unit. A series with no unit shares an axis only with others without one.
fn axes(series: &[Compared<'_>]) -> (Vec<(String, f64, f64)>, Vec<usize>) {
    let mut units: Vec<String> = Vec::new();
    let mut of_series = Vec::with_capacity(series.len());
    for s in series {
        let unit = s.history.unit.clone().unwrap_or_default();
        let i = units.iter().position(|u| *u == unit).unwrap_or_else(|| {
            units.push(unit);
            units.len() - 1
        });
        of_series.push(i);
    }
    let axes = units
        .into_iter()
        .enumerate()
        .map(|(a, unit)| {
            let buckets: Vec<_> = series
                .iter()
                .zip(&of_series)
                .filter(|(_, &i)| i == a)
                .flat_map(|(s, _)| s.history.buckets.iter().copied())
                .collect();
            let (lo, hi) = value_range(&buckets, std::iter::empty());
            (unit, lo, hi)
        })
        .collect();
    (axes, of_series)
}

/// Round steps for about `n` labels across `lo..hi`: 1, 2 or 5 times a power of ten.
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let raw = (hi - lo) / n.max(1) as f64;
    if !raw.is_finite() || raw <= 0.0 {
        return vec![lo];
    }
    let pow = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * pow)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * pow);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi && out.len() < 50 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

/// Draws up to [`MAX_COMPARED`] series on one time axis (the first series' window), each in its
/// own colour, with a legend above and a value axis per unit: the first and third units on the
/// left, the second and fourth on the right. Aggregated stretches are drawn as on the single
/// chart (band and M4 line); gaps stay gaps. More than four series draws the first four.
pub fn draw_comparison<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    series: &[Compared<'_>],
    style: &ChartStyle,
) -> Result<Comparison, String> {
    crate::fonts();
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let series = &series[..series.len().min(MAX_COMPARED)];
    area.fill(&style.background).map_err(err)?;
    let Some(first) = series.first() else {
        return Err("a comparison needs at least one series".into());
    };
    let (from, to) = (
        first.history.from_ms,
        first.history.to_ms.max(first.history.from_ms + 1),
    );
    let span = to - from;
    let k = if style.scale.is_finite() && style.scale > 0.0 {
        style.scale
    } else {
        1.0
    };
    let px = |n: f64| (n * k).round() as i32;
    let font = |size: f64| ("sans-serif", size * k).into_font();
    let (axes, axis_of) = axes(series);
    let axis_width = 56.0;
    let left_axes = axes.len().div_ceil(2);
    let right_axes = axes.len() / 2;

    // The legend: one entry per series, wrapped into rows that fit the width.
    let (width, _) = area.dim_in_pixel();
    let mut legend: Vec<(i32, i32, usize, String)> = Vec::new();
    let (mut x, mut row) = (px(8.0), 0);
    for (i, s) in series.iter().enumerate() {
        let unit = s
            .history
            .unit
            .as_deref()
            .map(|u| format!(" ({u})"))
            .unwrap_or_default();
        let empty = if s.history.buckets.is_empty() {
            " — no data"
        } else {
            ""
        };
        let text = format!("{}{unit}{empty}", s.label);
        let (w, _) = area
            .estimate_text_size(&text, &font(13.0).into_text_style(area))
            .map_err(err)?;
        let need = px(18.0) + w as i32 + px(16.0);
        if x > px(8.0) && x + need > width as i32 {
            row += 1;
            x = px(8.0);
        }
        legend.push((x, row, i, text));
        x += need;
    }
    let row_h = px(20.0);
    let legend_h = (row + 1) * row_h;

    let mut chart = ChartBuilder::on(area)
        .margin(px(8.0) as u32)
        .margin_top((px(8.0) + legend_h + px(14.0)) as u32)
        .x_label_area_size(px(28.0) as u32)
        .y_label_area_size(px(axis_width) as u32 * left_axes as u32)
        .right_y_label_area_size(px(axis_width) as u32 * right_axes as u32)
        .build_cartesian_2d(from..to, 0.0..1.0)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .light_line_style(style.grid)
        .bold_line_style(style.grid)
        .axis_style(style.foreground)
        .label_style(font(13.0).color(&style.foreground))
        .x_labels(6)
        .x_label_formatter(&|t| time_label(*t, span, style.utc_offset_min))
        .draw()
        .map_err(err)?;
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let (base_x, base_y) = area.get_base_pixel();
    let (left, right, top, bottom) = (
        xs.start - base_x,
        xs.end - base_x,
        ys.start - base_y,
        ys.end - base_y,
    );
    let y_of = |lo: f64, hi: f64, v: f64| {
        let f = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
        bottom - (f64::from(bottom - top) * f).round() as i32
    };

    // The first unit's steps are the grid: one set of lines, not four.
    if let Some((_, lo, hi)) = axes.first() {
        for t in ticks(*lo, *hi, 5) {
            let y = y_of(*lo, *hi, t);
            area.draw(&PathElement::new([(left, y), (right, y)], style.grid))
                .map_err(err)?;
        }
    }
    for (a, (unit, lo, hi)) in axes.iter().enumerate() {
        let colour = series_colour(style, axis_of.iter().position(|&i| i == a).unwrap_or(0));
        let slot = px(axis_width) * (a / 2) as i32;
        let (x, pos) = if a % 2 == 0 {
            (left - slot, Pos::new(HPos::Right, VPos::Center))
        } else {
            (right + slot, Pos::new(HPos::Left, VPos::Center))
        };
        let dir = if a % 2 == 0 { -1 } else { 1 };
        area.draw(&PathElement::new(
            [(x, top), (x, bottom)],
            colour.stroke_width(px(1.0).max(1) as u32),
        ))
        .map_err(err)?;
        let decimals = label_decimals(hi - lo);
        for t in ticks(*lo, *hi, 5) {
            let y = y_of(*lo, *hi, t);
            area.draw(&PathElement::new([(x, y), (x + dir * px(4.0), y)], colour))
                .map_err(err)?;
            area.draw(&Text::new(
                format!("{t:.decimals$}"),
                (x + dir * px(6.0), y),
                font(12.0).color(&colour).pos(pos),
            ))
            .map_err(err)?;
        }
        if !unit.is_empty() {
            let anchor = if a % 2 == 0 { HPos::Right } else { HPos::Left };
            area.draw(&Text::new(
                unit.clone(),
                (x + dir * px(2.0), top - px(4.0)),
                font(12.0)
                    .color(&colour)
                    .pos(Pos::new(anchor, VPos::Bottom)),
            ))
            .map_err(err)?;
        }
    }
    for (x, row, i, text) in &legend {
        let colour = series_colour(style, *i);
        let y = px(8.0) + row * row_h + row_h / 2;
        area.draw(&Rectangle::new(
            [(*x, y - px(2.0)), (*x + px(12.0), y + px(2.0))],
            colour.filled(),
        ))
        .map_err(err)?;
        area.draw(&Text::new(
            text.clone(),
            (*x + px(18.0), y),
            font(13.0)
                .color(&style.foreground)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err)?;
    }

    let mut ranges = Vec::with_capacity(series.len());
    for (i, s) in series.iter().enumerate() {
        let (_, lo, hi) = axes[axis_of[i]];
        ranges.push((lo, hi));
        let h = s.history;
        let colour = series_colour(style, i);
        let norm =
            |(t, v): (TimestampMs, f64)| (t, if hi > lo { (v - lo) / (hi - lo) } else { 0.5 });
        for run in runs(&h.buckets, gap_threshold(h)) {
            if h.bucket_ms > 0 {
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        band(h, run).into_iter().map(norm).collect::<Vec<_>>(),
                        colour.mix(0.14).filled(),
                    )))
                    .map_err(err)?;
            }
            chart
                .draw_series(LineSeries::new(
                    trace(h, run).into_iter().map(norm),
                    colour.stroke_width(px(2.0) as u32),
                ))
                .map_err(err)?;
            if run.len() == 1 && h.bucket_ms <= 0 {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        norm((run[0].t, run[0].mean)),
                        px(3.0) as u32,
                        colour.filled(),
                    )))
                    .map_err(err)?;
            }
        }
    }
    if series.iter().all(|s| s.history.buckets.is_empty()) {
        chart
            .draw_series(std::iter::once(Text::new(
                "no data in this range",
                (from + span / 2, 0.5),
                font(15.0).color(&style.foreground),
            )))
            .map_err(err)?;
    }
    area.present().map_err(err)?;
    let (lo, hi) = ranges[0];
    Ok(Comparison {
        frame: Frame {
            left,
            right,
            top,
            bottom,
            from_ms: from,
            to_ms: to,
            lo,
            hi,
        },
        ranges,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_model::{Bucket, DeviceId};

    fn history(device: &str, metric: &str, unit: Option<&str>, values: &[(i64, f64)]) -> History {
        History {
            device: DeviceId::new(device),
            metric: metric.into(),
            unit: unit.map(str::to_owned),
            from_ms: 0,
            to_ms: 10_000,
            bucket_ms: 0,
            buckets: values
                .iter()
                .map(|&(t, v)| Bucket {
                    t,
                    min: v,
                    max: v,
                    mean: v,
                    count: 1,
                    first: v,
                    last: v,
                })
                .collect(),
            from_historian: Vec::new(),
        }
    }

    fn svg(series: &[Compared<'_>]) -> (String, Comparison) {
        let mut out = String::new();
        let c = {
            let area = SVGBackend::with_string(&mut out, (800, 400)).into_drawing_area();
            draw_comparison(&area, series, &ChartStyle::default()).unwrap()
        };
        (out, c)
    }

    fn colour_hex(c: RGBColor) -> String {
        format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
    }

    #[test]
    fn units_get_their_own_axes_and_series_their_own_colours() {
        let cellar = history(
            "ble:A4",
            "temperature",
            Some("°C"),
            &[(0, 18.0), (5_000, 19.0), (9_000, 21.0)],
        );
        let attic = history(
            "ble:B7",
            "temperature",
            Some("°C"),
            &[(0, 24.0), (9_000, 26.0)],
        );
        let pump = history(
            "plant/pump-02",
            "vibration",
            Some("mm/s"),
            &[(1_000, 2.0), (8_000, 9.0)],
        );
        let series = [
            Compared {
                label: "Cellar temperature",
                history: &cellar,
            },
            Compared {
                label: "Pump vibration",
                history: &pump,
            },
            Compared {
                label: "Attic temperature",
                history: &attic,
            },
        ];
        let (out, c) = svg(&series);
        // Two units, two axes: °C holds both rooms (18..26 padded), mm/s the pump.
        assert_eq!(c.ranges[0], c.ranges[2]);
        assert!(
            c.ranges[0].0 < 18.0 && c.ranges[0].1 > 26.0,
            "{:?}",
            c.ranges
        );
        assert!(c.ranges[1].0 < 2.0 && c.ranges[1].1 > 9.0 && c.ranges[1].1 < 18.0);
        // Each series is drawn in its own colour, and labelled.
        for i in 0..3 {
            assert!(
                out.contains(&colour_hex(series_colour(&ChartStyle::default(), i))),
                "series {i}"
            );
        }
        for label in [
            "Cellar temperature (°C)",
            "Pump vibration (mm/s)",
            "Attic temperature (°C)",
        ] {
            assert!(out.contains(label), "{label}");
        }
        // Both axes are labelled with their units; the mm/s axis sits on the right.
        assert!(
            out.contains("fill=\"#0E7490\">\n°C\n") && out.contains("fill=\"#D55E00\">\nmm/s\n")
        );
        // The highest reading of each series lies at the top of its own axis's range, mapped to
        // the same plotting height: the pump's 9 mm/s is near the top though 9 °C would be off.
        let top_pump = c.y_of(1, 9.0);
        let top_attic = c.y_of(2, 26.0);
        assert!(
            (top_pump - top_attic).abs() < 5.0,
            "{top_pump} vs {top_attic}"
        );
        assert!(c.y_of(0, 18.0) > c.y_of(0, 26.0));
    }

    #[test]
    fn four_units_fit_and_an_empty_series_says_so() {
        let a = history("a", "t", Some("°C"), &[(0, 1.0), (9_000, 2.0)]);
        let b = history("b", "h", Some("%"), &[(0, 40.0), (9_000, 60.0)]);
        let c = history("c", "p", Some("hPa"), &[]);
        let d = history("d", "v", None, &[(0, 0.5)]);
        let series = [
            Compared {
                label: "A",
                history: &a,
            },
            Compared {
                label: "B",
                history: &b,
            },
            Compared {
                label: "C",
                history: &c,
            },
            Compared {
                label: "D",
                history: &d,
            },
        ];
        let (out, cmp) = svg(&series);
        assert_eq!(cmp.ranges.len(), 4);
        assert!(out.contains("C (hPa) — no data"));
        // Two axes a side: the plot is narrowed on both.
        assert!(
            cmp.frame.left > 100 && cmp.frame.right < 700,
            "{:?}",
            cmp.frame
        );
        assert!(!out.contains("no data in this range"));
        let none = history("e", "t", Some("°C"), &[]);
        let (out, _) = svg(&[Compared {
            label: "E",
            history: &none,
        }]);
        assert!(out.contains("no data in this range"));
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(17.3, 26.8, 5), vec![18.0, 20.0, 22.0, 24.0, 26.0]);
        assert_eq!(ticks(1.0, 1.0, 5), vec![1.0]);
        assert!(ticks(-0.3, 0.3, 5).contains(&0.0));
    }
}
