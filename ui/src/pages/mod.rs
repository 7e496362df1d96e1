pub mod alerts;
pub mod bluetooth;
pub mod dashboard;
pub mod device;
pub mod historian;
pub mod rule_form;
pub mod sources;
pub mod upkeep;
