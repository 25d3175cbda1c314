//! PDU wire formats against hand-assembled reference PDUs (tests/common): every type parses
//! to the fields the reference put in, emits back to the reference bytes, and malformed
//! PDUs fail with the precise error. Digests are checked against the RFC 3720 vectors.

mod common;

use common::{spec_digest, SpecPdu};
use ddpnic::nvme_tcp::wire::digest::digest;
use ddpnic::nvme_tcp::wire::{CqeRepr, DigestConfig, Emission, Pdu, PduRepr, PduType, WireError};

const NO_DIGESTS: DigestConfig = DigestConfig { header: false, data: false };
const BOTH: DigestConfig = DigestConfig { header: true, data: true };

fn emission(digests: DigestConfig) -> Emission {
    Emission { digests, data_alignment: 4 }
}

#[test]
fn digest_matches_rfc3720_vectors_and_the_crc32c_crate() {
    let ascending: Vec<u8> = (0..32).collect();
    let descending: Vec<u8> = (0..32).rev().collect();
    assert_eq!(digest(&[0u8; 32]), 0x8A9136AA);
    assert_eq!(digest(&[0xFFu8; 32]), 0x62A8AB43);
    assert_eq!(digest(&ascending), 0x46DD794E);
    assert_eq!(digest(&descending), 0x113FDB5C);
    assert_eq!(digest(b"123456789"), 0xE3069283);
    let long: Vec<u8> = (0..100_000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    assert_eq!(digest(&long), crc32c::crc32c(&long));
}

fn roundtrip(reference: &[u8], digests: DigestConfig, alignment: usize, expected: PduRepr<'_>) {
    let pdu = Pdu::new_checked(reference, digests).unwrap_or_else(|e| panic!("reference PDU rejected: {e}"));
    assert_eq!(pdu.framing().plen, reference.len());
    let repr = PduRepr::parse(&pdu);
    assert_eq!(repr, expected);
    let emitted = repr.emit(Emission { digests, data_alignment: alignment });
    assert_eq!(emitted, reference, "{:?} emits different bytes", repr.pdu_type());
}

#[test]
fn icreq_and_icresp_round_trip() {
    // pfv 0, hpda 3, digest bits HDGST|DDGST, maxr2t 7.
    let fields = [0, 0, 3, 0x03, 7, 0, 0, 0];
    let reference = SpecPdu { pdu_type: 0, flags: 0, hlen: 128, pdo: 0, fields: &fields, data: &[] }.bytes();
    assert_eq!(reference.len(), 128);
    roundtrip(&reference, NO_DIGESTS, 4, PduRepr::IcReq { pfv: 0, hpda: 3, digests: BOTH, maxr2t: 7 });
    // Digests never apply to ICReq/ICResp, whatever the connection negotiates.
    roundtrip(&reference, BOTH, 4, PduRepr::IcReq { pfv: 0, hpda: 3, digests: BOTH, maxr2t: 7 });

    let fields = [0, 0, 0, 0x02, 0, 0, 0x40, 0];
    let reference = SpecPdu { pdu_type: 1, flags: 0, hlen: 128, pdo: 0, fields: &fields, data: &[] }.bytes();
    let digests = DigestConfig { header: false, data: true };
    roundtrip(&reference, NO_DIGESTS, 4, PduRepr::IcResp { pfv: 0, cpda: 0, digests, maxh2cdata: 0x40_0000 });
}

#[test]
fn capsule_cmd_with_and_without_in_capsule_data() {
    let sqe: [u8; 64] = std::array::from_fn(|i| (i * 3 + 1) as u8);
    let reference = SpecPdu { pdu_type: 4, flags: 0x01, hlen: 72, pdo: 0, fields: &sqe, data: &[] }.bytes();
    assert_eq!(reference.len(), 76);
    let digests = DigestConfig { header: true, data: false };
    roundtrip(&reference, digests, 4, PduRepr::CapsuleCmd { sqe: &sqe, data: &[] });

    let data: Vec<u8> = (0..1024u32).map(|i| (i % 251) as u8).collect();
    let reference = SpecPdu { pdu_type: 4, flags: 0x03, hlen: 72, pdo: 76, fields: &sqe, data: &data }.bytes();
    assert_eq!(reference.len(), 72 + 4 + 1024 + 4);
    roundtrip(&reference, BOTH, 4, PduRepr::CapsuleCmd { sqe: &sqe, data: &data });
}

#[test]
fn capsule_resp_round_trips() {
    let mut cqe = Vec::new();
    cqe.extend_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
    cqe.extend_from_slice(&9u16.to_le_bytes());
    cqe.extend_from_slice(&1u16.to_le_bytes());
    cqe.extend_from_slice(&0x77u16.to_le_bytes());
    cqe.extend_from_slice(&(0x4002u16 << 1).to_le_bytes());
    let reference = SpecPdu { pdu_type: 5, flags: 0x01, hlen: 24, pdo: 0, fields: &cqe, data: &[] }.bytes();
    let expected = CqeRepr { result: 0x1122_3344_5566_7788, sq_head: 9, sq_id: 1, command_id: 0x77, status_word: 0x4002 << 1 };
    roundtrip(&reference, DigestConfig { header: true, data: true }, 4, PduRepr::CapsuleResp { cqe: expected });
}

fn data_fields(cid: u16, ttag: u16, offset: u32, len: u32) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&cid.to_le_bytes());
    f.extend_from_slice(&ttag.to_le_bytes());
    f.extend_from_slice(&offset.to_le_bytes());
    f.extend_from_slice(&len.to_le_bytes());
    f
}

