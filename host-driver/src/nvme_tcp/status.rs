//! NVMe completion status: decoding of the status field and its names (NVMe base spec
//! 2.0 figures 100-105; NVMe-oF 1.1 figure 28 for Fabrics command-specific codes).

use std::fmt;

/// The 15-bit status field of a CQE (the status word shifted right past the phase tag),
/// the same value Linux prints (e.g. 0x400C).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u16);

/// Status code types.
pub mod sct {
    pub const GENERIC: u8 = 0;
    pub const COMMAND_SPECIFIC: u8 = 1;
    pub const MEDIA: u8 = 2;
    pub const PATH: u8 = 3;
}

/// Generic status codes the target produces.
pub mod generic {
    pub const SUCCESS: u8 = 0x00;
    pub const INVALID_OPCODE: u8 = 0x01;
    pub const INVALID_FIELD: u8 = 0x02;
    pub const DATA_TRANSFER_ERROR: u8 = 0x04;
    pub const INVALID_NAMESPACE: u8 = 0x0B;
    pub const COMMAND_SEQUENCE_ERROR: u8 = 0x0C;
    pub const SGL_DESCRIPTOR_TYPE_INVALID: u8 = 0x11;
    pub const DATA_SGL_LENGTH_INVALID: u8 = 0x0F;
    pub const LBA_OUT_OF_RANGE: u8 = 0x80;
    pub const NAMESPACE_NOT_READY: u8 = 0x82;
}

/// Command-specific codes of the Fabrics Connect command.
pub mod fabrics {
    pub const CONNECT_INVALID_PARAMETERS: u8 = 0x82;
    pub const CONNECT_INVALID_HOST: u8 = 0x84;
}

/// Command-specific codes mean different things for Fabrics and for I/O commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandSet {
    Admin,
    Io,
    Fabrics,
}

const DNR: u16 = 1 << 14;

impl Status {
    pub const SUCCESS: Status = Status(0);

    pub fn new(sct: u8, sc: u8, do_not_retry: bool) -> Self {
        Status(((sct as u16 & 7) << 8) | sc as u16 | if do_not_retry { DNR } else { 0 })
    }

    /// From the CQE status word (bit 0 is the phase tag).
    pub fn from_word(word: u16) -> Self {
        Status(word >> 1)
    }

    pub fn to_word(self) -> u16 {
        self.0 << 1
    }

    pub fn sc(self) -> u8 {
        self.0 as u8
    }

    pub fn sct(self) -> u8 {
        ((self.0 >> 8) & 7) as u8
    }

    pub fn do_not_retry(self) -> bool {
        self.0 & DNR != 0
    }

    pub fn is_success(self) -> bool {
        self.sct() == sct::GENERIC && self.sc() == generic::SUCCESS
    }

    pub fn name(self, set: CommandSet) -> &'static str {
        match self.sct() {
            sct::GENERIC => generic_name(self.sc()),
            sct::COMMAND_SPECIFIC => command_specific_name(self.sc(), set),
            sct::MEDIA => media_name(self.sc()),
            sct::PATH => path_name(self.sc()),
            7 => "Vendor Specific",
            _ => "Reserved Status Code Type",
        }
    }

    /// A one-line description: name, then the raw codes for searching logs.
    pub fn describe(self, set: CommandSet) -> String {
        format!(
            "{} (status {:#06x}: sct {}, sc {:#04x}{})",
            self.name(set),
            self.0,
            self.sct(),
            self.sc(),
            if self.do_not_retry() { ", do not retry" } else { "" }
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(CommandSet::Admin))
    }
}

