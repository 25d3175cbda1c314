//! Connection initialisation: ICReq out, ICResp in, and the checks on what the controller
//! granted (format version, digests, MAXH2CDATA, CPDA).

use super::error::Error;
use super::options::ConnectOptions;
use crate::nvme_tcp::transport::{ByteStream, PduWriter, RxPath};
use crate::nvme_tcp::wire::{DigestConfig, Emission, IcResp, PduRepr, PduType};

/// What the ICResp granted.
#[derive(Debug, Clone, Copy)]
pub struct Negotiated {
    /// Digests, and the alignment the controller wants (CPDA) for data the host sends.
    pub emission: Emission,
    pub maxh2cdata: usize,
}

/// Spec range of CPDA/HPDA.
const MAX_PDA: u8 = 31;

pub fn exchange(rx: &mut dyn RxPath, tx: &mut PduWriter<Box<dyn ByteStream>>, opts: &ConnectOptions) -> Result<Negotiated, Error> {
    let requested = DigestConfig { header: opts.header_digest, data: opts.data_digest };
    // One outstanding R2T per command (MAXR2T is 0's based).
    let icreq = PduRepr::IcReq { pfv: 0, hpda: opts.hpda, digests: requested, maxr2t: 0 };
    tx.send_repr(&icreq, Emission::INITIAL)?;
    tracing::debug!(hpda = opts.hpda, hdgst = requested.header, ddgst = requested.data, maxr2t = 0, "ICReq sent");

    let header = rx.recv_header()?;
    if header.framing.pdu_type != PduType::IcResp {
        return Err(Error::Protocol(format!("expected ICResp, got {}", header.framing.pdu_type)));
    }
    let resp = IcResp::new_unchecked(header.header());
    let granted = DigestConfig::from_bits(resp.digest());
    tracing::debug!(
        pfv = resp.pfv(),
        cpda = resp.cpda(),
        hdgst = granted.header,
        ddgst = granted.data,
        maxh2cdata = resp.maxh2cdata(),
        "ICResp received"
    );
    if resp.pfv() != 0 {
        return Err(Error::Protocol(format!("unsupported PDU format version {}", resp.pfv())));
    }
    if granted != requested {
        return Err(Error::Protocol(format!(
            "digest negotiation failed: requested header={} data={}, controller enabled header={} data={}",
            requested.header, requested.data, granted.header, granted.data
        )));
    }
    let maxh2cdata = resp.maxh2cdata();
    if maxh2cdata < 4096 || maxh2cdata % 4 != 0 {
        return Err(Error::Protocol(format!("invalid MAXH2CDATA {maxh2cdata} (must be >= 4096 and a multiple of 4)")));
    }
    if resp.cpda() > MAX_PDA {
        return Err(Error::Protocol(format!("invalid CPDA {} (at most {MAX_PDA})", resp.cpda())));
    }
    rx.set_digests(granted);
    Ok(Negotiated {
        emission: Emission { digests: granted, data_alignment: (resp.cpda() as usize + 1) * 4 },
        maxh2cdata: maxh2cdata as usize,
    })
}
