//! The header parser's behaviour in plain Rust, bit for bit what the generated Verilog does.
//!
//! This is the block's own simulation model, written from the definitions in `super` (the
//! header view, the field formulas, the lane masks), not from the pipeline. Tests do not trust
//! it: they check it against `etherparse` and replay its outputs through the Verilog.
use std::collections::VecDeque;

/// Bytes of the frame the header parse looks at: Ethernet 14 + 802.1Q 4 + IPv4 60 + TCP 60.
pub const HDR_BYTES: usize = 138;
/// Bytes of the header view the parse reads: L3 start (at most 18) + `IP_BYTES`.
pub const HV_BYTES: usize = 18 + IP_BYTES;
/// Bytes from the L3 start the parse reads: IPv4 60 + the TCP header's first 14 bytes.
pub const IP_BYTES: usize = 74;
/// Parse pipeline stages after the snapshot of the header window.
pub const PARSE_STAGES: usize = 6;
/// IPv6 next-header values that are extension headers (RFC 8200, IANA list): such packets
/// are passed through and never offloaded.
pub const IPV6_EXT: [u8; 11] = [0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254];
/// Frame offsets (ip_end, thresholds) are this many bits: frames up to 128 KiB.
pub const OFF_BITS: usize = 17;

/// Beats of the header window: enough to hold `HDR_BYTES`.
pub fn window_beats(w: usize) -> usize {
    HDR_BYTES.div_ceil(w)
}

/// Adder-tree stages for the per-beat checksum (two adder levels per stage).
pub fn tree_stages(w: usize) -> usize {
    let levels = (w / 2).trailing_zeros() as usize;
    levels.div_ceil(2).max(1)
}

/// Clock edges from a beat at the inputs to the same beat at the outputs.
pub fn latency(w: usize) -> usize {
    window_beats(w) + PARSE_STAGES + 6 + tree_stages(w)
}

/// The per-frame header information, as the parse computes it from the header view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub vlan: bool,
    pub vlan_id: u16,
    pub ipv4: bool,
    pub ipv6: bool,
    pub is_tcp: bool,
    pub ip_fragment: bool,
    pub ip6_ext: bool,
    /// IPv4 header checksum right; always true for IPv6 (no header checksum), false otherwise.
    pub ip_csum_ok: bool,
    /// Version, IHL, lengths and TCP data offset consistent.
    pub hdr_ok: bool,
    /// The frame (or the header window, at a mid-frame gap) ends before the headers do.
    pub hdr_cut: bool,
    /// TCP, headers sane and present, not a fragment, IP checksum right: the tracker may use
    /// the payload now; it commits only on the end-of-frame verdict.
    pub hdr_candidate: bool,
    /// IPv4: the address in bits 31:0; IPv6: the address (first byte in bits 127:120).
    pub src_ip: u128,
    pub dst_ip: u128,
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    /// The 12 bits after the data offset: reserved, NS, CWR .. FIN.
    pub tcp_flags: u16,
    /// Frame offset of the TCP header and of the first payload byte.
    pub l4_start: u32,
    pub payload_start: u32,
    pub payload_len: u16,
    /// Frame offset just after the IP packet (Ethernet padding starts here).
    pub ip_end: u32,
    /// Pseudo-header sum (not folded): the checksum accumulator's initial value.
    pub pseudo: u32,
}

fn be16(a: &[u8], i: usize) -> u32 {
    (u32::from(a[i]) << 8) | u32::from(a[i + 1])
}

fn be_n(a: &[u8]) -> u128 {
    a.iter().fold(0u128, |acc, &b| (acc << 8) | u128::from(b))
}

/// Ones-complement fold of a sum to 16 bits, as the hardware does it (two folds).
pub fn fold(sum: u32) -> u32 {
    let f1 = (sum & 0xFFFF) + (sum >> 16);
    (f1 & 0xFFFF) + (f1 >> 16)
}