#[test]
fn data_pdus_and_r2t_round_trip_with_padding_and_digests() {
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    // C2HData: LAST|SUCCESS, both digests, data aligned to 32 bytes (CPDA/HPDA 7).
    let fields = data_fields(12, 0, 8192, data.len() as u32);
    let reference = SpecPdu { pdu_type: 7, flags: 0x0F, hlen: 24, pdo: 32, fields: &fields, data: &data }.bytes();
    assert_eq!(&reference[24..28], &spec_digest(&reference[..24]));
    let expected = PduRepr::C2HData { command_id: 12, data_offset: 8192, last: true, success: true, data: &data };
    roundtrip(&reference, BOTH, 32, expected);

    let fields = data_fields(3, 0x55, 0, 512);
    let reference = SpecPdu { pdu_type: 6, flags: 0x04, hlen: 24, pdo: 24, fields: &fields, data: &data[..512] }.bytes();
    let expected = PduRepr::H2CData { command_id: 3, ttag: 0x55, data_offset: 0, last: true, data: &data[..512] };
    roundtrip(&reference, NO_DIGESTS, 4, expected);

    let fields = data_fields(3, 0x55, 4096, 65536);
    let reference = SpecPdu { pdu_type: 9, flags: 0x01, hlen: 24, pdo: 0, fields: &fields, data: &[] }.bytes();
    let expected = PduRepr::R2T { command_id: 3, ttag: 0x55, r2t_offset: 4096, r2t_length: 65536 };
    roundtrip(&reference, DigestConfig { header: true, data: true }, 4, expected);
}

#[test]
fn term_requests_carry_the_offending_header_without_digests() {
    let offending = [7u8; 24];
    let mut fields = 3u16.to_le_bytes().to_vec();
    fields.extend_from_slice(&0x10u32.to_le_bytes());
    let reference = SpecPdu { pdu_type: 3, flags: 0, hlen: 24, pdo: 0, fields: &fields, data: &offending }.bytes();
    roundtrip(&reference, BOTH, 4, PduRepr::C2HTermReq { fes: 3, fei: 0x10, error_data: &offending });
    let reference = SpecPdu { pdu_type: 2, flags: 0, hlen: 24, pdo: 0, fields: &fields, data: &[] }.bytes();
    roundtrip(&reference, NO_DIGESTS, 4, PduRepr::H2CTermReq { fes: 3, fei: 0x10, error_data: &[] });
}

