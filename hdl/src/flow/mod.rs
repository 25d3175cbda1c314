//! Flow steering: which offloaded queue (flow id) a TCP packet belongs to.
pub mod toeplitz;
pub mod flow_table;
