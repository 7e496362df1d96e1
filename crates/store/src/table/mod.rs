//! One module per table: its migrations, its row type and its accessors live together.

pub mod alerts;
pub mod chunks;
pub mod devices;
pub mod meta;
pub mod presence;
pub mod readings;
pub mod replay_counters;
pub mod rollups;
pub mod series;
pub mod service_plans;
pub mod source_configs;
