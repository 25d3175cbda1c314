//! The NVMe and NVMe-oF command set as both ends use it: opcodes, command builders,
//! Connect data, controller properties, Identify structures and the LBA test pattern.

pub mod opcodes;
pub mod commands;
pub mod connect_data;
pub mod nqn;
pub mod registers;
pub mod identify;
pub mod pattern;
