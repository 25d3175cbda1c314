//! Test support for the header parser: random frames built with `etherparse`, expectations
//! read back with `etherparse` (never from the block), a driver for the rust-hdl block, a
//! checker, and Verilator replay vectors.
#![allow(dead_code)]
use ddpnic_hdl::bytes::{bits_from_lanes, lanes_from_bits};
use ddpnic_hdl::parser::HeaderParser;
use ddpnic_hdl::testbench::replay::{Cycle, Port};
use ddpnic_hdl::testbench::cycle;
use etherparse::{EtherType, Ethernet2Header, IpFragOffset, IpNumber, Ipv4Header, Ipv6Header, NetSlice, SingleVlanHeader, SlicedPacket, TcpHeader, TcpSlice, UdpHeader, VlanId};
use num_bigint::BigUint;
use rand::{rngs::SmallRng, Rng, SeedableRng};
use rust_hdl::prelude::Block;

/// What an independent reader (etherparse) says the block must report for a frame.
#[derive(Clone, Debug, Default)]
pub struct Expect {
    pub vlan: Option<u16>,
    pub ipv4: bool,
    pub ipv6: bool,
    pub is_tcp: bool,
    pub ip_fragment: bool,
    pub ip6_ext: bool,
    pub ip_csum_ok: bool,
    pub src_ip: u128,
    pub dst_ip: u128,
    /// (src port, dst port, seq, ack, 12 flag bits, payload start, payload, checksum right)
    pub tcp: Option<(u16, u16, u32, u32, u16, usize, Vec<u8>, bool)>,
    /// Frame cut short at this length (the full frame's expectation otherwise applies).
    pub cut: Option<usize>,
    /// Bytes the headers need (L2 for non-IP, up to the payload for TCP, L4 start for IP).
    pub needed: usize,
}

pub struct Frame {
    pub bytes: Vec<u8>,
    pub expect: Expect,
    pub label: &'static str,
}

fn ip_number_tcp() -> IpNumber {
    IpNumber::TCP
}

fn be128(a: &[u8]) -> u128 {
    a.iter().fold(0u128, |acc, &b| (acc << 8) | u128::from(b))
}

/// Reads a frame back with etherparse.
pub fn expect_of(frame: &[u8]) -> Expect {
    let mut e = Expect::default();
    let p = SlicedPacket::from_ethernet(frame).unwrap_or_else(|err| panic!("etherparse cannot read a generated frame of {} bytes: {err:?}", frame.len()));
    let l2 = if let Some(etherparse::LinkExtSlice::Vlan(v)) = p.link_exts.first() {
        e.vlan = Some(v.vlan_identifier().value());
        18
    } else {
        14
    };
    e.needed = l2;
    let base = frame.as_ptr() as usize;
    let tcp_of = |payload: &[u8], src: &dyn Fn(&TcpSlice) -> u16| -> Option<(u16, u16, u32, u32, u16, usize, Vec<u8>, bool)> {
        let t = TcpSlice::from_slice(payload).ok()?;
        let flags = (u16::from(t.ns()) << 8)
            | (u16::from(t.cwr()) << 7)
            | (u16::from(t.ece()) << 6)
            | (u16::from(t.urg()) << 5)
            | (u16::from(t.ack()) << 4)
            | (u16::from(t.psh()) << 3)
            | (u16::from(t.rst()) << 2)
            | (u16::from(t.syn()) << 1)
            | u16::from(t.fin());
        let start = t.payload().as_ptr() as usize - base;
        Some((t.source_port(), t.destination_port(), t.sequence_number(), t.acknowledgment_number(), flags, start, t.payload().to_vec(), src(&t) == t.checksum()))
    };
    match &p.net {
        Some(NetSlice::Ipv4(ip)) => {
            let h = ip.header();
            e.ipv4 = true;
            e.ip_csum_ok = h.to_header().calc_header_checksum() == h.header_checksum();
            e.ip_fragment = h.more_fragments() || h.fragments_offset().value() != 0;
            e.src_ip = be128(&h.source());
            e.dst_ip = be128(&h.destination());
            e.needed = l2 + h.ihl() as usize * 4;
            if h.protocol() == ip_number_tcp() {
                e.is_tcp = true;
                let (s, d) = (h.source(), h.destination());
                e.tcp = tcp_of(ip.payload().payload, &|t| t.calc_checksum_ipv4(s, d).unwrap());
                e.needed = e.tcp.as_ref().map_or(e.needed, |t| t.5);
            }
        }
        Some(NetSlice::Ipv6(ip)) => {
            let h = ip.header();
            e.ipv6 = true;
            e.ip_csum_ok = true;
            e.src_ip = be128(&h.source());
            e.dst_ip = be128(&h.destination());
            e.needed = l2 + 40;
            if !ip.extensions().is_empty() {
                e.ip6_ext = true;
                e.ip_fragment = h.next_header() == IpNumber::IPV6_FRAGMENTATION_HEADER;
            } else if h.next_header() == ip_number_tcp() {
                e.is_tcp = true;
                let (s, d) = (h.source(), h.destination());
                e.tcp = tcp_of(ip.payload().payload, &|t| t.calc_checksum_ipv6(s, d).unwrap());
                e.needed = e.tcp.as_ref().map_or(e.needed, |t| t.5);
            }
        }
        _ => {}
    }
    e
}