/// Parse the header view: `hv` holds the frame's first bytes (zero past `wlen`); `wlen` is the
/// frame's length within the header window (at least `HDR_BYTES` when the window is full).
pub fn parse_header(hv: &[u8; HV_BYTES], wlen: u32) -> Header {
    let vlan = be16(hv, 12) == 0x8100;
    let vlan_id = if vlan { (be16(hv, 14) & 0xFFF) as u16 } else { 0 };
    let et = if vlan { be16(hv, 16) } else { be16(hv, 12) };
    let (ipv4, ipv6) = (et == 0x0800, et == 0x86DD);
    let l3 = if vlan { 18 } else { 14 };
    let ip = &hv[l3..l3 + IP_BYTES];
    let (ver, ihl) = (u32::from(ip[0] >> 4), u32::from(ip[0] & 15));
    let t = if ipv6 { &ip[40..54] } else { &ip[4 * ihl as usize..4 * ihl as usize + 14] };
    let (total, plen, proto, nh) = (be16(ip, 2), be16(ip, 4), ip[9], ip[6]);
    let mf_or_offset = (ip[6] & 0x3F) != 0 || ip[7] != 0;
    let src_ip = if ipv6 { be_n(&ip[8..24]) } else { be_n(&ip[12..16]) };
    let dst_ip = if ipv6 { be_n(&ip[24..40]) } else { be_n(&ip[16..20]) };
    let ip_sum: u32 = (0..30).filter(|i| (i / 2) < ihl as usize).map(|i| be16(ip, 2 * i)).sum();
    let addr_sum: u32 = (0..8).map(|i| ((src_ip >> (16 * i)) & 0xFFFF) as u32 + ((dst_ip >> (16 * i)) & 0xFFFF) as u32).sum();
    let doff = u32::from(t[12] >> 4);
    let l4off = if ipv6 { 40 } else { ihl * 4 };
    let l4len = if ipv6 { plen } else { total.wrapping_sub(ihl * 4) & 0xFFFF };
    let is_tcp = (ipv4 && proto == 6) || (ipv6 && nh == 6);
    let ip6_ext = ipv6 && IPV6_EXT.contains(&nh);
    let ip_fragment = if ipv4 { mf_or_offset } else { ipv6 && nh == 44 };
    let l3 = l3 as u32;
    let l4_start = l3 + l4off;
    let payload_start = l4_start + doff * 4;
    let ip_end = (if ipv6 { l3 + 40 + plen } else { l3 + total }) & ((1 << OFF_BITS) - 1);
    let tcp_ok = doff >= 5 && l4len >= doff * 4;
    // Bytes the headers occupy, counting at least the minimum IPv4 and TCP headers, so that a
    // frame cut before its IHL or data offset byte is still seen as cut.
    let l4_min = if ipv6 { 40 } else { (ihl * 4).max(20) };
    let needed = if ipv4 || ipv6 { l3 + l4_min + if is_tcp { (doff * 4).max(20) } else { 0 } } else { l3 };
    let hdr_cut = wlen < needed;
    let hdr_ok = if ipv4 {
        ver == 4 && ihl >= 5 && total >= ihl * 4 && (!is_tcp || tcp_ok)
    } else if ipv6 {
        ver == 6 && (!is_tcp || tcp_ok)
    } else {
        true
    };
    let ip_csum_ok = ipv6 || (ipv4 && fold(ip_sum) == 0xFFFF);
    Header {
        vlan,
        vlan_id,
        ipv4,
        ipv6,
        is_tcp,
        ip_fragment,
        ip6_ext,
        ip_csum_ok,
        hdr_ok,
        hdr_cut,
        hdr_candidate: is_tcp && hdr_ok && !ip_fragment && ip_csum_ok && !hdr_cut,
        src_ip,
        dst_ip,
        src_port: be16(t, 0) as u16,
        dst_port: be16(t, 2) as u16,
        seq: (be16(t, 4) << 16) | be16(t, 6),
        ack: (be16(t, 8) << 16) | be16(t, 10),
        tcp_flags: ((u16::from(t[12]) & 0xF) << 8) | u16::from(t[13]),
        l4_start,
        payload_start,
        payload_len: (l4len.wrapping_sub(doff * 4) & 0xFFFF) as u16,
        ip_end,
        pseudo: addr_sum + 6 + l4len,
    }
}

/// One input beat: `len` (1..=W) counts the valid bytes of a last beat; other beats are full.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InBeat {
    pub valid: bool,
    pub data: Vec<u8>,
    pub len: usize,
    pub last: bool,
}

