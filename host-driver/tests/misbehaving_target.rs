//! A target that goes wrong (wrong command IDs, truncated or inconsistent PDUs, bad
//! digests, dropped or silent connections, termination requests) must give the host a
//! clean error naming the problem, promptly, and never a hang or a panic.

mod common;

use common::{namespace, options, start_target, NQN};
use ddpnic::nvme_tcp::initiator::{Controller, Error, Violation};
use ddpnic::nvme_tcp::target::{Fault, TargetConfig};
use ddpnic::nvme_tcp::transport::TransportError;
use ddpnic::nvme_tcp::wire::{PduType, TermReqStatus, WireError};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// Connects (bring-up is healthy), then reads once from a target with `fault`; returns the
/// read's error and checks it came within the time limit and the association still closes.
fn read_error(fault: Fault, header_digest: bool, data_digest: bool) -> Error {
    read_error_with(fault, header_digest, data_digest, |_| {})
}

/// `read_error` with the target's configuration adjusted by `adjust`.
fn read_error_with(fault: Fault, header_digest: bool, data_digest: bool, adjust: impl FnOnce(&mut TargetConfig)) -> Error {
    let mut config = TargetConfig::new(NQN, vec![namespace(1 << 20, 512)]);
    config.fault = Some(fault);
    adjust(&mut config);
    let target = start_target(config);
    let mut opts = options(&target, header_digest, data_digest);
    opts.timeout = Duration::from_millis(500);
    let mut ctrl = Controller::connect(&opts).expect("bring-up does not touch the faulty path");
    let started = Instant::now();
    let mut buf = vec![0u8; 8192];
    let err = ctrl.read(1, 0, 512, &mut buf).expect_err("a faulty read must fail");
    assert!(started.elapsed() < Duration::from_secs(3), "{fault:?}: took {:?}", started.elapsed());
    // The failed I/O queue refuses further work instead of hanging on a broken stream.
    let again = ctrl.read(1, 0, 512, &mut buf).expect_err("the queue is failed");
    assert!(matches!(again, Error::QueueFailed(1)), "{again}");
    // The admin queue is unaffected: a clean shutdown still works.
    ctrl.disconnect().unwrap();
    err
}

#[test]
fn completion_for_a_command_id_that_is_not_outstanding() {
    let err = read_error(Fault::WrongCommandId, false, false);
    assert!(matches!(&err, Error::Protocol(m) if m.contains("not outstanding")), "{err}");
}

#[test]
fn bad_data_digest() {
    let err = read_error(Fault::CorruptDataDigest, false, true);
    assert!(matches!(err, Error::Transport(TransportError::Wire(WireError::DataDigest { .. }))), "{err}");
    assert!(err.to_string().contains("data digest mismatch"));
}

#[test]
fn bad_header_digest() {
    let err = read_error(Fault::CorruptHeaderDigest, true, false);
    assert!(matches!(err, Error::Transport(TransportError::Wire(WireError::HeaderDigest { .. }))), "{err}");
}

#[test]
fn data_length_field_disagrees_with_the_pdu() {
    let err = read_error(Fault::DataLengthMismatch, false, false);
    assert!(
        matches!(err, Error::Transport(TransportError::Wire(WireError::DataLengthMismatch { field: 8193, actual: 8192, .. }))),
        "{err}"
    );
}

#[test]
fn truncated_pdu_then_close() {
    let err = read_error(Fault::TruncateAndClose, false, true);
    assert!(matches!(err, Error::Transport(TransportError::ClosedMidPdu { .. })), "{err}");
}

#[test]
fn connection_dropped() {
    let err = read_error(Fault::DropConnection, true, true);
    assert!(matches!(err, Error::Transport(TransportError::Closed)), "{err}");
}

#[test]
fn silent_target_times_out() {
    let err = read_error(Fault::Silence, false, false);
    assert!(matches!(err, Error::Transport(TransportError::Timeout)), "{err}");
}

