//! The initiator's receive path with the NIC's verdicts (`RxPath::recv_data_offloaded`): placed
//! bytes are not copied, the data digest is skipped only when the NIC placed every byte and
//! verified it, and is otherwise computed over the buffer, so bytes the NIC placed wrongly are
//! caught. The PDUs come from the wire encoder; the digest reference is the `crc32c` crate.
use ddpnic::nvme_tcp::transport::{DigestVerdict, Placement, RxPath, SoftwareRx};
use ddpnic::nvme_tcp::wire::repr::{Emission, PduRepr};
use ddpnic::nvme_tcp::wire::DigestConfig;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::io::Cursor;

const LEN: usize = 8192;

/// A stream that hands out at most 1000 bytes a read, as TCP segments arrive.
struct Trickle(Cursor<Vec<u8>>);

impl std::io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(1000);
        self.0.read(&mut buf[..n])
    }
}

fn stream(datas: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
    let emission = Emission { digests: DigestConfig { header: true, data: true }, data_alignment: 4 };
    let mut bytes = Vec::new();
    let mut ends = Vec::new();
    for (i, d) in datas.iter().enumerate() {
        bytes.extend(PduRepr::C2HData { command_id: i as u16, data_offset: 0, last: true, success: false, data: d }.emit(emission));
        ends.push(bytes.len() as u64);
    }
    (bytes, ends)
}

#[test]
fn placed_bytes_skip_the_copy_and_the_digest_only_when_verified() {
    let mut rng = SmallRng::seed_from_u64(3);
    let datas: Vec<Vec<u8>> = (0..4).map(|_| (0..LEN).map(|_| rng.gen()).collect()).collect();
    let (bytes, ends) = stream(&datas);
    let mut rx = SoftwareRx::new(Cursor::new(bytes));
    rx.set_digests(DigestConfig { header: true, data: true });

    // 1: placed and verified by the NIC: the buffer (already holding the data) is untouched,
    //    no CRC on the host.
    let h = rx.recv_header().unwrap();
    let mut dest = datas[0].clone();
    let r = rx.recv_data_offloaded(&h, &mut dest, &mut |r| vec![r], &mut |_| true).unwrap();
    assert_eq!((r.placement, r.digest), (Placement::PlacedByNic, DigestVerdict::VerifiedByNic));
    assert_eq!(dest, datas[0]);
    assert_eq!(rx.stream_position(), ends[0]);

    // 2: placed, but a packet of the PDU lacked crc_ok: the host computes the digest.
    let h = rx.recv_header().unwrap();
    let mut dest = datas[1].clone();
    let r = rx.recv_data_offloaded(&h, &mut dest, &mut |r| vec![r], &mut |_| false).unwrap();
    assert_eq!((r.placement, r.digest), (Placement::PlacedByNic, DigestVerdict::VerifiedBySoftware));

    // 3: "placed" bytes that are wrong, without crc_ok: the software digest catches them.
    let h = rx.recv_header().unwrap();
    let mut dest = datas[2].clone();
    dest[100] ^= 0x40;
    let e = rx.recv_data_offloaded(&h, &mut dest, &mut |r| vec![r], &mut |_| false).unwrap_err();
    assert!(e.to_string().to_lowercase().contains("digest"), "{e}");

    // 4: only the second half placed, with a hole: the first half and the hole are copied
    //    from the stream, the digest
    //    is computed (not every byte was placed, whatever the NIC says about crc_ok).
    let mut rx = {
        let (bytes, _) = stream(&datas[3..]);
        let mut rx = SoftwareRx::new(Trickle(Cursor::new(bytes)));
        rx.set_digests(DigestConfig { header: true, data: true });
        rx
    };
    let h = rx.recv_header().unwrap();
    let mut dest = vec![0u8; LEN];
    dest[LEN / 2..].copy_from_slice(&datas[3][LEN / 2..]);
    dest[LEN / 2 + 1000..LEN / 2 + 1007].fill(0);
    let mut asked = Vec::new();
    let r = rx
        .recv_data_offloaded(
            &h,
            &mut dest,
            &mut |range| {
                asked.push(range.clone());
                // the NIC placed the second half, and within it not 7 bytes
                let hole = LEN / 2 + 1000..LEN / 2 + 1007;
                [range.start.max(LEN / 2)..range.end.min(hole.start), range.start.max(hole.end)..range.end]
                    .into_iter()
                    .filter(|r| !r.is_empty())
                    .collect()
            },
            &mut |_| true,
        )
        .unwrap();
    assert!(asked.len() > 2, "asked once per arrival: {asked:?}");
    assert_eq!(dest, datas[3]);
    assert_eq!(r.digest, DigestVerdict::VerifiedBySoftware);
    assert_eq!(crc32c::crc32c(&dest), crc32c::crc32c(&datas[3]));
    let cpu = rx.cpu_breakdown();
    assert_eq!(cpu.data_bytes, LEN as u64);
    assert_eq!(cpu.placed_bytes, (LEN / 2 - 7) as u64, "exactly the placed parts skip the copy: {cpu:?}");
}