/// The outputs after a clock edge.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutRegs {
    pub valid: bool,
    pub data: Vec<u8>,
    pub len: usize,
    pub last: bool,
    pub sof: bool,
    /// Lanes of this beat holding TCP payload of a header candidate (bit i = lane i).
    pub payload: u64,
    /// Loaded on the frame's first output beat, held until the next frame's.
    pub hdr: Header,
    /// On the last beat (zero elsewhere).
    pub truncated: bool,
    pub tcp_csum_ok: bool,
    pub offload_ok: bool,
}

/// The block, beat by beat: a delay line of `latency(w)` edges with the header parse done on
/// the window of beats that follow each frame's first beat.
pub struct ParserModel {
    w: usize,
    hist: VecDeque<InBeat>,
    in_frame: bool,
    cur: Header,
    cnt: u64,
    acc: u32,
    out: OutRegs,
}

impl ParserModel {
    pub fn new(w: usize) -> Self {
        assert!(w.is_power_of_two() && (8..=64).contains(&w), "W must be 8, 16, 32 or 64");
        Self { w, hist: VecDeque::new(), in_frame: false, cur: Header::default(), cnt: 0, acc: 0, out: OutRegs { data: vec![0; w], ..Default::default() } }
    }

    pub fn outputs(&self) -> &OutRegs {
        &self.out
    }

    /// The header view of the frame starting at `hist[0]`, and its length.
    fn header_view(&self) -> ([u8; HV_BYTES], u32) {
        let mut hv = [0u8; HV_BYTES];
        let mut wlen = 0usize;
        for (j, beat) in self.hist.iter().take(window_beats(self.w)).enumerate() {
            if !beat.valid || (j > 0 && self.hist[j - 1].last) {
                break;
            }
            let n = if beat.last { beat.len } else { self.w };
            for i in 0..n.min(self.w) {
                if j * self.w + i < HV_BYTES {
                    hv[j * self.w + i] = beat.data[i];
                }
            }
            wlen += n;
            if beat.last {
                break;
            }
        }
        (hv, wlen as u32)
    }

    /// One rising clock edge with `input` at the inputs; returns the outputs after it.
    pub fn clock(&mut self, input: InBeat) -> &OutRegs {
        let w = self.w;
        let lat = latency(w);
        self.hist.push_back(input);
        if self.hist.len() < lat {
            return &self.out;
        }
        let (hv, wlen) = if self.hist[0].valid && !self.in_frame { self.header_view() } else { ([0; HV_BYTES], 0) };
        let e = self.hist.pop_front().expect("history is full");
        let mut o = OutRegs { data: e.data.clone(), len: e.len, hdr: self.out.hdr.clone(), ..Default::default() };
        if e.valid {
            let sof = !self.in_frame;
            self.in_frame = !e.last;
            let cnt_bits = OFF_BITS - w.trailing_zeros() as usize;
            if sof {
                self.cur = parse_header(&hv, wlen);
                self.cnt = 0;
                o.hdr = self.cur.clone();
            } else {
                self.cnt = (self.cnt + 1) & ((1 << cnt_bits) - 1);
            }
            let h = &self.cur;
            let base = self.cnt * w as u64;
            let n = if e.last { e.len } else { w };
            let mut words = 0u32;
            for i in 0..w {
                let off = base + i as u64;
                let in_ip = off < u64::from(h.ip_end) && i < n;
                let csum = in_ip && off >= u64::from(h.l4_start);
                if in_ip && off >= u64::from(h.payload_start) && h.hdr_candidate {
                    o.payload |= 1 << i;
                }
                if csum {
                    words += u32::from(e.data[i]) << if i % 2 == 0 { 8 } else { 0 };
                }
            }
            self.acc = if sof { h.pseudo } else { self.acc }.wrapping_add(words);
            o.valid = true;
            o.sof = sof;
            o.last = e.last;
            if e.last {
                let frame_len = base + n as u64;
                o.truncated = h.hdr_cut || ((h.ipv4 || h.ipv6) && frame_len < u64::from(h.ip_end));
                o.tcp_csum_ok = h.is_tcp && fold(self.acc) == 0xFFFF;
                o.offload_ok = h.hdr_candidate && !o.truncated && o.tcp_csum_ok;
            }
        }
        self.out = o;
        &self.out
    }
}
