//! Fabrics Connect (admin and I/O queues), Property Get/Set, Identify, Set Features and
//! Keep Alive on the target side.

use super::connection::{generic_error, Connection, Ending};
use crate::nvme_tcp::nvme::commands::{fabrics_field, CONNECT_DATA_LEN, IDENTIFY_DATA_LEN};
use crate::nvme_tcp::nvme::connect_data::{ConnectData, CNTLID_DYNAMIC};
use crate::nvme_tcp::nvme::identify::{emit_namespace_list, IdentifyController, IdentifyNamespace};
use crate::nvme_tcp::nvme::opcodes::{admin, cns, fctype, feature};
use crate::nvme_tcp::nvme::registers::{self, cap, cc, csts};
use crate::nvme_tcp::status::{fabrics, generic, sct, Status};
use crate::nvme_tcp::wire::{SglDescriptor, Sqe};

/// CAP.TO reported: 1 s (units of 500 ms). The embedded controller is ready at once.
const READY_TIMEOUT_UNITS: u8 = 2;
/// KAS: keep-alive granularity of 100 ms.
const KEEP_ALIVE_GRANULARITY: u16 = 1;

fn connect_error(sc: u8, invalid_data_offset: Option<u16>) -> (Status, u64) {
    // Result for Connect Invalid Parameters: IATTR bit 0 = "in Connect data", IPO = offset.
    let result = invalid_data_offset.map_or(0, |ipo| 1 | (ipo as u64) << 16);
    (Status::new(sct::COMMAND_SPECIFIC, sc, true), result)
}

impl Connection {
    pub(super) fn connect(&mut self, sqe_bytes: &[u8; 64], data: &[u8]) -> Result<(), Ending> {
        let sqe = Sqe::new_unchecked(&sqe_bytes[..]);
        let cid = sqe.command_id();
        let (status, result) = self.try_connect(&sqe, data);
        if let (true, Some(qid)) = (status.is_success(), self.qid) {
            tracing::info!(qid, cntlid = result as u16, sqsize = self.reply.queue_size, "target: queue connected");
        } else {
            tracing::warn!(%status, "target: Connect refused");
        }
        self.reply.capsule_resp(cid, status, result);
        Ok(())
    }

    fn try_connect(&mut self, sqe: &Sqe<&[u8]>, data: &[u8]) -> (Status, u64) {
        if self.qid.is_some() {
            return (generic_error(generic::COMMAND_SEQUENCE_ERROR), 0);
        }
        if sqe.sgl().identifier != SglDescriptor::IN_CAPSULE || data.len() != CONNECT_DATA_LEN {
            return (generic_error(generic::DATA_SGL_LENGTH_INVALID), 0);
        }
        if sqe.u16_at(fabrics_field::CONNECT_RECFMT) != 0 {
            return connect_error(0x80, None);
        }
        let Some(connect) = ConnectData::parse(data) else {
            return (generic_error(generic::INVALID_FIELD), 0);
        };
        let config = &self.subsystem.config;
        if connect.subnqn != config.nqn {
            return connect_error(fabrics::CONNECT_INVALID_PARAMETERS, Some(256));
        }
        if connect.hostnqn.is_empty() {
            return connect_error(fabrics::CONNECT_INVALID_HOST, Some(512));
        }
        let qid = sqe.u16_at(fabrics_field::CONNECT_QID);
        let sqsize = sqe.u16_at(fabrics_field::CONNECT_SQSIZE);
        if sqsize == 0 || sqsize > config.mqes {
            return connect_error(fabrics::CONNECT_INVALID_PARAMETERS, None);
        }
        let cntlid = if qid == 0 {
            if connect.cntlid != CNTLID_DYNAMIC {
                return connect_error(fabrics::CONNECT_INVALID_PARAMETERS, Some(16));
            }
            self.set_keep_alive_timeout(sqe.u32_at(fabrics_field::CONNECT_KATO));
            self.subsystem.create_controller()
        } else {
            let exists = self.subsystem.with_controller(connect.cntlid, |_| ()).is_some();
            if !exists {
                return connect_error(fabrics::CONNECT_INVALID_PARAMETERS, Some(16));
            }
            if qid > config.max_io_queues {
                return connect_error(fabrics::CONNECT_INVALID_PARAMETERS, None);
            }
            connect.cntlid
        };
        self.qid = Some(qid);
        self.cntlid = cntlid;
        self.reply.sq_id = qid;
        self.reply.queue_size = sqsize + 1;
        (Status::SUCCESS, cntlid as u64)
    }