fn mac(rng: &mut SmallRng) -> [u8; 6] {
    rng.gen()
}

fn payload_len(rng: &mut SmallRng) -> usize {
    match rng.gen_range(0..10) {
        0..=2 => rng.gen_range(0..=8),
        3..=7 => rng.gen_range(9..=1460),
        _ => rng.gen_range(1461..=9000),
    }
}

/// Options: none (often, so short frames need padding), or a random multiple of 4 bytes.
fn words4(rng: &mut SmallRng, max_words: usize) -> Vec<u8> {
    let n = if rng.gen_bool(0.4) { 0 } else { 4 * rng.gen_range(0..=max_words) };
    (0..n).map(|_| rng.gen()).collect()
}

/// L2 header (optionally with one 802.1Q tag) for `ether_type`.
fn l2(rng: &mut SmallRng, vlan: bool, ether_type: EtherType, out: &mut Vec<u8>) {
    let outer = if vlan { EtherType::VLAN_TAGGED_FRAME } else { ether_type };
    Ethernet2Header { source: mac(rng), destination: mac(rng), ether_type: outer }.write(out).unwrap();
    if vlan {
        SingleVlanHeader {
            pcp: etherparse::VlanPcp::try_new(rng.gen_range(0..8)).unwrap(),
            drop_eligible_indicator: rng.gen(),
            vlan_id: VlanId::try_new(rng.gen_range(0..4096)).unwrap(),
            ether_type,
        }
        .write(out)
        .unwrap();
    }
}

fn tcp_header(rng: &mut SmallRng) -> TcpHeader {
    let mut t = TcpHeader::new(rng.gen(), rng.gen(), rng.gen(), rng.gen());
    t.acknowledgment_number = rng.gen();
    (t.ns, t.fin, t.syn, t.rst, t.psh, t.ack, t.urg, t.ece, t.cwr) = (rng.gen(), rng.gen(), rng.gen(), rng.gen(), rng.gen(), rng.gen(), rng.gen(), rng.gen(), rng.gen());
    t.set_options_raw(&words4(rng, 10)).unwrap();
    t
}

