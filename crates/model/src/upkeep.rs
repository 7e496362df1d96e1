//! Service plans: "service this pump every 500 operating hours or 2,000 starts", counted from
//! its readings, and where each plan stands.

use crate::{ApiError, DeviceId, TimestampMs};
use serde::{Deserialize, Serialize};

/// One plan on one series: the machine operates while `metric > on_above`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServicePlan {
    /// Chosen by people ("pump-02-seal"); unique.
    pub id: String,
    pub device: DeviceId,
    pub metric: String,
    pub on_above: f64,
    /// Service after this many operating hours…
    #[serde(default)]
    pub every_hours: Option<f64>,
    /// …or this many starts (off → on), whichever comes first.
    #[serde(default)]
    pub every_cycles: Option<u64>,
}

impl ServicePlan {
    pub fn validate(&self) -> Result<(), ApiError> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !id_ok {
            return Err(ApiError::invalid(
                "a plan id is 1 to 64 letters, digits, '-' or '_'",
            ));
        }
        if self.device.as_str().is_empty() || self.device.as_str().len() > 256 {
            return Err(ApiError::invalid("device id must be 1 to 256 characters"));
        }
        if self.metric.is_empty() || self.metric.len() > 128 {
            return Err(ApiError::invalid("metric must be 1 to 128 characters"));
        }
        if !self.on_above.is_finite() {
            return Err(ApiError::invalid("\"operating above\" must be a number"));
        }
        match (self.every_hours, self.every_cycles) {
            (None, None) => Err(ApiError::invalid(
                "a plan needs operating hours, starts, or both",
            )),
            (Some(h), _) if !(h.is_finite() && h > 0.0 && h <= 1e7) => Err(ApiError::invalid(
                "operating hours must be a number above 0",
            )),
            (_, Some(0)) => Err(ApiError::invalid("starts must be at least 1")),
            _ => Ok(()),
        }
    }
}

/// A service done: the counter starts again from `ts_ms`. Kept as history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceRecord {
    pub plan: String,
    pub ts_ms: TimestampMs,
    /// Who marked it (the signed-in user).
    pub by: String,
    /// What the counter stood at when it was reset.
    pub hours: f64,
    pub cycles: u64,
}

/// Where a plan stands: counted since its last service (or since it was created).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub plan: ServicePlan,
    pub device_name: String,
    pub since_ms: TimestampMs,
    pub hours: f64,
    pub cycles: u64,
    /// Negative when overdue.
    pub hours_left: Option<f64>,
    pub cycles_left: Option<i64>,
    /// When it will be due at the recent pace; None when the machine has not run lately.
    pub due_ms: Option<TimestampMs>,
    /// The pace the date rests on, or why there is none.
    pub basis: String,
    /// Past services, newest first (at most a few).
    pub history: Vec<ServiceRecord>,
}

/// Most bytes each history file may have when estimating a fleet's remaining lives in the app:
/// FD001's training set is 3.5 MB; a file far beyond is a mistake, not a fleet.
pub const MAX_FLEET_FILE_BYTES: usize = 32 * 1024 * 1024;

/// One running asset's remaining life as the fleet model estimates it, in cycles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetRulEstimate {
    pub asset: u32,
    /// Cycles it has reported.
    pub cycles: usize,
    pub rul: f64,
    /// The 80 % interval.
    pub low: f64,
    pub high: f64,
}

/// Remaining lives of a fleet's running assets, learnt from its failed ones; soonest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetRul {
    /// How many run-to-failure histories the model learnt from.
    pub failed_units: usize,
    /// Estimates are capped here: "125" means "125 or more".
    pub cap: f64,
    /// The sensors the health index uses (1-based, as in the file's columns).
    pub sensors: Vec<usize>,
    pub estimates: Vec<FleetRulEstimate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_validated() {
        let ok = ServicePlan {
            id: "pump-02-seal".into(),
            device: DeviceId::new("mqtt:plant/pump-02"),
            metric: "current".into(),
            on_above: 2.0,
            every_hours: Some(500.0),
            every_cycles: None,
        };
        assert!(ok.validate().is_ok());
        let bad = [
            ServicePlan {
                id: "two words".into(),
                ..ok.clone()
            },
            ServicePlan {
                id: String::new(),
                ..ok.clone()
            },
            ServicePlan {
                metric: String::new(),
                ..ok.clone()
            },
            ServicePlan {
                on_above: f64::NAN,
                ..ok.clone()
            },
            ServicePlan {
                every_hours: None,
                ..ok.clone()
            },
            ServicePlan {
                every_hours: Some(-1.0),
                ..ok.clone()
            },
            ServicePlan {
                every_hours: None,
                every_cycles: Some(0),
                ..ok.clone()
            },
        ];
        for plan in bad {
            assert!(plan.validate().is_err(), "{plan:?}");
        }
    }
}