fn reject(bytes: &[u8], digests: DigestConfig) -> WireError {
    match Pdu::new_checked(bytes, digests) {
        Ok(pdu) => panic!("accepted a malformed {:?}", pdu.pdu_type()),
        Err(e) => e,
    }
}

fn c2h(flags: u8, pdo: u8, data: &[u8]) -> Vec<u8> {
    let fields = data_fields(1, 0, 0, data.len() as u32);
    SpecPdu { pdu_type: 7, flags, hlen: 24, pdo, fields: &fields, data }.bytes()
}

#[test]
fn malformed_pdus_fail_with_precise_errors() {
    let data = [0xABu8; 64];
    assert_eq!(reject(&[5, 0, 24], NO_DIGESTS), WireError::Truncated { needed: 8, available: 3 });
    let mut unknown = c2h(0x04, 24, &data);
    unknown[0] = 8;
    assert_eq!(reject(&unknown, NO_DIGESTS), WireError::UnknownType(8));

    let mut wrong_hlen = c2h(0x04, 24, &data);
    wrong_hlen[2] = 72;
    assert_eq!(reject(&wrong_hlen, NO_DIGESTS), WireError::WrongHeaderLength { pdu_type: PduType::C2HData, hlen: 72, expected: 24 });

    let full = c2h(0x04, 24, &data);
    assert_eq!(reject(&full[..60], NO_DIGESTS), WireError::Truncated { needed: full.len(), available: 60 });

    let mut short_plen = full.clone();
    short_plen[4] = 20;
    assert!(matches!(reject(&short_plen, NO_DIGESTS), WireError::PdoOutOfRange { pdo: 24, plen: 20, .. }));

    let mut pdo_inside_header = full.clone();
    pdo_inside_header[3] = 16;
    assert!(matches!(reject(&pdo_inside_header, NO_DIGESTS), WireError::PdoOutOfRange { pdo: 16, header_end: 24, .. }));

    let mut length_field = full.clone();
    length_field[16] = 63;
    assert_eq!(
        reject(&length_field, NO_DIGESTS),
        WireError::DataLengthMismatch { pdu_type: PduType::C2HData, field: 63, actual: 64 }
    );

    let no_data = SpecPdu { pdu_type: 7, flags: 0x04, hlen: 24, pdo: 0, fields: &data_fields(1, 0, 0, 0), data: &[] }.bytes();
    assert_eq!(reject(&no_data, NO_DIGESTS), WireError::MissingData { pdu_type: PduType::C2HData });

    let success_without_last = c2h(0x08, 24, &data);
    assert_eq!(reject(&success_without_last, NO_DIGESTS), WireError::InvalidFlags { pdu_type: PduType::C2HData, flags: 0x08 });

    let resp_with_data = SpecPdu { pdu_type: 5, flags: 0, hlen: 24, pdo: 24, fields: &[0; 16], data: &data }.bytes();
    assert!(matches!(reject(&resp_with_data, NO_DIGESTS), WireError::PdoOutOfRange { pdu_type: PduType::CapsuleResp, .. }));

    let resp_too_long = {
        let mut b = SpecPdu { pdu_type: 5, flags: 0, hlen: 24, pdo: 0, fields: &[0; 16], data: &[] }.bytes();
        b[4] = 28;
        b.extend_from_slice(&[0; 4]);
        b
    };
    assert!(matches!(reject(&resp_too_long, NO_DIGESTS), WireError::PlenMismatch { plen: 28, .. }));

    let empty_r2t = SpecPdu { pdu_type: 9, flags: 0, hlen: 24, pdo: 0, fields: &data_fields(1, 1, 0, 0), data: &[] }.bytes();
    assert_eq!(reject(&empty_r2t, NO_DIGESTS), WireError::EmptyR2t);

    let overflow = SpecPdu { pdu_type: 9, flags: 0, hlen: 24, pdo: 0, fields: &data_fields(1, 1, u32::MAX, 2), data: &[] }.bytes();
    assert!(matches!(reject(&overflow, NO_DIGESTS), WireError::DataRangeOverflow { .. }));

    let term_too_long = SpecPdu { pdu_type: 3, flags: 0, hlen: 24, pdo: 0, fields: &[0; 16], data: &[0; 129] }.bytes();
    assert!(matches!(reject(&term_too_long, NO_DIGESTS), WireError::PlenMismatch { pdu_type: PduType::C2HTermReq, .. }));

    // Term requests carry their error information right after the header: PDO is 0.
    for (t, pdu_type) in [(2u8, PduType::H2CTermReq), (3, PduType::C2HTermReq)] {
        let with_pdo = SpecPdu { pdu_type: t, flags: 0, hlen: 24, pdo: 24, fields: &[0; 16], data: &[0; 8] }.bytes();
        assert_eq!(reject(&with_pdo, NO_DIGESTS), WireError::TermReqPdo { pdu_type, pdo: 24 });
    }
}

