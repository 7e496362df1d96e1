pub mod alerts;
pub mod dashboard;
pub mod device;
pub mod maintenance;
pub mod sources;
