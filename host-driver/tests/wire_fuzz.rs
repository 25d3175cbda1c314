//! The PDU parser over a few hundred thousand generated and mutated PDUs (seeded, so any
//! failure reproduces): it must never panic, and every PDU it accepts must emit back to the
//! same bytes, apart from the bytes the spec reserves (listed here from the spec, not taken
//! from the code under test). The cargo-fuzz target in host-driver/fuzz does the same with
//! coverage guidance on nightly.

mod common;

use common::SpecPdu;
use ddpnic::nvme_tcp::wire::{DigestConfig, Emission, Pdu, PduRepr};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const ITERATIONS: usize = 300_000;

/// A valid PDU of a random type under `digests`, built by the test's own reference.
fn generate(rng: &mut SmallRng, digests: DigestConfig) -> Vec<u8> {
    let hd = if digests.header { 0x01 } else { 0 };
    let dd = if digests.data { 0x02 } else { 0 };
    let header_end = |hlen: usize| hlen + if digests.header { 4 } else { 0 };
    let random_data = |rng: &mut SmallRng, max: usize| -> Vec<u8> {
        let n = rng.gen_range(1..=max);
        (0..n).map(|_| rng.gen()).collect()
    };
    let aligned_pdo = |rng: &mut SmallRng, end: usize| -> u8 {
        let alignment = [4usize, 8, 16, 32, 64][rng.gen_range(0..5)];
        let pdo = end.div_ceil(alignment) * alignment;
        pdo.min(252) as u8
    };
    let data_fields = |cid: u16, ttag: u16, offset: u32, len: u32| {
        let mut f = Vec::with_capacity(16);
        f.extend_from_slice(&cid.to_le_bytes());
        f.extend_from_slice(&ttag.to_le_bytes());
        f.extend_from_slice(&offset.to_le_bytes());
        f.extend_from_slice(&len.to_le_bytes());
        f
    };
    match rng.gen_range(0..9) {
        0 | 1 => {
            let t = rng.gen_range(0..2u8);
            let mut fields = vec![0u8; 8];
            fields[2] = rng.gen_range(0..32);
            fields[3] = rng.gen_range(0..4);
            rng.fill(&mut fields[4..8]);
            SpecPdu { pdu_type: t, flags: 0, hlen: 128, pdo: 0, fields: &fields, data: &[] }.bytes()
        }
        2 => {
            let t = rng.gen_range(2..4u8);
            let fields: Vec<u8> = (0..6).map(|_| rng.gen()).collect();
            let data = if rng.gen() { random_data(rng, 128) } else { Vec::new() };
            SpecPdu { pdu_type: t, flags: 0, hlen: 24, pdo: 0, fields: &fields, data: &data }.bytes()
        }
        3 | 4 => {
            let sqe: Vec<u8> = (0..64).map(|_| rng.gen()).collect();
            if rng.gen() {
                SpecPdu { pdu_type: 4, flags: hd, hlen: 72, pdo: 0, fields: &sqe, data: &[] }.bytes()
            } else {
                let data = random_data(rng, 300);
                let pdo = aligned_pdo(rng, header_end(72));
                SpecPdu { pdu_type: 4, flags: hd | dd, hlen: 72, pdo, fields: &sqe, data: &data }.bytes()
            }
        }
        5 => {
            let cqe: Vec<u8> = (0..16).map(|_| rng.gen()).collect();
            SpecPdu { pdu_type: 5, flags: hd, hlen: 24, pdo: 0, fields: &cqe, data: &[] }.bytes()
        }
        6 | 7 => {
            let t = rng.gen_range(6..8u8);
            let data = random_data(rng, 300);
            let offset = rng.gen_range(0..u32::MAX - data.len() as u32);
            let ttag = if t == 6 { rng.gen() } else { 0 };
            let fields = data_fields(rng.gen(), ttag, offset, data.len() as u32);
            let transfer_flags = match (t, rng.gen_range(0..3)) {
                (_, 0) => 0,
                (7, 2) => 0x0C,
                _ => 0x04,
            };
            let pdo = aligned_pdo(rng, header_end(24));
            SpecPdu { pdu_type: t, flags: hd | dd | transfer_flags, hlen: 24, pdo, fields: &fields, data: &data }.bytes()
        }
        _ => {
            let length = rng.gen_range(1..=u32::MAX / 2);
            let offset = rng.gen_range(0..=u32::MAX - length);
            let fields = data_fields(rng.gen(), rng.gen(), offset, length);
            SpecPdu { pdu_type: 9, flags: hd, hlen: 24, pdo: 0, fields: &fields, data: &[] }.bytes()
        }
    }
}

