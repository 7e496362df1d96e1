//! Pictures of a chart, drawn by the same code as the app's canvas: PNG through plotters'
//! bitmap backend, SVG through its SVG backend (feature `export`).
//!
//! Text in a bitmap needs a font's outlines. Plotters' `ab_glyph` measures and draws text only in
//! fonts registered with it, so this crate bundles one (DejaVu Sans, `fonts/`, licence beside it)
//! and registers it before any chart is drawn: a phone with no font files exports the same
//! picture as a desktop, and an SVG's labels are measured with the font they will most likely be
//! shown in.

use crate::{draw_comparison, draw_with_alerts, ChartStyle, Compared};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::sync::Once;
use telltale_model::alert::SeriesAlerts;
use telltale_model::History;

/// DejaVu Sans 2.37 (Debian's fonts-dejavu-core), under the Bitstream Vera licence with the
/// DejaVu changes in the public domain: `fonts/DejaVuSans-LICENSE`. It covers Latin, Greek and
/// Cyrillic and the signs units use (°, µ, ², ³, ‰).
static DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// Registers the bundled font under every family name a chart asks for. Called before each
/// drawing (cheap after the first), because with this feature on — and cargo turns it on for
/// every native build that has one crate asking for it — plotters cannot even lay out text, in
/// SVG either, without a registered font.
pub(crate) fn register_fonts() {
    static FONTS: Once = Once::new();
    FONTS.call_once(|| {
        for family in ["sans-serif", "serif", "monospace"] {
            // The bytes are a valid font (a test draws text with them); a failure here would
            // only leave text undrawn, and the drawing itself then says so as an error.
            let _ = register_font(family, FontStyle::Normal, DEJAVU_SANS);
        }
    });
}

/// What a picture shows: one series with its alert limits, periods and forecasts (as the device
/// page draws it), or several series compared on one time axis.
#[derive(Debug, Clone, Copy)]
pub enum Picture<'a> {
    One {
        history: &'a History,
        alerts: &'a SeriesAlerts,
    },
    Compared(&'a [Compared<'a>]),
}

impl Picture<'_> {
    /// Draws the picture on any backend, with the same functions the app draws its canvas with.
    pub fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        style: &ChartStyle,
    ) -> Result<(), String> {
        match *self {
            Picture::One { history, alerts } => {
                draw_with_alerts(area, history, alerts, style).map(|_| ())
            }
            Picture::Compared(series) => draw_comparison(area, series, style).map(|_| ()),
        }
    }
}

/// The style scale for a picture `width` pixels wide. A picture is asked for at the size the
/// chart has on screen times the screen's density (`devicePixelRatio`), so a width far beyond
/// any chart's CSS width means a dense screen: text, lines and margins grow in whole steps (2 from
/// 1600 px, 3 from 2400) so the picture looks as the chart did instead of carrying 13 px labels
/// in a 3000 px picture. Whole steps keep 1 px lines on whole pixels.
pub fn scale_for(width: u32) -> f64 {
    f64::from((width / 800).clamp(1, 4))
}

