//! A dashboard card's sparkline as an SVG path: pure, so it is tested natively.

/// The path of `means` drawn left to right across a `width` × `height` box (y grows down), the
/// lowest mean at the bottom and the highest at the top; a flat series runs through the middle.
/// An hour with no reading breaks the line (a gap stays a gap); a lone hour between gaps is a
/// short stroke. None with fewer than two hours to draw: one hour is not a day at a glance.
pub fn path(means: &[Option<f64>], width: f64, height: f64) -> Option<String> {
    let present = means.iter().flatten().copied();
    let (lo, hi) = present.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() || !hi.is_finite() || means.iter().flatten().count() < 2 {
        return None;
    }
    let step = width / (means.len().max(2) - 1) as f64;
    let y = |v: f64| {
        if hi > lo {
            height - (v - lo) / (hi - lo) * height
        } else {
            height / 2.0
        }
    };
    let mut d = String::new();
    let mut drawing = false;
    for (i, mean) in means.iter().enumerate() {
        let Some(v) = mean else {
            drawing = false;
            continue;
        };
        let x = i as f64 * step;
        let lone = !drawing && means.get(i + 1).is_none_or(Option::is_none);
        if drawing {
            d.push_str(&format!(" L{x:.1} {:.1}", y(*v)));
        } else {
            d.push_str(&format!(
                "{}M{x:.1} {:.1}",
                if d.is_empty() { "" } else { " " },
                y(*v)
            ));
            if lone {
                // A single hour between gaps: a short stroke, so it shows.
                let end = if x + 2.0 <= width { x + 2.0 } else { x - 2.0 };
                d.push_str(&format!(" L{end:.1} {:.1}", y(*v)));
            }
        }
        drawing = true;
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::path;

    #[test]
    fn lines_break_at_gaps_and_scale_to_the_box() {
        assert_eq!(path(&[], 100.0, 20.0), None);
        assert_eq!(path(&[None, None], 100.0, 20.0), None);
        assert_eq!(path(&[None, Some(3.0), None], 100.0, 20.0), None);
        assert_eq!(
            path(
                &[Some(1.0), Some(3.0), None, Some(2.0), Some(2.0)],
                100.0,
                20.0
            )
            .unwrap(),
            "M0.0 20.0 L25.0 0.0 M75.0 10.0 L100.0 10.0"
        );
        // Flat: through the middle; a lone hour still draws.
        assert_eq!(
            path(&[Some(5.0), None, Some(5.0)], 100.0, 20.0).unwrap(),
            "M0.0 10.0 L2.0 10.0 M100.0 10.0 L98.0 10.0"
        );
    }
}