fn mutate(rng: &mut SmallRng, pdu: &mut Vec<u8>, digests: DigestConfig) {
    match rng.gen_range(0..8) {
        0 => {}
        1 => {
            for _ in 0..rng.gen_range(1..=3) {
                let i = rng.gen_range(0..pdu.len());
                pdu[i] ^= 1 << rng.gen_range(0..8);
            }
        }
        2 => {
            let i = rng.gen_range(0..8.min(pdu.len()));
            pdu[i] = rng.gen();
        }
        3 => {
            let n = rng.gen_range(0..pdu.len());
            pdu.truncate(n);
        }
        4 => pdu.extend((0..rng.gen_range(1..64)).map(|_| rng.gen::<u8>())),
        5 => {
            let n = rng.gen_range(0..200);
            *pdu = (0..n).map(|_| rng.gen()).collect();
            if !pdu.is_empty() && rng.gen() {
                pdu[0] = [0u8, 1, 2, 3, 4, 5, 6, 7, 9][rng.gen_range(0..9)];
            }
        }
        _ => {
            // Change a header field, then re-seal the header digest so that the
            // structural checks, not the digest, have to catch the change.
            let hlen = pdu[2] as usize;
            let i = rng.gen_range(0..hlen.clamp(8, 24).min(pdu.len()));
            pdu[i] = rng.gen();
            let hlen = pdu[2] as usize;
            if digests.header && pdu.len() >= hlen + 4 {
                let d = crc32c::crc32c(&pdu[..hlen]).to_le_bytes();
                pdu[hlen..hlen + 4].copy_from_slice(&d);
            }
        }
    }
}

/// Bits of byte `i` that the spec reserves (their value is not carried by the PDU's
/// meaning), for a PDU of `pdu_type` whose header region ends at `header_end` and whose
/// data starts at `data_start`.
fn reserved_bits(pdu_type: u8, i: usize, header_end: usize, data_start: usize) -> u8 {
    if (header_end..data_start).contains(&i) {
        return 0xFF; // padding
    }
    match (pdu_type, i) {
        (0 | 1, 11) => 0xFC,
        (0 | 1, 16..=127) => 0xFF,
        (2 | 3, 3) => 0xFF,
        (2 | 3, 14..=23) => 0xFF,
        (7, 10..=11) => 0xFF,
        (6 | 7 | 9, 20..=23) => 0xFF,
        _ => 0,
    }
}

fn check_accepted(input: &[u8], digests: DigestConfig) -> bool {
    let Ok(pdu) = Pdu::new_checked(input, digests) else { return false };
    let framing = *pdu.framing();
    let repr = PduRepr::parse(&pdu);
    let alignment = if repr.data().is_empty() { 4 } else { framing.data_start() };
    let emitted = repr.emit(Emission { digests, data_alignment: alignment });
    // The reference form of the input: reserved bits cleared, header digest recomputed
    // over the cleared header (it covers the reserved bytes too).
    let mut canonical = input[..framing.plen].to_vec();
    let pdu_type = canonical[0];
    for (i, b) in canonical.iter_mut().enumerate() {
        *b &= !reserved_bits(pdu_type, i, framing.header_end(), framing.data_start());
    }
    if canonical[1] & 0x01 != 0 {
        let hlen = canonical[2] as usize;
        let d = crc32c::crc32c(&canonical[..hlen]).to_le_bytes();
        canonical[hlen..hlen + 4].copy_from_slice(&d);
    }
    assert_eq!(emitted.len(), canonical.len(), "{repr:?}: emitted length differs");
    if let Some(i) = emitted.iter().zip(&canonical).position(|(e, c)| e != c) {
        panic!("{repr:?}: byte {i} emitted as {:#04x}, received {:#04x}", emitted[i], canonical[i]);
    }
    let again = Pdu::new_checked(&emitted[..], digests).expect("an emitted PDU parses");
    assert_eq!(PduRepr::parse(&again), repr);
    true
}

#[test]
fn random_and_mutated_pdus_never_panic_and_accepted_ones_re_emit() {
    let mut rng = SmallRng::seed_from_u64(0x5EED_D0C5);
    let configs = [
        DigestConfig { header: false, data: false },
        DigestConfig { header: true, data: false },
        DigestConfig { header: false, data: true },
        DigestConfig { header: true, data: true },
    ];
    let (mut accepted, mut valid_accepted) = (0usize, 0usize);
    for n in 0..ITERATIONS {
        let digests = configs[n % configs.len()];
        let mut pdu = generate(&mut rng, digests);
        let pristine = pdu.clone();
        mutate(&mut rng, &mut pdu, digests);
        if check_accepted(&pdu, digests) {
            accepted += 1;
        }
        // Every generated PDU is valid: the parser must accept all of them.
        if pdu == pristine {
            assert!(Pdu::new_checked(&pdu[..], digests).is_ok(), "valid PDU rejected: {pdu:02x?}");
            valid_accepted += 1;
        }
    }
    // The mix must exercise both outcomes substantially, or the test proves little.
    assert!(valid_accepted > ITERATIONS / 10, "only {valid_accepted} unmutated PDUs");
    assert!(accepted > valid_accepted + ITERATIONS / 50, "mutations were almost never accepted ({accepted})");
    assert!(accepted < ITERATIONS * 3 / 4, "almost everything was accepted ({accepted})");
}