/// A TCP frame: IPv4 (with options) or IPv6, VLAN or not; checksums right unless corrupted.
fn tcp_frame(rng: &mut SmallRng, v6: bool, vlan: bool, fragment: bool) -> Vec<u8> {
    let payload: Vec<u8> = (0..payload_len(rng)).map(|_| rng.gen()).collect();
    let mut t = tcp_header(rng);
    let mut out = Vec::new();
    if v6 {
        l2(rng, vlan, EtherType::IPV6, &mut out);
        let ip = Ipv6Header {
            traffic_class: rng.gen(),
            flow_label: etherparse::Ipv6FlowLabel::try_new(rng.gen_range(0..1 << 20)).unwrap(),
            payload_length: (t.header_len() + payload.len()) as u16,
            next_header: IpNumber::TCP,
            hop_limit: rng.gen(),
            source: rng.gen(),
            destination: rng.gen(),
        };
        t.checksum = t.calc_checksum_ipv6(&ip, &payload).unwrap();
        ip.write(&mut out).unwrap();
    } else {
        l2(rng, vlan, EtherType::IPV4, &mut out);
        let mut ip = Ipv4Header::new((t.header_len() + payload.len()) as u16, rng.gen(), IpNumber::TCP, rng.gen(), rng.gen()).unwrap();
        ip.identification = rng.gen();
        ip.dont_fragment = rng.gen();
        ip.options = etherparse::Ipv4Options::try_from(&words4(rng, 10)[..]).unwrap();
        // Options change the total length: rebuild it.
        ip.total_len = (ip.header_len() + t.header_len() + payload.len()) as u16;
        t.checksum = t.calc_checksum_ipv4(&ip, &payload).unwrap();
        if fragment {
            if rng.gen() {
                ip.more_fragments = true;
            } else {
                ip.fragment_offset = IpFragOffset::try_new(rng.gen_range(1..8192)).unwrap();
                ip.more_fragments = rng.gen();
            }
        }
        ip.header_checksum = ip.calc_header_checksum();
        ip.write(&mut out).unwrap();
    }
    t.write(&mut out).unwrap();
    out.extend_from_slice(&payload);
    out
}

fn udp_frame(rng: &mut SmallRng, v6: bool, vlan: bool) -> Vec<u8> {
    let payload: Vec<u8> = (0..rng.gen_range(0..600)).map(|_| rng.gen()).collect();
    let mut out = Vec::new();
    if v6 {
        l2(rng, vlan, EtherType::IPV6, &mut out);
        let ip = Ipv6Header { traffic_class: 0, flow_label: Default::default(), payload_length: (8 + payload.len()) as u16, next_header: IpNumber::UDP, hop_limit: 64, source: rng.gen(), destination: rng.gen() };
        let u = UdpHeader::with_ipv6_checksum(rng.gen(), rng.gen(), &ip, &payload).unwrap();
        ip.write(&mut out).unwrap();
        u.write(&mut out).unwrap();
    } else {
        l2(rng, vlan, EtherType::IPV4, &mut out);
        let mut ip = Ipv4Header::new((8 + payload.len()) as u16, 64, IpNumber::UDP, rng.gen(), rng.gen()).unwrap();
        ip.header_checksum = ip.calc_header_checksum();
        let u = UdpHeader::with_ipv4_checksum(rng.gen(), rng.gen(), &ip, &payload).unwrap();
        ip.write(&mut out).unwrap();
        u.write(&mut out).unwrap();
    }
    out.extend_from_slice(&payload);
    out
}

/// IPv6 with a hop-by-hop options header (8 bytes) before TCP: passed through, not offloaded.
fn ipv6_ext_frame(rng: &mut SmallRng, vlan: bool) -> Vec<u8> {
    let payload: Vec<u8> = (0..rng.gen_range(0..300)).map(|_| rng.gen()).collect();
    let t = tcp_header(rng);
    let mut out = Vec::new();
    l2(rng, vlan, EtherType::IPV6, &mut out);
    let ip = Ipv6Header { traffic_class: 0, flow_label: Default::default(), payload_length: (8 + t.header_len() + payload.len()) as u16, next_header: IpNumber::IPV6_HEADER_HOP_BY_HOP, hop_limit: 64, source: rng.gen(), destination: rng.gen() };
    ip.write(&mut out).unwrap();
    out.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]); // next header TCP, PadN
    t.write(&mut out).unwrap();
    out.extend_from_slice(&payload);
    out
}

fn other_frame(rng: &mut SmallRng, vlan: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if rng.gen() {
        // ARP request/reply for IPv4 over Ethernet.
        l2(rng, vlan, EtherType::ARP, &mut out);
        out.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, rng.gen_range(1..=2)]);
        out.extend((0..20).map(|_| rng.gen::<u8>()));
        return out;
    }
    // Ethertypes etherparse does not interpret: LLDP, local experimental, MAC control, WoL, random.
    let et = match rng.gen_range(0..5) {
        0 => 0x88CC,
        1 => 0x88B5,
        2 => 0x8808,
        3 => 0x0842,
        _ => rng.gen_range(0x0600..0x0800),
    };
    l2(rng, vlan, EtherType(et), &mut out);
    out.extend((0..rng.gen_range(28..200)).map(|_| rng.gen::<u8>()));
    out
}

