//! Maintenance forecasts, computed where the data is: pure functions of the numbers they are
//! given (no clock, no I/O, no database).
//!
//! - [`trend`]: when will one series cross a threshold, with an interval, or an honest
//!   refusal ("not enough data", "no trend", "seasonal or noisy").
//! - [`rul`]: remaining useful life of running assets from a fleet's run-to-failure histories
//!   ([`fleet`] parses them), with a calibrated 80% interval; [`eval`] cross-validates it.
//! - [`runtime`]: operating hours and starts counted from a series' readings, and when a
//!   service plan ("every 500 h or 2,000 starts") comes due at the recent pace.

pub mod eval;
pub mod fleet;
pub mod rul;
pub mod runtime;
pub mod stats;
pub mod trend;

pub use fleet::{parse_fleet, ParseError, Unit};
pub use rul::{RulConfig, RulError, RulEstimate, RulModel};
pub use runtime::{count_usage, project_due, Due, Interval, Usage};
pub use trend::{time_to_threshold, Direction, Eta, Forecast, Reason, TrendConfig};
