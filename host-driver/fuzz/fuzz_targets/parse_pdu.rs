//! Coverage-guided fuzzing of the PDU parser: `cargo +nightly fuzz run parse_pdu` from
//! host-driver/. The first input byte picks the negotiated digests; the rest is the PDU.
//! Any accepted PDU must emit back to bytes that parse to the same value.
#![no_main]

use ddpnic::nvme_tcp::wire::{DigestConfig, Emission, Pdu, PduRepr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&selector, bytes)) = input.split_first() else { return };
    let digests = DigestConfig { header: selector & 1 != 0, data: selector & 2 != 0 };
    let Ok(pdu) = Pdu::new_checked(bytes, digests) else { return };
    let repr = PduRepr::parse(&pdu);
    let alignment = if repr.data().is_empty() { 4 } else { pdu.framing().data_start() };
    let emitted = repr.emit(Emission { digests, data_alignment: alignment });
    assert_eq!(emitted.len(), pdu.framing().plen);
    let again = Pdu::new_checked(&emitted[..], digests).expect("an emitted PDU parses");
    assert_eq!(PduRepr::parse(&again), repr);
});