/// Pads to the 60-byte Ethernet minimum with non-zero junk the parser must ignore.
fn pad(rng: &mut SmallRng, f: &mut Vec<u8>) {
    while f.len() < 60 {
        f.push(rng.gen_range(1..=255));
    }
}

/// A random frame with its expectation.
pub fn random_frame(rng: &mut SmallRng) -> Frame {
    let vlan = rng.gen_bool(0.3);
    let v6 = rng.gen_bool(0.3);
    let (mut bytes, label) = match rng.gen_range(0..100) {
        0..=7 => (udp_frame(rng, v6, vlan), "udp"),
        8..=12 => (other_frame(rng, vlan), "other"),
        13..=16 => (ipv6_ext_frame(rng, vlan), "ipv6-ext"),
        17..=22 => (tcp_frame(rng, false, vlan, true), "ipv4-fragment"),
        _ => (tcp_frame(rng, v6, vlan, false), "tcp"),
    };
    // Corruption, after the checksums were computed.
    let mut label = label;
    if label == "tcp" {
        let l3 = if vlan { 18 } else { 14 };
        match rng.gen_range(0..100) {
            0..=11 if !v6 => {
                bytes[l3 + 10] ^= rng.gen_range(1..=255); // IPv4 header checksum
                label = "bad-ip-csum";
            }
            12..=23 => {
                let at = rng.gen_range(l3 + if v6 { 40 } else { 20 }..bytes.len());
                // Any byte of the segment except the data offset (keep it parseable).
                let tcp_start = l3 + if v6 { 40 } else { 4 * (bytes[l3] & 15) as usize };
                if at != tcp_start + 12 && at >= tcp_start {
                    bytes[at] ^= rng.gen_range(1..=255);
                    label = "bad-tcp-csum";
                }
            }
            _ => {}
        }
    }
    let mut expect = expect_of(&bytes);
    if matches!(label, "tcp" | "bad-tcp-csum" | "bad-ip-csum" | "udp") && rng.gen_bool(0.1) {
        let cut = rng.gen_range(1..bytes.len());
        bytes.truncate(cut);
        expect.cut = Some(cut);
        label = "truncated";
    } else {
        pad(rng, &mut bytes);
    }
    Frame { bytes, expect, label }
}

/// One cycle of input and what came out after its clock edge.
#[derive(Clone, Debug, Default)]
pub struct Obs {
    pub valid: bool,
    pub data: Vec<u8>,
    pub len: usize,
    pub last: bool,
    pub sof: bool,
    pub payload: u64,
    pub vlan: bool,
    pub vlan_id: u16,
    pub ipv4: bool,
    pub ipv6: bool,
    pub is_tcp: bool,
    pub ip_fragment: bool,
    pub ip6_ext: bool,
    pub ip_csum_ok: bool,
    pub hdr_ok: bool,
    pub hdr_cut: bool,
    pub hdr_candidate: bool,
    pub src_ip: u128,
    pub dst_ip: u128,
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub tcp_flags: u16,
    pub payload_start: usize,
    pub payload_len: usize,
    pub truncated: bool,
    pub tcp_csum_ok: bool,
    pub offload_ok: bool,
}

#[derive(Clone, Debug)]
pub struct InCycle {
    pub valid: bool,
    pub data: Vec<u8>,
    pub len: usize,
    pub last: bool,
}

/// Beats for the frames: back-to-back or with idle gaps, junk in unused lanes and idle
/// cycles, and occasional idle cycles inside a frame after its header window.
pub fn schedule(w: usize, frames: &[Frame], seed: u64, window: usize) -> Vec<InCycle> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut out = Vec::new();
    let junk = |rng: &mut SmallRng| (0..w).map(|_| rng.gen()).collect::<Vec<u8>>();
    for f in frames {
        for _ in 0..if rng.gen_bool(0.5) { 0 } else { rng.gen_range(1..4) } {
            out.push(InCycle { valid: false, data: junk(&mut rng), len: rng.gen_range(0..2 * w), last: rng.gen() });
        }
        let beats = f.bytes.len().div_ceil(w);
        for b in 0..beats {
            if b >= window && rng.gen_bool(0.02) {
                out.push(InCycle { valid: false, data: junk(&mut rng), len: w, last: false });
            }
            let chunk = &f.bytes[b * w..((b + 1) * w).min(f.bytes.len())];
            let mut data = junk(&mut rng);
            data[..chunk.len()].copy_from_slice(chunk);
            let last = b + 1 == beats;
            out.push(InCycle { valid: true, data, len: if last { chunk.len() } else { w }, last });
        }
    }
    let lat = 64;
    for _ in 0..lat {
        out.push(InCycle { valid: false, data: vec![0; w], len: 0, last: false });
    }
    out
}

