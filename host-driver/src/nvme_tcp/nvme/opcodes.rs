//! Opcodes and identifiers (NVMe base spec 2.0, NVMe-oF 1.1).

pub mod admin {
    pub const IDENTIFY: u8 = 0x06;
    pub const SET_FEATURES: u8 = 0x09;
    pub const GET_FEATURES: u8 = 0x0A;
    pub const KEEP_ALIVE: u8 = 0x18;
    /// Fabrics commands share one opcode; FCTYPE (SQE byte 4) says which.
    pub const FABRICS: u8 = 0x7F;
}

pub mod io {
    pub const FLUSH: u8 = 0x00;
    pub const WRITE: u8 = 0x01;
    pub const READ: u8 = 0x02;
}

pub mod fctype {
    pub const PROPERTY_SET: u8 = 0x00;
    pub const CONNECT: u8 = 0x01;
    pub const PROPERTY_GET: u8 = 0x04;
}

pub mod feature {
    pub const NUMBER_OF_QUEUES: u8 = 0x07;
}

/// Identify CNS values.
pub mod cns {
    pub const NAMESPACE: u8 = 0x00;
    pub const CONTROLLER: u8 = 0x01;
    pub const ACTIVE_NAMESPACE_LIST: u8 = 0x02;
}
