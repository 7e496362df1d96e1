//! Charts of several series (a comparison), saved under a name as a view, and charts exported as
//! pictures.

use crate::{ApiError, DeviceId, HistoryQuery, TimestampMs};
use serde::{Deserialize, Serialize};

/// The most series one chart compares: more lines than this are read by nobody.
pub const MAX_COMPARED: usize = 4;
/// The longest name a saved view may have.
pub const MAX_VIEW_NAME: usize = 80;
/// The most views one store keeps (each is a few hundred bytes; the list is for people).
pub const MAX_VIEWS: usize = 200;

/// One series, from any device and any source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SeriesRef {
    pub device: DeviceId,
    pub metric: String,
}

impl SeriesRef {
    pub fn validate(&self) -> Result<(), ApiError> {
        self.query(0, 1, 1).validate()
    }

    /// A history query for this series.
    pub fn query(&self, from_ms: TimestampMs, to_ms: TimestampMs, points: u32) -> HistoryQuery {
        HistoryQuery {
            device: self.device.clone(),
            metric: self.metric.clone(),
            from_ms,
            to_ms,
            points,
        }
    }
}

/// Which stretch of time a view shows: the last so-many ms (following the clock), or a fixed
/// window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ViewRange {
    Last {
        ms: i64,
    },
    Between {
        from_ms: TimestampMs,
        to_ms: TimestampMs,
    },
}

impl ViewRange {
    pub fn bounds(self, now_ms: TimestampMs) -> (TimestampMs, TimestampMs) {
        match self {
            ViewRange::Last { ms } => (now_ms - ms, now_ms + 1),
            ViewRange::Between { from_ms, to_ms } => (from_ms, to_ms),
        }
    }

    pub fn validate(self) -> Result<(), ApiError> {
        const MAX_SPAN: i64 = 20 * 366 * 86_400_000;
        match self {
            ViewRange::Last { ms } if (10_000..=MAX_SPAN).contains(&ms) => Ok(()),
            ViewRange::Last { ms } => Err(ApiError::invalid(format!(
                "a view's range must be 10 s to 20 years long; got {ms} ms"
            ))),
            ViewRange::Between { from_ms, to_ms } => SeriesRef {
                device: DeviceId::new("-"),
                metric: "-".into(),
            }
            .query(from_ms, to_ms, 1)
            .validate(),
        }
    }
}

/// A comparison saved under a name: up to [`MAX_COMPARED`] series on one time axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartView {
    pub name: String,
    pub series: Vec<SeriesRef>,
    pub range: ViewRange,
}

impl ChartView {
    pub fn validate(&self) -> Result<(), ApiError> {
        let name = self.name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_VIEW_NAME
            || name.chars().any(char::is_control)
        {
            return Err(ApiError::invalid(format!(
                "a view's name must be 1 to {MAX_VIEW_NAME} printable characters"
            )));
        }
        validate_series(&self.series)?;
        self.range.validate()
    }
}

/// One to [`MAX_COMPARED`] series, none twice.
pub fn validate_series(series: &[SeriesRef]) -> Result<(), ApiError> {
    if series.is_empty() || series.len() > MAX_COMPARED {
        return Err(ApiError::invalid(format!(
            "a chart shows 1 to {MAX_COMPARED} series; got {}",
            series.len()
        )));
    }
    for (i, s) in series.iter().enumerate() {
        s.validate()?;
        if series[..i].contains(s) {
            return Err(ApiError::invalid(format!(
                "{} {} is on the chart twice",
                s.device.as_str(),
                s.metric
            )));
        }
    }
    Ok(())
}

/// The picture formats a chart exports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartFormat {
    Png,
    Svg,
}

/// A request to save the chart as shown (its series and window) as a picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartExport {
    pub series: Vec<SeriesRef>,
    pub from_ms: TimestampMs,
    pub to_ms: TimestampMs,
    pub format: ChartFormat,
    /// The picture's size in pixels.
    pub width: u32,
    pub height: u32,
    /// Minutes east of UTC for the time labels (the viewer's, as on screen).
    pub utc_offset_min: i32,
}

impl ChartExport {
    pub const MIN_SIZE: u32 = 160;
    pub const MAX_SIZE: u32 = 4_096;

    pub fn validate(&self) -> Result<(), ApiError> {
        validate_series(&self.series)?;
        self.series[0]
            .query(self.from_ms, self.to_ms, 1)
            .validate()?;
        let size = Self::MIN_SIZE..=Self::MAX_SIZE;
        if !size.contains(&self.width) || !size.contains(&self.height) {
            return Err(ApiError::invalid(format!(
                "a picture is {} to {} pixels each way; got {}×{}",
                Self::MIN_SIZE,
                Self::MAX_SIZE,
                self.width,
                self.height
            )));
        }
        if self.utc_offset_min.abs() > 18 * 60 {
            return Err(ApiError::invalid("a UTC offset is at most ±18 h"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(device: &str, metric: &str) -> SeriesRef {
        SeriesRef {
            device: DeviceId::new(device),
            metric: metric.into(),
        }
    }

    #[test]
    fn views_refuse_what_no_chart_can_show() {
        let good = ChartView {
            name: "Cellar and pump".into(),
            series: vec![s("cellar", "temperature"), s("pump-02", "vibration")],
            range: ViewRange::Last { ms: 86_400_000 },
        };
        assert!(good.validate().is_ok());
        let bad = |f: &dyn Fn(&mut ChartView)| {
            let mut v = good.clone();
            f(&mut v);
            v.validate().unwrap_err().message
        };
        assert!(bad(&|v| v.name = "  ".into()).contains("name"));
        assert!(bad(&|v| v.name = "x".repeat(81)).contains("name"));
        assert!(bad(&|v| v.series.clear()).contains("1 to 4"));
        assert!(bad(&|v| v.series = vec![s("a", "t"); 5]).contains("got 5"));
        assert!(bad(&|v| v.series.push(s("cellar", "temperature"))).contains("twice"));
        assert!(bad(&|v| v.range = ViewRange::Last { ms: 5 }).contains("10 s"));
        assert!(bad(&|v| v.range = ViewRange::Between {
            from_ms: 9,
            to_ms: 3
        })
        .contains("before"));
    }

    #[test]
    fn exports_are_sized_like_pictures() {
        let mut e = ChartExport {
            series: vec![s("cellar", "temperature")],
            from_ms: 0,
            to_ms: 3_600_000,
            format: ChartFormat::Png,
            width: 1200,
            height: 600,
            utc_offset_min: 60,
        };
        assert!(e.validate().is_ok());
        e.width = 100_000;
        assert!(e.validate().unwrap_err().message.contains("pixels"));
        e.width = 1200;
        e.utc_offset_min = 100_000;
        assert!(e.validate().is_err());
    }

    #[test]
    fn ranges_travel_tagged() {
        let json = serde_json::to_string(&ViewRange::Last { ms: 60_000 }).unwrap();
        assert_eq!(json, r#"{"kind":"last","ms":60000}"#);
        assert_eq!(
            serde_json::from_str::<ViewRange>(r#"{"kind":"between","from_ms":1,"to_ms":2}"#)
                .unwrap(),
            ViewRange::Between {
                from_ms: 1,
                to_ms: 2
            }
        );
    }
}