fn big_u128(b: BigUint) -> u128 {
    b.to_u64_digits().iter().rev().fold(0u128, |acc, &d| (acc << 64) | u128::from(d))
}

/// Runs the rust-hdl block over the cycles.
pub fn drive<const W: usize, const D: usize, const L: usize, const P: usize>(cycles: &[InCycle]) -> Vec<Obs> {
    let mut uut = HeaderParser::<W, D, L, P>::new();
    uut.connect_all();
    rust_hdl::prelude::check_all(&uut).expect("block checks");
    let mut obs = Vec::with_capacity(cycles.len());
    for c in cycles {
        uut.s_valid.next = c.valid;
        uut.s_data.next = bits_from_lanes(&c.data);
        uut.s_len.next = (c.len as u64).into();
        uut.s_last.next = c.last;
        cycle(&mut uut, |u| &mut u.clock);
        obs.push(Obs {
            valid: uut.m_valid.val(),
            data: lanes_from_bits(uut.m_data.val()),
            len: uut.m_len.val().index(),
            last: uut.m_last.val(),
            sof: uut.m_sof.val(),
            payload: BigUint::from(uut.m_payload.val()).to_u64_digits().first().copied().unwrap_or(0),
            vlan: uut.m_vlan.val(),
            vlan_id: uut.m_vlan_id.val().index() as u16,
            ipv4: uut.m_ipv4.val(),
            ipv6: uut.m_ipv6.val(),
            is_tcp: uut.m_is_tcp.val(),
            ip_fragment: uut.m_ip_fragment.val(),
            ip6_ext: uut.m_ip6_ext.val(),
            ip_csum_ok: uut.m_ip_csum_ok.val(),
            hdr_ok: uut.m_hdr_ok.val(),
            hdr_cut: uut.m_hdr_cut.val(),
            hdr_candidate: uut.m_hdr_candidate.val(),
            src_ip: big_u128(uut.m_src_ip.val().into()),
            dst_ip: big_u128(uut.m_dst_ip.val().into()),
            src_port: uut.m_src_port.val().index() as u16,
            dst_port: uut.m_dst_port.val().index() as u16,
            seq: uut.m_seq.val().index() as u32,
            ack: uut.m_ack.val().to_u64() as u32,
            tcp_flags: uut.m_tcp_flags.val().index() as u16,
            payload_start: uut.m_payload_start.val().index(),
            payload_len: uut.m_payload_len.val().index(),
            truncated: uut.m_truncated.val(),
            tcp_csum_ok: uut.m_tcp_csum_ok.val(),
            offload_ok: uut.m_offload_ok.val(),
        });
    }
    obs
}

/// Tallies of what a run covered.
#[derive(Debug, Default)]
pub struct Coverage {
    pub frames: usize,
    pub offloaded: usize,
    pub tcp_bad_csum: usize,
    pub ip_bad_csum: usize,
    pub truncated: usize,
    pub fragments: usize,
    pub ipv6: usize,
    pub vlan: usize,
    pub ip6_ext: usize,
    pub non_tcp: usize,
    pub padded: usize,
    pub payload_bytes: usize,
}