#[test]
fn c2h_term_req_is_reported() {
    let err = read_error(Fault::Terminate, false, false);
    assert!(
        matches!(err, Error::Terminated { status: TermReqStatus::DataTransferOutOfRange, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("Data Transfer Out of Range"));
}

// The reads above are 8192 bytes (command ID 0 on a fresh queue); the faults below get the
// byte count right, or nearly so, and the placement wrong.

#[test]
fn duplicate_range_with_a_missing_range_is_rejected_at_the_duplicate() {
    let err = read_error(Fault::DuplicateRange, false, false);
    assert_eq!(
        err.to_string(),
        "protocol violation by the target: C2HData for command 0 carries bytes 0..2048, but bytes 0..2048 had already arrived"
    );
    assert!(matches!(err, Error::Violation(Violation::Duplicate { cid: 0, range, overlap }) if range == (0..2048) && overlap == (0..2048)));
}

#[test]
fn missing_range_fails_a_capsule_resp_completion() {
    let err = read_error(Fault::MissingRange, true, true);
    assert!(
        matches!(&err, Error::Violation(Violation::Incomplete { cid: 0, by: "CapsuleResp", missing, received: 6144, len: 8192 }) if *missing == (2048..4096)),
        "{err}"
    );
    assert!(err.to_string().contains("without bytes 2048..4096 of its 8192-byte transfer"), "{err}");
}

#[test]
fn missing_range_fails_a_success_flag_completion() {
    let err = read_error_with(Fault::MissingRange, false, false, |c| c.c2h_success = true);
    assert!(
        matches!(&err, Error::Violation(Violation::Incomplete { by: "C2HData SUCCESS flag", missing, .. }) if *missing == (2048..4096)),
        "{err}"
    );
}

#[test]
fn data_beyond_the_transfer_is_rejected() {
    let err = read_error(Fault::DataBeyondTransfer, false, true);
    assert!(
        matches!(&err, Error::Violation(Violation::BeyondTransfer { cid: 0, range, len: 8192 }) if *range == (4096..8704)),
        "{err}"
    );
    assert!(err.to_string().contains("carries bytes 4096..8704 of a 8192-byte transfer"), "{err}");
}

#[test]
fn data_after_the_last_pdu_is_rejected() {
    let err = read_error(Fault::DataAfterLast, false, false);
    assert!(matches!(&err, Error::Violation(Violation::AfterLast { cid: 0, range }) if *range == (7680..8192)), "{err}");
}

#[test]
fn completion_naming_another_submission_queue() {
    let err = read_error(Fault::WrongSqId, false, false);
    assert!(matches!(err, Error::Violation(Violation::WrongSqId { cid: 0, sq_id: 9, qid: 1 })), "{err}");
}

#[test]
fn completion_with_an_sq_head_outside_the_queue() {
    let err = read_error(Fault::SqHeadOutOfRange, false, false);
    assert!(matches!(err, Error::Violation(Violation::SqHeadOutOfRange { cid: 0, sq_head: 128, queue_size: 128 })), "{err}");
}

/// A listener that runs `peer` on the first connection.
fn raw_peer(peer: impl FnOnce(std::net::TcpStream) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            peer(stream);
        }
    });
    addr
}

fn connect_to(addr: String) -> Error {
    let mut opts = ddpnic::nvme_tcp::initiator::ConnectOptions::new(addr, NQN);
    opts.timeout = Duration::from_millis(500);
    let started = Instant::now();
    let err = Controller::connect(&opts).err().expect("a broken peer cannot be connected to");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    err
}

#[test]
fn peer_closes_before_icresp() {
    let err = connect_to(raw_peer(|mut s| {
        let mut icreq = [0u8; 128];
        let _ = s.read_exact(&mut icreq);
    }));
    assert!(matches!(err, Error::Transport(TransportError::Closed)), "{err}");
}

#[test]
fn peer_never_answers_icreq() {
    let err = connect_to(raw_peer(|s| {
        std::thread::sleep(Duration::from_secs(2));
        drop(s);
    }));
    assert!(matches!(err, Error::Transport(TransportError::Timeout)), "{err}");
}

/// A peer that reads the ICReq, answers with `reply` and lingers a moment.
fn answer_icreq_with(reply: Vec<u8>) -> String {
    raw_peer(move |mut s| {
        let mut icreq = [0u8; 128];
        let _ = s.read_exact(&mut icreq);
        let _ = s.write_all(&reply);
        std::thread::sleep(Duration::from_millis(200));
    })
}

/// An ICResp-sized PDU of `pdu_type` with `plen`, the rest zero.
fn icresp_shaped(pdu_type: u8, plen: u32) -> Vec<u8> {
    let mut b = vec![0u8; 128];
    b[0] = pdu_type;
    b[2] = 128;
    b[4..8].copy_from_slice(&plen.to_le_bytes());
    b
}

#[test]
fn peer_answers_with_an_unknown_pdu_type() {
    let err = connect_to(answer_icreq_with(icresp_shaped(0x0A, 128)));
    assert!(matches!(err, Error::Transport(TransportError::Wire(WireError::UnknownType(0x0A)))), "{err}");
}

#[test]
fn peer_terminates_with_a_nonzero_pdo() {
    let mut term = icresp_shaped(3, 24);
    term.truncate(24);
    term[2] = 24;
    term[3] = 24;
    let err = connect_to(answer_icreq_with(term));
    assert!(
        matches!(err, Error::Transport(TransportError::Wire(WireError::TermReqPdo { pdu_type: PduType::C2HTermReq, pdo: 24 }))),
        "{err}"
    );
}

#[test]
fn peer_offers_an_invalid_maxh2cdata() {
    let mut icresp = icresp_shaped(1, 128);
    icresp[12..16].copy_from_slice(&2048u32.to_le_bytes());
    let err = connect_to(answer_icreq_with(icresp));
    assert!(matches!(&err, Error::Protocol(m) if m.contains("MAXH2CDATA 2048")), "{err}");
}

#[test]
fn peer_announces_a_huge_pdu_and_stops() {
    // A header that claims a 4 GiB PDU must not make the host allocate or wait forever.
    let header = icresp_shaped(1, u32::MAX)[..8].to_vec();
    let err = connect_to(answer_icreq_with(header));
    assert!(matches!(err, Error::Transport(TransportError::Wire(WireError::PlenMismatch { .. }))), "{err}");
}