fn generic_name(sc: u8) -> &'static str {
    match sc {
        0x00 => "Successful Completion",
        0x01 => "Invalid Command Opcode",
        0x02 => "Invalid Field in Command",
        0x03 => "Command ID Conflict",
        0x04 => "Data Transfer Error",
        0x05 => "Commands Aborted due to Power Loss Notification",
        0x06 => "Internal Error",
        0x07 => "Command Abort Requested",
        0x08 => "Command Aborted due to SQ Deletion",
        0x09 => "Command Aborted due to Failed Fused Command",
        0x0A => "Command Aborted due to Missing Fused Command",
        0x0B => "Invalid Namespace or Format",
        0x0C => "Command Sequence Error",
        0x0D => "Invalid SGL Segment Descriptor",
        0x0E => "Invalid Number of SGL Descriptors",
        0x0F => "Data SGL Length Invalid",
        0x10 => "Metadata SGL Length Invalid",
        0x11 => "SGL Descriptor Type Invalid",
        0x12 => "Invalid Use of Controller Memory Buffer",
        0x13 => "PRP Offset Invalid",
        0x14 => "Atomic Write Unit Exceeded",
        0x15 => "Operation Denied",
        0x16 => "SGL Offset Invalid",
        0x18 => "Host Identifier Inconsistent Format",
        0x19 => "Keep Alive Timer Expired",
        0x1A => "Keep Alive Timeout Invalid",
        0x1B => "Command Aborted due to Preempt and Abort",
        0x1C => "Sanitize Failed",
        0x1D => "Sanitize In Progress",
        0x1E => "SGL Data Block Granularity Invalid",
        0x1F => "Command Not Supported for Queue in CMB",
        0x20 => "Namespace is Write Protected",
        0x21 => "Command Interrupted",
        0x22 => "Transient Transport Error",
        0x80 => "LBA Out of Range",
        0x81 => "Capacity Exceeded",
        0x82 => "Namespace Not Ready",
        0x83 => "Reservation Conflict",
        0x84 => "Format In Progress",
        _ => "Unknown Generic Status",
    }
}

fn command_specific_name(sc: u8, set: CommandSet) -> &'static str {
    match (sc, set) {
        (0x80, CommandSet::Fabrics) => "Incompatible Format",
        (0x81, CommandSet::Fabrics) => "Controller Busy",
        (0x82, CommandSet::Fabrics) => "Connect Invalid Parameters",
        (0x83, CommandSet::Fabrics) => "Connect Restart Discovery",
        (0x84, CommandSet::Fabrics) => "Connect Invalid Host",
        (0x90, CommandSet::Fabrics) => "Invalid Queue Type",
        (0x91, CommandSet::Fabrics) => "Discover Restart",
        (0x92, CommandSet::Fabrics) => "Authentication Required",
        (0x80, CommandSet::Io) => "Conflicting Attributes",
        (0x81, CommandSet::Io) => "Invalid Protection Information",
        (0x82, CommandSet::Io) => "Attempted Write to Read Only Range",
        (0x00, _) => "Completion Queue Invalid",
        (0x01, _) => "Invalid Queue Identifier",
        (0x02, _) => "Invalid Queue Size",
        (0x03, _) => "Abort Command Limit Exceeded",
        (0x05, _) => "Asynchronous Event Request Limit Exceeded",
        (0x06, _) => "Invalid Firmware Slot",
        (0x07, _) => "Invalid Firmware Image",
        (0x08, _) => "Invalid Interrupt Vector",
        (0x09, _) => "Invalid Log Page",
        (0x0A, _) => "Invalid Format",
        (0x0B, _) => "Firmware Activation Requires Conventional Reset",
        (0x0C, _) => "Invalid Queue Deletion",
        (0x0D, _) => "Feature Identifier Not Saveable",
        (0x0E, _) => "Feature Not Changeable",
        (0x0F, _) => "Feature Not Namespace Specific",
        _ => "Unknown Command Specific Status",
    }
}

fn media_name(sc: u8) -> &'static str {
    match sc {
        0x80 => "Write Fault",
        0x81 => "Unrecovered Read Error",
        0x82 => "End-to-end Guard Check Error",
        0x83 => "End-to-end Application Tag Check Error",
        0x84 => "End-to-end Reference Tag Check Error",
        0x85 => "Compare Failure",
        0x86 => "Access Denied",
        0x87 => "Deallocated or Unwritten Logical Block",
        _ => "Unknown Media Error",
    }
}

fn path_name(sc: u8) -> &'static str {
    match sc {
        0x00 => "Internal Path Error",
        0x01 => "Asymmetric Access Persistent Loss",
        0x02 => "Asymmetric Access Inaccessible",
        0x03 => "Asymmetric Access Transition",
        0x60 => "Controller Pathing Error",
        0x70 => "Host Pathing Error",
        0x71 => "Command Aborted By Host",
        _ => "Unknown Path Error",
    }
}