/// Every output beat against the input beats and every frame's metadata against etherparse.
pub fn check(w: usize, frames: &[Frame], inputs: &[InCycle], obs: &[Obs]) -> Coverage {
    let ins: Vec<&InCycle> = inputs.iter().filter(|c| c.valid).collect();
    let outs: Vec<(usize, &Obs)> = obs.iter().enumerate().filter(|(_, o)| o.valid).collect();
    assert_eq!(ins.len(), outs.len(), "every beat comes out, none is added");
    let mut cov = Coverage::default();
    let mut k = 0;
    for (fi, f) in frames.iter().enumerate() {
        let e = &f.expect;
        let beats = f.bytes.len().div_ceil(w);
        let ctx = |what: &str| format!("frame {fi} ({}, {} bytes, {:?}): {what}", f.label, f.bytes.len(), e.cut);
        let head = outs[k].1;
        assert!(head.sof, "{}", ctx("m_sof on the first beat"));
        let mut payload = Vec::new();
        for b in 0..beats {
            let (cyc, o) = outs[k + b];
            let i = ins[k + b];
            assert_eq!((&o.data, o.len, o.last), (&i.data, i.len, i.last), "{}", ctx(&format!("beat {b} (cycle {cyc}) passes through unchanged")));
            assert_eq!(o.sof, b == 0, "{}", ctx("m_sof"));
            for lane in 0..w {
                if o.payload >> lane & 1 == 1 {
                    payload.push(o.data[lane]);
                }
            }
            if b + 1 < beats {
                assert!(!o.truncated && !o.tcp_csum_ok && !o.offload_ok, "{}", ctx("verdicts only on the last beat"));
            }
        }
        let tail = outs[k + beats - 1].1;
        k += beats;
        cov.frames += 1;
        let cut = e.cut.unwrap_or(usize::MAX);
        let hdr_cut = cut < e.needed;
        assert_eq!(head.hdr_cut, hdr_cut, "{}", ctx("m_hdr_cut"));
        assert_eq!(tail.truncated, e.cut.is_some(), "{}", ctx("m_truncated"));
        if e.cut.is_some() {
            cov.truncated += 1;
            assert!(!tail.offload_ok, "{}", ctx("a truncated frame is never offloaded"));
        }
        if hdr_cut {
            assert!(!head.hdr_candidate && payload.is_empty(), "{}", ctx("no payload from a frame cut in its headers"));
            continue;
        }
        assert_eq!(head.vlan, e.vlan.is_some(), "{}", ctx("m_vlan"));
        assert_eq!(head.vlan_id, e.vlan.unwrap_or(0), "{}", ctx("m_vlan_id"));
        assert_eq!((head.ipv4, head.ipv6), (e.ipv4, e.ipv6), "{}", ctx("IP version"));
        assert_eq!(head.is_tcp, e.is_tcp, "{}", ctx("m_is_tcp"));
        assert_eq!(head.ip6_ext, e.ip6_ext, "{}", ctx("m_ip6_ext"));
        assert_eq!(head.ip_fragment, e.ip_fragment, "{}", ctx("m_ip_fragment"));
        assert_eq!(head.ip_csum_ok, e.ip_csum_ok, "{}", ctx("m_ip_csum_ok"));
        assert!(head.hdr_ok, "{}", ctx("m_hdr_ok"));
        cov.vlan += usize::from(e.vlan.is_some());
        cov.ipv6 += usize::from(e.ipv6);
        cov.ip6_ext += usize::from(e.ip6_ext);
        cov.fragments += usize::from(e.ip_fragment);
        cov.ip_bad_csum += usize::from(e.ipv4 && !e.ip_csum_ok);
        if e.ipv4 || e.ipv6 {
            assert_eq!((head.src_ip, head.dst_ip), (e.src_ip, e.dst_ip), "{}", ctx("addresses"));
        }
        let candidate = e.is_tcp && !e.ip_fragment && e.ip_csum_ok;
        assert_eq!(head.hdr_candidate, candidate, "{}", ctx("m_hdr_candidate"));
        match &e.tcp {
            Some((sp, dp, seq, ack, flags, start, data, csum_ok)) => {
                assert_eq!((head.src_port, head.dst_port, head.seq, head.ack, head.tcp_flags), (*sp, *dp, *seq, *ack, *flags), "{}", ctx("TCP fields"));
                assert_eq!((head.payload_start, head.payload_len), (*start, data.len()), "{}", ctx("payload start and length"));
                let expected_payload: &[u8] = if candidate { &data[..data.len().min(cut.saturating_sub(*start))] } else { &[] };
                assert_eq!(payload, expected_payload, "{}", ctx("payload lanes"));
                cov.payload_bytes += payload.len();
                cov.padded += usize::from(f.bytes.len() > start + data.len());
                if e.cut.is_none() {
                    assert_eq!(tail.tcp_csum_ok, *csum_ok, "{}", ctx("m_tcp_csum_ok"));
                    assert_eq!(tail.offload_ok, candidate && *csum_ok, "{}", ctx("m_offload_ok"));
                    cov.tcp_bad_csum += usize::from(!csum_ok);
                    cov.offloaded += usize::from(tail.offload_ok);
                }
            }
            None => {
                cov.non_tcp += 1;
                assert!(payload.is_empty() && !tail.offload_ok && !tail.tcp_csum_ok, "{}", ctx("non-TCP: no payload, no offload"));
            }
        }
    }
    assert_eq!(k, outs.len());
    cov
}

