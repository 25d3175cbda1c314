//! The header parser's Verilog body, generated for `w` bytes a beat. The stages are described
//! in `super`; the equations are the ones `model.rs` computes.
use super::model::{latency, tree_stages, window_beats, HV_BYTES, IPV6_EXT, IP_BYTES, OFF_BITS, PARSE_STAGES};
use std::fmt::Write;

/// Bits `[8k+7:8k]` of `v`: byte `k` of a little-endian packed vector.
fn byte(v: &str, k: usize) -> String {
    format!("{v}[{}:{}]", 8 * k + 7, 8 * k)
}

/// Big-endian 16-bit word made of bytes `k`, `k+1` of `v`.
fn be16(v: &str, k: usize) -> String {
    format!("{{{}, {}}}", byte(v, k), byte(v, k + 1))
}

/// Big-endian value of bytes `k .. k+n` of `v`.
fn be_n(v: &str, k: usize, n: usize) -> String {
    let parts: Vec<String> = (k..k + n).map(|i| byte(v, i)).collect();
    format!("{{{}}}", parts.join(", "))
}

/// One adder-tree level: pairwise sums, widths grow by one bit. Emits wires named
/// `{prefix}_{i}`; an odd last operand is carried (zero-extended).
fn add_level(v: &mut String, prefix: &str, ins: &[String], width: usize) -> Vec<String> {
    let mut outs = Vec::new();
    for (i, pair) in ins.chunks(2).enumerate() {
        let name = format!("{prefix}_{i}");
        let expr = match pair {
            [a, b] => format!("{{1'b0, {a}}} + {{1'b0, {b}}}"),
            [a] => format!("{{1'b0, {a}}}"),
            _ => unreachable!(),
        };
        let _ = writeln!(v, "wire [{}:0] {name} = {expr};", width);
        outs.push(name);
    }
    outs
}

/// Registers `names` (each `width` bits) into `{prefix}_{i}`; returns the register names.
fn register_all(v: &mut String, prefix: &str, names: &[String], width: usize) -> Vec<String> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let r = format!("{prefix}_{i}");
            let _ = writeln!(v, "reg [{}:0] {r} = {width}'d0;\nalways @(posedge clock) {r} <= {n};", width - 1);
            r
        })
        .collect()
}

/// `(name, width, source expression)` registers loaded every clock.
fn regs(v: &mut String, list: &[(&str, usize, String)]) {
    for (name, width, _) in list {
        if *width == 1 {
            let _ = writeln!(v, "reg {name} = 1'b0;");
        } else {
            let _ = writeln!(v, "reg [{}:0] {name} = {width}'d0;", width - 1);
        }
    }
    let _ = writeln!(v, "always @(posedge clock) begin");
    for (name, _, src) in list {
        let _ = writeln!(v, "  {name} <= {src};");
    }
    let _ = writeln!(v, "end");
}

/// The header fields handed to the outputs on a frame's first beat, in packing order
/// (name in stage 6, width). Its packed form travels beside the beats to the outputs.
const HEADER_BUNDLE: [(&str, usize); 20] = [
    ("vlan", 1),
    ("vid", 12),
    ("ipv4", 1),
    ("ipv6", 1),
    ("is_tcp", 1),
    ("frag", 1),
    ("ext", 1),
    ("ip_csum_ok", 1),
    ("hdr_ok", 1),
    ("hdr_cut", 1),
    ("cand", 1),
    ("src", 128),
    ("dst", 128),
    ("sport", 16),
    ("dport", 16),
    ("seq", 32),
    ("ack", 32),
    ("flags", 12),
    ("pstart", 8),
    ("paylen", 16),
];