#[test]
fn digest_flags_must_match_the_negotiation_and_digests_must_be_right() {
    let data = [0x5Au8; 100];
    let plain = c2h(0x04, 24, &data);
    assert!(matches!(reject(&plain, BOTH), WireError::HeaderDigestFlag { present: false, negotiated: true, .. }));
    let hd_only = c2h(0x05, 28, &data);
    assert!(matches!(reject(&hd_only, BOTH), WireError::DataDigestFlag { present: false, expected: true, .. }));
    assert!(matches!(reject(&hd_only, NO_DIGESTS), WireError::HeaderDigestFlag { present: true, negotiated: false, .. }));

    let good = c2h(0x07, 28, &data);
    assert!(Pdu::new_checked(&good[..], BOTH).is_ok());
    let mut bad_header_digest = good.clone();
    bad_header_digest[25] ^= 0x10;
    assert!(matches!(reject(&bad_header_digest, BOTH), WireError::HeaderDigest { .. }));
    // A changed header field with the old digest is caught by the digest, not trusted.
    let mut changed_field = good.clone();
    changed_field[8] ^= 0x01;
    assert!(matches!(reject(&changed_field, BOTH), WireError::HeaderDigest { .. }));
    let mut bad_data = good.clone();
    bad_data[40] ^= 0x01;
    let computed = crc32c::crc32c(&bad_data[28..128]);
    let received = u32::from_le_bytes(good[128..132].try_into().unwrap());
    assert_eq!(reject(&bad_data, BOTH), WireError::DataDigest { received, computed });
}

#[test]
fn emission_pads_data_to_the_receivers_alignment() {
    let data = [1u8; 10];
    let repr = PduRepr::H2CData { command_id: 9, ttag: 2, data_offset: 0, last: true, data: &data };
    let bytes = repr.emit(Emission { digests: BOTH, data_alignment: 64 });
    // Header 24 + digest 4, padded to 64, 10 data bytes, 4 digest bytes.
    assert_eq!(bytes[3], 64);
    assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()), 78);
    assert!(bytes[28..64].iter().all(|&b| b == 0));
    assert_eq!(&bytes[64..74], &data);
    assert_eq!(&bytes[74..78], &spec_digest(&data));
    let reference = SpecPdu { pdu_type: 6, flags: 0x07, hlen: 24, pdo: 64, fields: &data_fields(9, 2, 0, 10), data: &data }.bytes();
    assert_eq!(bytes, reference);
    // The same PDU without digests at dword alignment has no padding.
    let plain = repr.emit(emission(NO_DIGESTS));
    assert_eq!(plain.len(), 34);
    assert_eq!(plain[3], 24);
}
