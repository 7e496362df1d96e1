//! One module per table: its migrations, its row type and its accessors live together.

pub mod devices;
pub mod readings;
pub mod series;