pub fn frames(seed: u64, n: usize) -> Vec<Frame> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..n).map(|_| random_frame(&mut rng)).collect()
}

/// The block's ports for replay: inputs, then outputs, widths for `w`.
pub fn ports(w: usize) -> (Vec<Port>, Vec<Port>) {
    let lb = w.trailing_zeros() as usize;
    let inputs = vec![("s_valid", 1), ("s_data", 8 * w), ("s_len", lb + 1), ("s_last", 1)];
    let outputs = vec![
        ("m_valid", 1),
        ("m_data", 8 * w),
        ("m_len", lb + 1),
        ("m_last", 1),
        ("m_sof", 1),
        ("m_payload", w),
        ("m_vlan", 1),
        ("m_vlan_id", 12),
        ("m_ipv4", 1),
        ("m_ipv6", 1),
        ("m_is_tcp", 1),
        ("m_ip_fragment", 1),
        ("m_ip6_ext", 1),
        ("m_ip_csum_ok", 1),
        ("m_hdr_ok", 1),
        ("m_hdr_cut", 1),
        ("m_hdr_candidate", 1),
        ("m_src_ip", 128),
        ("m_dst_ip", 128),
        ("m_src_port", 16),
        ("m_dst_port", 16),
        ("m_seq", 32),
        ("m_ack", 32),
        ("m_tcp_flags", 12),
        ("m_payload_start", 16),
        ("m_payload_len", 16),
        ("m_truncated", 1),
        ("m_tcp_csum_ok", 1),
        ("m_offload_ok", 1),
    ];
    (inputs, outputs)
}

/// Replay vectors: the rust-hdl block's outputs are the expected values, every bit cared for.
pub fn replay_cycles(w: usize, inputs: &[InCycle], obs: &[Obs]) -> Vec<Cycle> {
    let (_, outs) = ports(w);
    let b = |v: u128| BigUint::from(v);
    inputs
        .iter()
        .zip(obs)
        .map(|(c, o)| {
            let inputs = vec![b(c.valid.into()), BigUint::from_bytes_le(&c.data), b(c.len as u128), b(c.last.into())];
            let expected = vec![
                b(o.valid.into()),
                BigUint::from_bytes_le(&o.data),
                b(o.len as u128),
                b(o.last.into()),
                b(o.sof.into()),
                b(o.payload.into()),
                b(o.vlan.into()),
                b(o.vlan_id.into()),
                b(o.ipv4.into()),
                b(o.ipv6.into()),
                b(o.is_tcp.into()),
                b(o.ip_fragment.into()),
                b(o.ip6_ext.into()),
                b(o.ip_csum_ok.into()),
                b(o.hdr_ok.into()),
                b(o.hdr_cut.into()),
                b(o.hdr_candidate.into()),
                b(o.src_ip),
                b(o.dst_ip),
                b(o.src_port.into()),
                b(o.dst_port.into()),
                b(o.seq.into()),
                b(o.ack.into()),
                b(o.tcp_flags.into()),
                b(o.payload_start as u128),
                b(o.payload_len as u128),
                b(o.truncated.into()),
                b(o.tcp_csum_ok.into()),
                b(o.offload_ok.into()),
            ];
            let care = outs.iter().map(|&(_, width)| (BigUint::from(1u8) << width) - 1u8).collect();
            Cycle { inputs, expected, care }
        })
        .collect()
}