/// Output port for each header-bundle field.
pub const HEADER_PORTS: [(&str, &str); 20] = [
    ("vlan", "m_vlan"),
    ("vid", "m_vlan_id"),
    ("ipv4", "m_ipv4"),
    ("ipv6", "m_ipv6"),
    ("is_tcp", "m_is_tcp"),
    ("frag", "m_ip_fragment"),
    ("ext", "m_ip6_ext"),
    ("ip_csum_ok", "m_ip_csum_ok"),
    ("hdr_ok", "m_hdr_ok"),
    ("hdr_cut", "m_hdr_cut"),
    ("cand", "m_hdr_candidate"),
    ("src", "m_src_ip"),
    ("dst", "m_dst_ip"),
    ("sport", "m_src_port"),
    ("dport", "m_dst_port"),
    ("seq", "m_seq"),
    ("ack", "m_ack"),
    ("flags", "m_tcp_flags"),
    ("pstart", "m_payload_start"),
    ("paylen", "m_payload_len"),
];

pub fn verilog_body(w: usize, lane_bits: usize) -> String {
    let lb = lane_bits;
    let pb = lb + 1;
    let db = 8 * w;
    let h = window_beats(w);
    let e = h + PARSE_STAGES;
    let nt = tree_stages(w);
    let lat = latency(w);
    let last_q = lat - 2;
    let cb = OFF_BITS - lb;
    let mut v = String::new();
    let _ = writeln!(v, "// ddpnic header parser, W = {w}: latency {lat}, window {h} beats, frame-context stage q{e}.");

    // --- Input stage and the beat delay line q0 .. q{last_q}.
    let _ = writeln!(v, "reg in_frame = 1'b0;\nalways @(posedge clock) if (s_valid) in_frame <= ~s_last;");
    for i in 0..=last_q {
        let _ = writeln!(
            v,
            "reg q{i}_v = 1'b0, q{i}_sof = 1'b0, q{i}_last = 1'b0;\nreg [{p}:0] q{i}_len = {pb}'d0;\nreg [{d}:0] q{i}_d = {db}'d0;",
            p = pb - 1,
            d = db - 1
        );
        if (1..=e + 1).contains(&i) {
            let _ = writeln!(v, "reg [{}:0] q{i}_lv = {w}'d0;", w - 1);
        }
    }
    let _ = writeln!(v, "always @(posedge clock) begin\n  q0_v <= s_valid; q0_sof <= s_valid & ~in_frame; q0_last <= s_valid & s_last; q0_len <= s_len; q0_d <= s_data;");
    for i in 1..=last_q {
        let _ = writeln!(v, "  q{i}_v <= q{j}_v; q{i}_sof <= q{j}_sof; q{i}_last <= q{j}_last; q{i}_len <= q{j}_len; q{i}_d <= q{j}_d;", j = i - 1);
        if (2..=e + 1).contains(&i) {
            let _ = writeln!(v, "  q{i}_lv <= q{j}_lv;", j = i - 1);
        }
    }
    let _ = writeln!(v, "end");
    // Lanes holding frame bytes: all of a beat that is not the last, lanes < len of the last.
    // Decoded from registered q0 into q1 (not from the ports): the newest window slot q0
    // never holds snapshot bytes, since (H-1)*W >= HV_BYTES for every W.
    assert!((h - 1) * w >= HV_BYTES);
    for i in 0..w {
        let _ = writeln!(v, "always @(posedge clock) q1_lv[{i}] <= ~q0_last | (q0_len > {pb}'d{i});");
    }

    // --- Header window: slot j = q{h-1-j}; slot 0 holds the frame's first beat when q{h-1}_sof.
    let slot = |j: usize| format!("q{}", h - 1 - j);
    let _ = writeln!(v, "wire en_0 = 1'b1;");
    for j in 1..h {
        let _ = writeln!(v, "wire en_{j} = en_{} & ~{}_last & {}_v;", j - 1, slot(j - 1), slot(j));
    }
    let _ = writeln!(v, "wire en_{h} = 1'b0;");
    let mut terms = Vec::new();
    for j in 0..h {
        let s = slot(j);
        // j*W + n with n = len (last) or W: at most h*W <= 192.
        let _ = writeln!(
            v,
            "wire [7:0] wl_{j} = {{8{{en_{j} & ~en_{j1}}}}} & (8'd{base} + ({s}_last ? {{{pad}'d0, {s}_len}} : 8'd{w}));",
            j1 = j + 1,
            base = j * w,
            pad = 8 - pb
        );
        terms.push(format!("wl_{j}"));
    }
    // The snapshot keeps bytes 12 .. HV_BYTES-1 (the MAC addresses are not needed).
    let _ = writeln!(v, "reg [7:0] s_wlen = 8'd0;\nreg [{}:96] s_hv = {}'d0;", HV_BYTES * 8 - 1, HV_BYTES * 8 - 96);
    let _ = writeln!(v, "always @(posedge clock) begin\n  s_wlen <= {};", terms.join(" | "));
    for k in 12..HV_BYTES {
        let (j, i) = (k / w, k % w);
        let s = slot(j);
        let _ = writeln!(v, "  {} <= {} & {{8{{en_{j} & {s}_lv[{i}]}}}};", byte("s_hv", k), byte(&format!("{s}_d"), i));
    }
    let _ = writeln!(v, "end");

    // --- P1: Ethernet and 802.1Q; the IP view (120 bytes from the L3 start).
    // Both candidate ethertypes and IHL nibbles are compared in parallel, then selected by the
    // VLAN flag (keeps this stage at three LUT levels).
    let _ = writeln!(
        v,
        "wire [15:0] et0 = {};\nwire [15:0] et1 = {};\nwire vlan0 = et0 == 16'h8100;",
        be16("s_hv", 12),
        be16("s_hv", 16)
    );
    let onehot: Vec<String> = (0..16).rev().map(|k| format!("(vlan0 ? s_hv[147:144] == 4'd{k} : s_hv[115:112] == 4'd{k})")).collect();
    regs(
        &mut v,
        &[
            ("p1_wlen", 8, "s_wlen".into()),
            ("p1_vlan", 1, "vlan0".into()),
            ("p1_vid", 12, format!("vlan0 ? {{{}, {}}} : 12'd0", "s_hv[115:112]", byte("s_hv", 15))),
            ("p1_ipv4", 1, "vlan0 ? et1 == 16'h0800 : et0 == 16'h0800".into()),
            ("p1_ipv6", 1, "vlan0 ? et1 == 16'h86DD : et0 == 16'h86DD".into()),
            ("p1_ihl_oh", 16, format!("{{{}}}", onehot.join(", "))),
            ("p1_ip", IP_BYTES * 8, format!("vlan0 ? s_hv[{}:{}] : s_hv[{}:{}]", 18 * 8 + IP_BYTES * 8 - 1, 18 * 8, 14 * 8 + IP_BYTES * 8 - 1, 14 * 8)),
        ],
    );

    // --- P2: IP fields, the TCP header's first 14 bytes, first levels of the sums.
    let ip = "p1_ip";
    // The TCP header's first 14 bytes at 4*IHL: an AND-OR mux on the one-hot IHL.
    let arms: Vec<String> = (0..16).map(|k| format!("({{112{{p1_ihl_oh[{k}]}}}} & {ip}[{}:{}])", 32 * k + 111, 32 * k)).collect();
    let _ = writeln!(v, "wire [3:0] ihl1 = {ip}[3:0];\nwire [111:0] tv4 = {};", arms.join(" | "));
    let _ = writeln!(
        v,
        "wire [127:0] src1 = p1_ipv6 ? {} : {{96'd0, {}}};\nwire [127:0] dst1 = p1_ipv6 ? {} : {{96'd0, {}}};",
        be_n(ip, 8, 16),
        be_n(ip, 12, 4),
        be_n(ip, 24, 16),
        be_n(ip, 16, 4)
    );
    // IPv4 header words, those past IHL*4 bytes masked.
    let mut words = Vec::new();
    for i in 0..30 {
        let _ = writeln!(v, "wire [15:0] ipw_{i} = {} & {{16{{ihl1 > 4'd{}}}}};", be16(ip, 2 * i), i / 2);
        words.push(format!("ipw_{i}"));
    }
    let l1 = add_level(&mut v, "ipa1", &words, 16);
    let l2 = add_level(&mut v, "ipa2", &l1, 17);
    let p2_cs = register_all(&mut v, "p2_cs", &l2, 18);
    let addr: Vec<String> = (0..8).flat_map(|i| [format!("src1[{}:{}]", 16 * i + 15, 16 * i), format!("dst1[{}:{}]", 16 * i + 15, 16 * i)]).collect();
    let a1 = add_level(&mut v, "ada1", &addr, 16);
    let a2 = add_level(&mut v, "ada2", &a1, 17);
    let p2_as = register_all(&mut v, "p2_as", &a2, 18);
    regs(
        &mut v,
        &[
            ("p2_wlen", 8, "p1_wlen".into()),
            ("p2_vlan", 1, "p1_vlan".into()),
            ("p2_vid", 12, "p1_vid".into()),
            ("p2_ipv4", 1, "p1_ipv4".into()),
            ("p2_ipv6", 1, "p1_ipv6".into()),
            ("p2_t", 112, format!("p1_ipv6 ? {ip}[{}:{}] : tv4", 40 * 8 + 111, 40 * 8)),
            ("p2_ver", 4, format!("{ip}[7:4]")),
            ("p2_ihl", 4, "ihl1".into()),
            ("p2_total", 16, be16(ip, 2)),
            ("p2_plen", 16, be16(ip, 4)),
            ("p2_proto", 8, byte(ip, 9)),
            ("p2_nh", 8, byte(ip, 6)),
            ("p2_mfoff", 1, format!("(|{ip}[53:48]) | (|{})", byte(ip, 7))),
            ("p2_src", 128, "src1".into()),
            ("p2_dst", 128, "dst1".into()),
        ],
    );

    // --- P3: lengths and protocol decisions; sums continue.
    let c3a = add_level(&mut v, "ipa3", &p2_cs, 18);
    let c3b = add_level(&mut v, "ipa4", &c3a, 19);
    let p3_cs = register_all(&mut v, "p3_cs", &c3b, 20);
    let a3a = add_level(&mut v, "ada3", &p2_as, 18);
    let a3b = add_level(&mut v, "ada4", &a3a, 19);
    let p3_as = register_all(&mut v, "p3_as", &a3b, 20);
    let ext: Vec<String> = IPV6_EXT.iter().map(|x| format!("(p2_nh == 8'd{x})")).collect();
    let t = "p2_t";
    regs(
        &mut v,
        &[
            ("p3_wlen", 8, "p2_wlen".into()),
            ("p3_vlan", 1, "p2_vlan".into()),
            ("p3_vid", 12, "p2_vid".into()),
            ("p3_ipv4", 1, "p2_ipv4".into()),
            ("p3_ipv6", 1, "p2_ipv6".into()),
            ("p3_ver", 4, "p2_ver".into()),
            ("p3_ihl", 4, "p2_ihl".into()),
            ("p3_total", 16, "p2_total".into()),
            ("p3_plen", 16, "p2_plen".into()),
            ("p3_src", 128, "p2_src".into()),
            ("p3_dst", 128, "p2_dst".into()),
            ("p3_sport", 16, be16(t, 0)),
            ("p3_dport", 16, be16(t, 2)),
            ("p3_seq", 32, be_n(t, 4, 4)),
            ("p3_ack", 32, be_n(t, 8, 4)),
            ("p3_flags", 12, format!("{{{t}[99:96], {}}}", byte(t, 13))),
            ("p3_doff", 4, format!("{t}[103:100]")),
            ("p3_l4off", 8, "p2_ipv6 ? 8'd40 : {2'd0, p2_ihl, 2'd0}".into()),
            ("p3_l4min", 8, "p2_ipv6 ? 8'd40 : (p2_ihl > 4'd4) ? {2'd0, p2_ihl, 2'd0} : 8'd20".into()),
            ("p3_l4len", 16, "p2_ipv6 ? p2_plen : p2_total - {10'd0, p2_ihl, 2'd0}".into()),
            ("p3_is_tcp", 1, "(p2_ipv4 & (p2_proto == 8'd6)) | (p2_ipv6 & (p2_nh == 8'd6))".into()),
            ("p3_ext", 1, format!("p2_ipv6 & ({})", ext.join(" | "))),
            ("p3_frag", 1, "p2_ipv4 ? p2_mfoff : (p2_ipv6 & (p2_nh == 8'd44))".into()),
        ],
    );

    // --- P4: frame offsets, TCP sanity, pseudo-header sum, the IPv4 sum's last level.
    let _ = writeln!(v, "wire [7:0] l3_3 = p3_vlan ? 8'd18 : 8'd14;\nwire [7:0] doff4_3 = {{2'd0, p3_doff, 2'd0}};\nwire [7:0] l4s_3 = l3_3 + p3_l4off;");
    regs(
        &mut v,
        &[
            ("p4_wlen", 8, "p3_wlen".into()),
            ("p4_vlan", 1, "p3_vlan".into()),
            ("p4_vid", 12, "p3_vid".into()),
            ("p4_ipv4", 1, "p3_ipv4".into()),
            ("p4_ipv6", 1, "p3_ipv6".into()),
            ("p4_ver", 4, "p3_ver".into()),
            ("p4_ihl", 4, "p3_ihl".into()),
            ("p4_src", 128, "p3_src".into()),
            ("p4_dst", 128, "p3_dst".into()),
            ("p4_sport", 16, "p3_sport".into()),
            ("p4_dport", 16, "p3_dport".into()),
            ("p4_seq", 32, "p3_seq".into()),
            ("p4_ack", 32, "p3_ack".into()),
            ("p4_flags", 12, "p3_flags".into()),
            ("p4_is_tcp", 1, "p3_is_tcp".into()),
            ("p4_ext", 1, "p3_ext".into()),
            ("p4_frag", 1, "p3_frag".into()),
            ("p4_l4s", 8, "l4s_3".into()),
            ("p4_pstart", 8, "l4s_3 + doff4_3".into()),
            ("p4_needed", 8, "(p3_ipv4 | p3_ipv6) ? l3_3 + p3_l4min + (p3_is_tcp ? ((p3_doff > 4'd4) ? doff4_3 : 8'd20) : 8'd0) : l3_3".into()),
            ("p4_paylen", 16, "p3_l4len - {8'd0, doff4_3}".into()),
            ("p4_ip_end", OFF_BITS, "p3_ipv6 ? {9'd0, l3_3} + 17'd40 + {1'b0, p3_plen} : {9'd0, l3_3} + {1'b0, p3_total}".into()),
            ("p4_tcp_ok", 1, "(p3_doff > 4'd4) & (p3_l4len >= {8'd0, doff4_3})".into()),
            ("p4_tot_ok", 1, "p3_total >= {10'd0, p3_ihl, 2'd0}".into()),
            ("p4_pseudo", 21, format!("{{1'b0, {}}} + 21'd6 + {{5'd0, p3_l4len}}", p3_as[0])),
            ("p4_ipsum", 21, format!("{{1'b0, {}}} + {{1'b0, {}}}", p3_cs[0], p3_cs[1])),
        ],
    );

    // --- P5: header present, header sane, IPv4 sum first fold.
    let pass5: Vec<(&str, usize)> = vec![
        ("vlan", 1),
        ("vid", 12),
        ("ipv4", 1),
        ("ipv6", 1),
        ("src", 128),
        ("dst", 128),
        ("sport", 16),
        ("dport", 16),
        ("seq", 32),
        ("ack", 32),
        ("flags", 12),
        ("is_tcp", 1),
        ("ext", 1),
        ("frag", 1),
        ("l4s", 8),
        ("pstart", 8),
        ("paylen", 16),
        ("ip_end", OFF_BITS),
        ("pseudo", 21),
    ];
    let owned5: Vec<(String, usize, String)> = pass5.iter().map(|&(n, wd)| (format!("p5_{n}"), wd, format!("p4_{n}"))).collect();
    let mut list5: Vec<(&str, usize, String)> = owned5.iter().map(|(n, wd, s)| (n.as_str(), *wd, s.clone())).collect();
    list5.push(("p5_hdr_cut", 1, "p4_wlen < p4_needed".into()));
    list5.push((
        "p5_hdr_ok",
        1,
        "p4_ipv4 ? ((p4_ver == 4'd4) & (p4_ihl > 4'd4) & p4_tot_ok & (~p4_is_tcp | p4_tcp_ok)) : p4_ipv6 ? ((p4_ver == 4'd6) & (~p4_is_tcp | p4_tcp_ok)) : 1'b1".into(),
    ));
    list5.push(("p5_ipf1", 17, "{1'b0, p4_ipsum[15:0]} + {12'd0, p4_ipsum[20:16]}".into()));
    regs(&mut v, &list5);

    // --- P6: IPv4 header checksum verdict and the header-time candidate.
    let pass6: Vec<(&str, usize)> = pass5.iter().copied().filter(|f| f.0 != "l4s").chain([("hdr_cut", 1), ("hdr_ok", 1)]).collect();
    let owned6: Vec<(String, usize, String)> = pass6.iter().map(|&(n, wd)| (format!("p6_{n}"), wd, format!("p5_{n}"))).collect();
    let mut list6: Vec<(&str, usize, String)> = owned6.iter().map(|(n, wd, s)| (n.as_str(), *wd, s.clone())).collect();
    let _ = writeln!(v, "wire [15:0] ipf2 = p5_ipf1[15:0] + {{15'd0, p5_ipf1[16]}};\nwire ip_ok5 = p5_ipv6 | (p5_ipv4 & (ipf2 == 16'hFFFF));");
    list6.push(("p6_ip_csum_ok", 1, "ip_ok5".into()));
    list6.push(("p6_cand", 1, "p5_is_tcp & p5_hdr_ok & ~p5_frag & ip_ok5 & ~p5_hdr_cut".into()));
    // Lane thermometers of the three thresholds: bit i set when lane i is at or past the
    // threshold's lane (the top lane always is).
    for (x, src) in [("l4", "p5_l4s"), ("ps", "p5_pstart"), ("ie", "p5_ip_end")] {
        let bits: Vec<String> = (0..w).rev().map(|i| if i == w - 1 { "1'b1".to_string() } else { format!("({src}[{}:0] <= {lb}'d{i})", lb - 1) }).collect();
        let _ = writeln!(v, "wire [{}:0] th_{x}5 = {{{}}};", w - 1, bits.join(", "));
    }
    list6.push(("p6_th_l4", w, "th_l45".into()));
    list6.push(("p6_l4s_hi", 8 - lb, format!("p5_l4s[7:{lb}]")));
    list6.push(("p6_ps_hi", 8 - lb, format!("p5_pstart[7:{lb}]")));
    list6.push(("p6_th_ps", w, "th_ps5".into()));
    list6.push(("p6_th_ie", w, "th_ie5".into()));
    regs(&mut v, &list6);
    assert_eq!(PARSE_STAGES, 6, "the generator writes six parse stages");

    // --- Frame context at q{e}: the parse result of a first beat, held for the others.
    let ctx = [
        ("cand", 1),
        ("is_tcp", 1),
        ("hdr_cut", 1),
        ("ipv4", 1),
        ("ipv6", 1),
        ("l4s_hi", 8 - lb),
        ("ps_hi", 8 - lb),
        ("ip_end", OFF_BITS),
        ("pseudo", 21),
        ("th_l4", w),
        ("th_ps", w),
        ("th_ie", w),
    ];
    for (n, wd) in ctx {
        let _ = writeln!(v, "reg [{}:0] c_{n} = {wd}'d0;\nwire [{}:0] u_{n} = q{e}_sof ? p6_{n} : c_{n};\nalways @(posedge clock) if (q{e}_sof) c_{n} <= p6_{n};", wd - 1, wd - 1);
    }
    let _ = writeln!(v, "reg [{c}:0] cnt_e = {cb}'d0;\nalways @(posedge clock) if (q{p}_v) cnt_e <= q{p}_sof ? {cb}'d0 : cnt_e + {cb}'d1;", c = cb - 1, p = e - 1);
    let _ = writeln!(v, "wire [{c}:0] l4s_e = {{{z}'d0, u_l4s_hi}};\nwire [{c}:0] ps_e = {{{z}'d0, u_ps_hi}};\nwire [{c}:0] ie_e = u_ip_end[{}:{lb}];", OFF_BITS - 1, c = cb - 1, z = OFF_BITS - 8);
    // Per lane: the lane's frame offset is at or past the threshold (beat after the
    // threshold's beat, or the same beat and a lane at or past its lane).
    for (x, t) in [("l4", "l4s_e"), ("ps", "ps_e"), ("ie", "ie_e")] {
        let _ = writeln!(v, "wire lt_{x}e = {t} < cnt_e;\nwire eq_{x}e = {t} == cnt_e;");
    }
    regs(
        &mut v,
        &[
            ("m0_ge_l4", w, format!("{{{w}{{lt_l4e}}}} | ({{{w}{{eq_l4e}}}} & u_th_l4)")),
            ("m0_ge_ps", w, format!("{{{w}{{lt_pse}}}} | ({{{w}{{eq_pse}}}} & u_th_ps)")),
            ("m0_ge_ie", w, format!("{{{w}{{lt_iee}}}} | ({{{w}{{eq_iee}}}} & u_th_ie)")),
            ("m0_short", 1, format!("{{1'b0, cnt_e, {lb}'d0}} + {{{z}'d0, (q{e}_last ? q{e}_len : {pb}'d{w})}} < {{1'b0, u_ip_end}}", z = OFF_BITS + 1 - pb)),
            ("m0_pv", 1, format!("q{e}_v & u_cand")),
            ("m0_cand", 1, "u_cand".into()),
            ("m0_is_tcp", 1, "u_is_tcp".into()),
            ("m0_hdr_cut", 1, "u_hdr_cut".into()),
            ("m0_is_ip", 1, "u_ipv4 | u_ipv6".into()),
            ("m0_pseudo", 21, "u_pseudo".into()),
        ],
    );

    // --- M1: lane masks; the checksum bytes of the beat.
    let m = e + 1;
    let _ = writeln!(v, "reg [{}:0] m1_md = {db}'d0;", db - 1);
    for i in 0..w {
        let _ = writeln!(
            v,
            "wire cm_{i} = m0_ge_l4[{i}] & ~m0_ge_ie[{i}] & q{m}_lv[{i}];\nwire pm_{i} = m0_ge_ps[{i}] & ~m0_ge_ie[{i}] & q{m}_lv[{i}] & m0_pv;\nalways @(posedge clock) {} <= {} & {{8{{cm_{i}}}}};",
            byte("m1_md", i),
            byte(&format!("q{m}_d"), i),
        );
    }
    // Side information beside the beats from M1 to the outputs: {is_tcp, cand, truncated,
    // payload lanes}; the pseudo-header sum only as far as the accumulator.
    let xw = w + 3;
    let pms: Vec<String> = (0..w).rev().map(|i| format!("pm_{i}")).collect();
    let _ = writeln!(v, "reg [{}:0] x{e2} = {xw}'d0;\nalways @(posedge clock) x{e2} <= {{m0_is_tcp, m0_cand, m0_hdr_cut | (m0_is_ip & m0_short), {}}};", xw - 1, pms.join(", "), e2 = e + 2);
    let _ = writeln!(v, "reg [20:0] y{e2} = 21'd0;\nalways @(posedge clock) y{e2} <= m0_pseudo;", e2 = e + 2);
    for i in (e + 3)..=last_q {
        let _ = writeln!(v, "reg [{}:0] x{i} = {xw}'d0;\nalways @(posedge clock) x{i} <= x{};", xw - 1, i - 1);
    }
    for i in (e + 3)..=(e + 2 + nt) {
        let _ = writeln!(v, "reg [20:0] y{i} = 21'd0;\nalways @(posedge clock) y{i} <= y{};", i - 1);
    }

    // --- Checksum tree: W/2 big-endian words, two adder levels per stage.
    let mut ops: Vec<String> = (0..w / 2).map(|k| format!("{{m1_md[{}:{}], m1_md[{}:{}]}}", 16 * k + 7, 16 * k, 16 * k + 15, 16 * k + 8)).collect();
    let mut width = 16;
    let levels = (w / 2).trailing_zeros() as usize;
    let mut done = 0;
    for s in 0..nt {
        for _ in 0..2 {
            if done < levels {
                ops = add_level(&mut v, &format!("tl{done}"), &ops, width);
                width += 1;
                done += 1;
            }
        }
        ops = register_all(&mut v, &format!("t{s}"), &ops, width);
    }
    assert_eq!(ops.len(), 1);
    let tsum = &ops[0];
    let a_pos = e + 2 + nt; // the beat in q{a_pos} is the one whose sum is in `tsum`
    let _ = writeln!(
        v,
        "reg [31:0] acc = 32'd0;\nalways @(posedge clock) if (q{a_pos}_v) acc <= (q{a_pos}_sof ? {{11'd0, y{a_pos}}} : acc) + {{{z}'d0, {tsum}}};",
        z = 32 - width
    );
    let _ = writeln!(v, "reg [16:0] f1 = 17'd0;\nalways @(posedge clock) f1 <= {{1'b0, acc[15:0]}} + {{1'b0, acc[31:16]}};");

    // --- Outputs.
    let _ = writeln!(v, "wire [15:0] f2 = f1[15:0] + {{15'd0, f1[16]}};");
    let xo = &format!("x{last_q}");
    let q = format!("q{last_q}");
    let _ = writeln!(
        v,
        "wire o_end = {q}_v & {q}_last;\nwire o_tcp_ok = o_end & {xo}[{t}] & (f2 == 16'hFFFF);\nwire o_trunc = o_end & {xo}[{w}];",
        t = w + 2
    );
    // Header bundle: p6 fields beside the beats from q{e+1} to q{last_q}.
    let hbw: usize = HEADER_BUNDLE.iter().map(|f| f.1).sum();
    let pack: Vec<String> = HEADER_BUNDLE.iter().map(|(n, _)| format!("p6_{n}")).collect();
    let _ = writeln!(v, "reg [{}:0] hb{} = {hbw}'d0;\nalways @(posedge clock) hb{} <= {{{}}};", hbw - 1, e + 1, e + 1, pack.join(", "));
    for i in (e + 2)..=last_q {
        let _ = writeln!(v, "reg [{}:0] hb{i} = {hbw}'d0;\nalways @(posedge clock) hb{i} <= hb{};", hbw - 1, i - 1);
    }
    let mut init = vec!["m_valid = 1'b0".to_string(), "m_last = 1'b0".into(), "m_sof = 1'b0".into(), format!("m_len = {pb}'d0"), format!("m_data = {db}'d0"), format!("m_payload = {w}'d0")];
    init.extend(["m_truncated = 1'b0", "m_tcp_csum_ok = 1'b0", "m_offload_ok = 1'b0"].map(String::from));
    let _ = writeln!(
        v,
        "always @(posedge clock) begin\n  m_valid <= {q}_v; m_last <= {q}_last; m_sof <= {q}_sof; m_len <= {q}_len; m_data <= {q}_d;\n  m_payload <= {xo}[{}:0];\n  m_truncated <= o_trunc; m_tcp_csum_ok <= o_tcp_ok; m_offload_ok <= o_tcp_ok & ~o_trunc & {xo}[{}];\nend",
        w - 1,
        w + 1
    );
    let mut top = hbw;
    let mut loads = Vec::new();
    for ((n, wd), (n2, port)) in HEADER_BUNDLE.iter().zip(HEADER_PORTS.iter()) {
        assert_eq!(n, n2);
        let port_w = header_port_width(port);
        let (hi, lo) = (top - 1, top - wd);
        top -= wd;
        let src = if port_w > *wd { format!("{{{}'d0, hb{last_q}[{hi}:{lo}]}}", port_w - wd) } else { format!("hb{last_q}[{hi}:{lo}]") };
        loads.push(format!("{port} <= {src};"));
        init.push(if port_w == 1 { format!("{port} = 1'b0") } else { format!("{port} = {port_w}'d0") });
    }
    let _ = writeln!(v, "always @(posedge clock) if ({q}_sof) begin\n  {}\nend", loads.join("\n  "));
    let _ = writeln!(v, "initial begin\n  {};\nend", init.join(";\n  "));
    v
}

/// Width of a header output port (the payload start is widened to 16 bits).
pub fn header_port_width(port: &str) -> usize {
    match port {
        "m_payload_start" => 16,
        _ => HEADER_BUNDLE[HEADER_PORTS.iter().position(|p| p.1 == port).expect("header port")].1,
    }
}