/// The picture as a PNG file's bytes, `width` × `height` pixels.
pub fn png(
    picture: &Picture<'_>,
    style: &ChartStyle,
    (width, height): (u32, u32),
) -> Result<Vec<u8>, String> {
    let size = usize::try_from(u64::from(width) * u64::from(height) * 3)
        .map_err(|_| format!("a {width}×{height} picture is too large"))?;
    let mut rgb = vec![0u8; size];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        picture.draw(&root, style)?;
        root.present().map_err(|e| e.to_string())?;
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&rgb).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// The picture as an SVG document, `width` × `height` pixels.
pub fn svg(
    picture: &Picture<'_>,
    style: &ChartStyle,
    (width, height): (u32, u32),
) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        picture.draw(&root, style)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_model::alert::AlertLimit;

    /// `n` raw readings a second apart, a saw from 20 to 26 °C, in a 100 s window.
    fn history(n: i64) -> History {
        let saw = (0..n).map(|i| crate::tests::bucket(i * 1_000, 20.0 + (i % 7) as f64));
        crate::tests::history(saw.collect(), 0)
    }

    /// Decodes a PNG into its size and RGB pixels.
    fn decode(bytes: &[u8]) -> ((u32, u32), Vec<[u8; 3]>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        let pixels = buf[..info.buffer_size()]
            .chunks_exact(3)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        ((info.width, info.height), pixels)
    }

    fn count(pixels: &[[u8; 3]], c: RGBColor) -> usize {
        pixels.iter().filter(|p| **p == [c.0, c.1, c.2]).count()
    }

    #[test]
    fn a_png_is_the_canvas_chart_at_the_asked_size() {
        let h = history(100);
        let alerts = SeriesAlerts {
            limits: vec![AlertLimit {
                rule: "hot".into(),
                value: 30.0,
            }],
            ..SeriesAlerts::default()
        };
        let style = ChartStyle::default();
        let picture = Picture::One {
            history: &h,
            alerts: &alerts,
        };
        let bytes = png(&picture, &style, (640, 320)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        let (size, pixels) = decode(&bytes);
        assert_eq!(size, (640, 320));
        assert!(count(&pixels, style.background) > pixels.len() / 2);
        // The data line, the alert limit and the text are each drawn in their own colour.
        assert!(count(&pixels, style.line) > 300, "the line");
        assert!(count(&pixels, style.alert) > 100, "the limit");
        assert!(count(&pixels, style.foreground) > 200, "axes and labels");

        // An empty range still makes a picture, which says so: text needs the bundled font.
        let empty = history(0);
        let alone = Picture::One {
            history: &empty,
            alerts: &SeriesAlerts::default(),
        };
        let (_, blank) = decode(&png(&alone, &style, (400, 200)).unwrap());
        let (_, without_text) = {
            // The same chart with its labels in the background colour: what text adds.
            let hidden = ChartStyle {
                foreground: style.background,
                ..style
            };
            decode(&png(&alone, &hidden, (400, 200)).unwrap())
        };
        let inked = |p: &[[u8; 3]]| p.len() - count(p, style.background) - count(p, style.grid);
        assert!(inked(&blank) > inked(&without_text) + 200, "text is drawn");
    }

    #[test]
    fn an_svg_is_the_canvas_chart_as_text() {
        let h = history(50);
        let picture = Picture::One {
            history: &h,
            alerts: &SeriesAlerts::default(),
        };
        let out = svg(&picture, &ChartStyle::default(), (800, 400)).unwrap();
        assert!(out.contains(r#"width="800""#) && out.contains(r#"height="400""#));
        assert!(
            out.contains("<polyline") && out.contains("#0E7490"),
            "the line"
        );
        assert!(out.contains("°C") && out.contains("00:01"), "labels: {out}");
    }

    #[test]
    fn a_comparison_is_drawn_by_draw_comparison_in_both_formats() {
        let cellar = history(100);
        let mut pump = history(100);
        pump.metric = "vibration".into();
        pump.unit = Some("mm/s".into());
        for b in &mut pump.buckets {
            b.mean *= 0.1;
            (b.min, b.max, b.first, b.last) = (b.mean, b.mean, b.mean, b.mean);
        }
        let series = [
            Compared {
                label: "Cellar",
                history: &cellar,
            },
            Compared {
                label: "Pump",
                history: &pump,
            },
        ];
        let picture = Picture::Compared(&series);
        let style = ChartStyle::default();
        let out = svg(&picture, &style, (900, 400)).unwrap();
        assert!(
            out.contains("Cellar (°C)") && out.contains("Pump (mm/s)"),
            "{out}"
        );
        let (size, pixels) = decode(&png(&picture, &style, (900, 400)).unwrap());
        assert_eq!(size, (900, 400));
        for i in 0..2 {
            let colour = crate::series_colour(&style, i);
            assert!(count(&pixels, colour) > 300, "series {i}'s line");
        }
    }

    #[test]
    fn dense_screens_get_larger_type_in_whole_steps() {
        assert_eq!(scale_for(160), 1.0);
        assert_eq!(scale_for(1_599), 1.0);
        assert_eq!(scale_for(1_600), 2.0);
        assert_eq!(scale_for(2_400), 3.0);
        assert_eq!(scale_for(4_096), 4.0);
    }
}