    pub(super) fn admin_command(&mut self, sqe_bytes: &[u8; 64]) -> Result<(), Ending> {
        let sqe = Sqe::new_unchecked(&sqe_bytes[..]);
        let cid = sqe.command_id();
        let (status, result) = match sqe.opcode() {
            admin::FABRICS => match sqe.byte(fabrics_field::FCTYPE) {
                fctype::PROPERTY_GET => self.property_get(&sqe),
                fctype::PROPERTY_SET => self.property_set(&sqe),
                _ => (generic_error(generic::INVALID_FIELD), 0),
            },
            admin::IDENTIFY => return self.identify(&sqe),
            admin::SET_FEATURES => self.set_features(&sqe),
            admin::KEEP_ALIVE => (Status::SUCCESS, 0),
            _ => (generic_error(generic::INVALID_OPCODE), 0),
        };
        self.reply.capsule_resp(cid, status, result);
        Ok(())
    }

    fn property_get(&self, sqe: &Sqe<&[u8]>) -> (Status, u64) {
        let config = &self.subsystem.config;
        let state = self.subsystem.with_controller(self.cntlid, |c| c.clone()).unwrap_or_default();
        let value = match sqe.u32_at(fabrics_field::PROPERTY_OFFSET) {
            registers::CAP => cap::build(config.mqes, READY_TIMEOUT_UNITS),
            registers::VS => registers::VERSION_1_3 as u64,
            registers::CC => state.cc as u64,
            registers::CSTS => state.csts as u64,
            _ => return (generic_error(generic::INVALID_FIELD), 0),
        };
        (Status::SUCCESS, value)
    }

    fn property_set(&self, sqe: &Sqe<&[u8]>) -> (Status, u64) {
        if sqe.u32_at(fabrics_field::PROPERTY_OFFSET) != registers::CC {
            return (generic_error(generic::INVALID_FIELD), 0);
        }
        let value = sqe.u64_at(fabrics_field::PROPERTY_VALUE) as u32;
        self.subsystem.with_controller(self.cntlid, |c| {
            c.cc = value;
            if value & cc::EN != 0 {
                c.csts |= csts::RDY;
            } else {
                c.csts &= !(csts::RDY | csts::SHST_MASK);
            }
            if value & cc::SHN_MASK != 0 {
                c.csts = (c.csts & !csts::SHST_MASK) | csts::SHST_COMPLETE;
            }
        });
        (Status::SUCCESS, 0)
    }

    fn identify(&mut self, sqe: &Sqe<&[u8]>) -> Result<(), Ending> {
        let cid = sqe.command_id();
        let sgl = sqe.sgl();
        if sgl.identifier != SglDescriptor::TRANSPORT_DATA_BLOCK || sgl.length as usize != IDENTIFY_DATA_LEN {
            self.reply.capsule_resp(cid, generic_error(generic::DATA_SGL_LENGTH_INVALID), 0);
            return Ok(());
        }
        let sub = &self.subsystem;
        let data = match sqe.cdw(10) as u8 {
            cns::CONTROLLER => IdentifyController {
                vendor_id: 0,
                serial: sub.config.serial.clone(),
                model: sub.config.model.clone(),
                firmware: env!("CARGO_PKG_VERSION").into(),
                mdts: sub.config.mdts,
                cntlid: self.cntlid,
                version: registers::VERSION_1_3,
                kas: KEEP_ALIVE_GRANULARITY,
                maxcmd: sub.config.mqes,
                namespace_count: sub.namespaces.len() as u32,
                subnqn: sub.config.nqn.clone(),
                ioccsz: ((sub.config.in_capsule_data + 64) / 16) as u32,
                iorcsz: 1,
                icdoff: 0,
                msdbd: 1,
            }
            .emit(),
            cns::ACTIVE_NAMESPACE_LIST => {
                let after = sqe.nsid();
                emit_namespace_list((1..=sub.namespaces.len() as u32).filter(|&nsid| nsid > after))
            }
            cns::NAMESPACE => match sub.namespace(sqe.nsid()) {
                Some(ns) => IdentifyNamespace { nsze: ns.blocks, ncap: ns.blocks, nuse: ns.blocks, block_size: ns.block_size }.emit(),
                None => {
                    self.reply.capsule_resp(cid, generic_error(generic::INVALID_NAMESPACE), 0);
                    return Ok(());
                }
            },
            _ => {
                self.reply.capsule_resp(cid, generic_error(generic::INVALID_FIELD), 0);
                return Ok(());
            }
        };
        self.reply.c2h_data(cid, data, self.subsystem.config.c2h_max_data, false);
        Ok(())
    }

    fn set_features(&self, sqe: &Sqe<&[u8]>) -> (Status, u64) {
        if sqe.cdw(10) as u8 != feature::NUMBER_OF_QUEUES {
            return (generic_error(generic::INVALID_FIELD), 0);
        }
        let requested = (sqe.cdw(11) & 0xFFFF) as u16 + 1;
        let granted = requested.min(self.subsystem.config.max_io_queues);
        self.subsystem.with_controller(self.cntlid, |c| c.io_queues = granted);
        let zero_based = (granted - 1) as u64;
        (Status::SUCCESS, zero_based << 16 | zero_based)
    }
}
