pub mod dashboard;
pub mod device;
