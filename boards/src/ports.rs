//! Port lists: the NIC core's contract and the vendor IP the board tops instantiate.
//!
//! Each list is the single source for a blackbox stub (`blackbox()`) and for the
//! instantiation in the board top (`crate::top`), so a port is never typed twice. The core's
//! list is checked against hdl/src/core/INTERFACE.md by a unit test.
//!
//! The IP lists hold the ports of the generated IP with the configuration in ip/*.tcl that the
//! board top connects or must tie off; the IP's remaining outputs (statistics, debug) are left
//! out of the stubs and unconnected in the top, which Verilog allows for outputs.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    In,
    Out,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port {
    pub name: &'static str,
    pub dir: Dir,
    pub width: u32,
}

const fn i(name: &'static str, width: u32) -> Port {
    Port { name, dir: Dir::In, width }
}
const fn o(name: &'static str, width: u32) -> Port {
    Port { name, dir: Dir::Out, width }
}

/// `ddpnic_core` (hdl/src/core/INTERFACE.md): one 250 MHz clock, synchronous active-high reset.
pub const CORE: &[Port] = &[
    i("clk", 1),
    i("rst", 1),
    // MAC receive, AXI-Stream slave without backpressure
    i("s_axis_rx_tdata", 512),
    i("s_axis_rx_tkeep", 64),
    i("s_axis_rx_tvalid", 1),
    i("s_axis_rx_tlast", 1),
    i("s_axis_rx_tuser", 1),
    // MAC transmit, AXI-Stream master
    o("m_axis_tx_tdata", 512),
    o("m_axis_tx_tkeep", 64),
    o("m_axis_tx_tvalid", 1),
    i("m_axis_tx_tready", 1),
    o("m_axis_tx_tlast", 1),
    o("m_axis_tx_tuser", 1),
    // BAR0, AXI4-Lite slave
    i("s_axil_awaddr", 16),
    i("s_axil_awvalid", 1),
    o("s_axil_awready", 1),
    i("s_axil_wdata", 32),
    i("s_axil_wstrb", 4),
    i("s_axil_wvalid", 1),
    o("s_axil_wready", 1),
    o("s_axil_bresp", 2),
    o("s_axil_bvalid", 1),
    i("s_axil_bready", 1),
    i("s_axil_araddr", 16),
    i("s_axil_arvalid", 1),
    o("s_axil_arready", 1),
    o("s_axil_rdata", 32),
    o("s_axil_rresp", 2),
    o("s_axil_rvalid", 1),
    i("s_axil_rready", 1),
    // DMA, AXI4 master toward the PCIe bridge's slave port
    o("m_axi_awid", 4),
    o("m_axi_awaddr", 64),
    o("m_axi_awlen", 8),
    o("m_axi_awsize", 3),
    o("m_axi_awburst", 2),
    o("m_axi_awvalid", 1),
    i("m_axi_awready", 1),
    o("m_axi_wdata", 512),
    o("m_axi_wstrb", 64),
    o("m_axi_wlast", 1),
    o("m_axi_wvalid", 1),
    i("m_axi_wready", 1),
    i("m_axi_bid", 4),
    i("m_axi_bresp", 2),
    i("m_axi_bvalid", 1),
    o("m_axi_bready", 1),
    o("m_axi_arid", 4),
    o("m_axi_araddr", 64),
    o("m_axi_arlen", 8),
    o("m_axi_arsize", 3),
    o("m_axi_arburst", 2),
    o("m_axi_arvalid", 1),
    i("m_axi_arready", 1),
    i("m_axi_rid", 4),
    i("m_axi_rdata", 512),
    i("m_axi_rresp", 2),
    i("m_axi_rlast", 1),
    i("m_axi_rvalid", 1),
    o("m_axi_rready", 1),
    // interrupt pulse
    o("irq", 1),
];

/// XDMA (PG195) in AXI Bridge functional mode (PG194 "DMA/Bridge Subsystem for PCIe in AXI
/// Bridge Mode"), Gen3 x16, 512-bit AXI at 250 MHz, master (M_AXI_B: BAR0) and slave
/// (S_AXI_B: the core's DMA) bridges, one user interrupt. Module name `xdma_0` (ip/xdma.tcl).
pub const XDMA: &[Port] = &[
    i("sys_clk", 1),
    i("sys_clk_gt", 1),
    i("sys_rst_n", 1),
    o("user_lnk_up", 1),
    o("pci_exp_txp", 16),
    o("pci_exp_txn", 16),
    i("pci_exp_rxp", 16),
    i("pci_exp_rxn", 16),
    o("axi_aclk", 1),
    o("axi_aresetn", 1),
    i("usr_irq_req", 1),
    o("usr_irq_ack", 1),
    o("msi_enable", 1),
    o("msix_enable", 1),
    o("msi_vector_width", 3),
    // M_AXI_B: PCIe BAR0 -> AXI4 master
    o("m_axib_awid", 4),
    o("m_axib_awaddr", 64),
    o("m_axib_awlen", 8),
    o("m_axib_awsize", 3),
    o("m_axib_awburst", 2),
    o("m_axib_awprot", 3),
    o("m_axib_awvalid", 1),
    i("m_axib_awready", 1),
    o("m_axib_awlock", 1),
    o("m_axib_awcache", 4),
    o("m_axib_wdata", 512),
    o("m_axib_wstrb", 64),
    o("m_axib_wlast", 1),
    o("m_axib_wvalid", 1),
    i("m_axib_wready", 1),
    i("m_axib_bid", 4),
    i("m_axib_bresp", 2),
    i("m_axib_bvalid", 1),
    o("m_axib_bready", 1),
    o("m_axib_arid", 4),
    o("m_axib_araddr", 64),
    o("m_axib_arlen", 8),
    o("m_axib_arsize", 3),
    o("m_axib_arburst", 2),
    o("m_axib_arprot", 3),
    o("m_axib_arvalid", 1),
    i("m_axib_arready", 1),
    o("m_axib_arlock", 1),
    o("m_axib_arcache", 4),
    i("m_axib_rid", 4),
    i("m_axib_rdata", 512),
    i("m_axib_rresp", 2),
    i("m_axib_rlast", 1),
    i("m_axib_rvalid", 1),
    o("m_axib_rready", 1),
    // S_AXI_B: AXI4 slave -> PCIe memory writes/reads to host memory
    i("s_axib_awid", 4),
    i("s_axib_awaddr", 64),
    i("s_axib_awregion", 4),
    i("s_axib_awlen", 8),
    i("s_axib_awsize", 3),
    i("s_axib_awburst", 2),
    i("s_axib_awvalid", 1),
    o("s_axib_awready", 1),
    i("s_axib_wdata", 512),
    i("s_axib_wstrb", 64),
    i("s_axib_wlast", 1),
    i("s_axib_wvalid", 1),
    o("s_axib_wready", 1),
    o("s_axib_bid", 4),
    o("s_axib_bresp", 2),
    o("s_axib_bvalid", 1),
    i("s_axib_bready", 1),
    i("s_axib_arid", 4),
    i("s_axib_araddr", 64),
    i("s_axib_arregion", 4),
    i("s_axib_arlen", 8),
    i("s_axib_arsize", 3),
    i("s_axib_arburst", 2),
    i("s_axib_arvalid", 1),
    o("s_axib_arready", 1),
    o("s_axib_rid", 4),
    o("s_axib_rdata", 512),
    o("s_axib_rresp", 2),
    o("s_axib_rlast", 1),
    o("s_axib_rvalid", 1),
    i("s_axib_rready", 1),
];

/// CMAC USplus (PG203), CAUI-4 (4 x 25G), AXI4-Stream user interface, RS-FEC included, no
/// AXI4-Lite control port (ctl_* pins), 512-bit segmented-free AXIS at gt_txusrclk2.
/// Module name `cmac_usplus_0` (ip/cmac_usplus.tcl).
pub const CMAC: &[Port] = &[
    i("gt_ref_clk_p", 1),
    i("gt_ref_clk_n", 1),
    i("gt_rxp_in", 4),
    i("gt_rxn_in", 4),
    o("gt_txp_out", 4),
    o("gt_txn_out", 4),
    o("gt_txusrclk2", 1),
    o("gt_rxusrclk2", 1),
    o("gt_ref_clk_out", 1),
    o("gt_powergoodout", 4),
    i("gt_loopback_in", 12),
    i("gtwiz_reset_tx_datapath", 1),
    i("gtwiz_reset_rx_datapath", 1),
    i("sys_reset", 1),
    i("init_clk", 1),
    i("drp_clk", 1),
    i("drp_addr", 10),
    i("drp_di", 16),
    i("drp_en", 1),
    i("drp_we", 1),
    o("drp_do", 16),
    o("drp_rdy", 1),
    i("core_rx_reset", 1),
    i("core_tx_reset", 1),
    i("core_drp_reset", 1),
    i("rx_clk", 1),
    o("usr_rx_reset", 1),
    o("usr_tx_reset", 1),
    // receive AXIS (no backpressure)
    o("rx_axis_tvalid", 1),
    o("rx_axis_tdata", 512),
    o("rx_axis_tlast", 1),
    o("rx_axis_tkeep", 64),
    o("rx_axis_tuser", 1),
    o("rx_preambleout", 56),
    // transmit AXIS
    o("tx_axis_tready", 1),
    i("tx_axis_tvalid", 1),
    i("tx_axis_tdata", 512),
    i("tx_axis_tlast", 1),
    i("tx_axis_tkeep", 64),
    i("tx_axis_tuser", 1),
    i("tx_preamblein", 56),
    o("tx_ovfout", 1),
    o("tx_unfout", 1),
    // control (no AXI4-Lite)
    i("ctl_rx_enable", 1),
    i("ctl_rx_force_resync", 1),
    i("ctl_rx_test_pattern", 1),
    i("ctl_tx_enable", 1),
    i("ctl_tx_send_idle", 1),
    i("ctl_tx_send_rfi", 1),
    i("ctl_tx_send_lfi", 1),
    i("ctl_tx_test_pattern", 1),
    // RS-FEC control
    i("ctl_rsfec_ieee_error_indication_mode", 1),
    i("ctl_rx_rsfec_enable", 1),
    i("ctl_rx_rsfec_enable_correction", 1),
    i("ctl_rx_rsfec_enable_indication", 1),
    i("ctl_tx_rsfec_enable", 1),
    // status used by the top
    o("stat_rx_aligned", 1),
    o("stat_rx_status", 1),
    o("stat_rx_rsfec_hi_ser", 1),
];

/// A Verilog blackbox module with these ports (for Yosys; Vivado uses the IP's own netlist).
pub fn blackbox(module: &str, ports: &[Port], doc: &str) -> String {
    let mut s = String::new();
    for line in doc.lines() {
        s.push_str(&format!("// {line}\n"));
    }
    s.push_str(&format!("(* blackbox *)\nmodule {module} (\n"));
    for (k, p) in ports.iter().enumerate() {
        let dir = match p.dir {
            Dir::In => "input ",
            Dir::Out => "output",
        };
        let range = if p.width > 1 { format!("[{}:0] ", p.width - 1) } else { String::new() };
        let comma = if k + 1 < ports.len() { "," } else { "" };
        s.push_str(&format!("    {dir} wire {range}{}{comma}\n", p.name));
    }
    s.push_str(");\nendmodule\n");
    s
}

pub fn find(ports: &[Port], name: &str) -> Option<Port> {
    ports.iter().copied().find(|p| p.name == name)
}

/// Port names and widths read from the contract's markdown: `name`[N:0] or `name` (width 1),
/// plus table rows `| \`name\` | width |`.
pub fn parse_interface_md(text: &str) -> Vec<(String, u32)> {
    let mut out: Vec<(String, u32)> = Vec::new();
    let mut push = |name: &str, w: u32| {
        if !out.iter().any(|(n, _)| n == name) {
            out.push((name.to_string(), w));
        }
    };
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('|') {
            let cells: Vec<&str> = t.trim_matches('|').split('|').map(str::trim).collect();
            if cells.len() >= 2 && cells[0].starts_with('`') && cells[0].ends_with('`') {
                if let Ok(w) = cells[1].parse::<u32>() {
                    push(cells[0].trim_matches('`'), w);
                }
            }
            continue;
        }
        // `name`[hi:0] or `name` in running text
        let mut rest = t;
        while let Some(a) = rest.find('`') {
            let after = &rest[a + 1..];
            let Some(b) = after.find('`') else { break };
            let name = &after[..b];
            let tail = &after[b + 1..];
            let is_port = (name.starts_with("s_axi") || name.starts_with("m_axi") || name == "irq" || name == "clk" || name == "rst")
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if is_port {
                let digits: String = tail.strip_prefix(' ').unwrap_or("").chars().take_while(char::is_ascii_digit).collect();
                let w = if let Some(r) = tail.strip_prefix('[') {
                    r.split(':').next().and_then(|h| h.parse::<u32>().ok()).map_or(1, |h| h + 1)
                } else if !digits.is_empty() {
                    digits.parse().unwrap_or(1)
                } else {
                    1
                };
                push(name, w);
            }
            rest = tail;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The core's port list here is the contract in hdl/src/core/INTERFACE.md, name by name and
    /// width by width.
    #[test]
    fn core_ports_match_the_contract() {
        let md = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../hdl/src/core/INTERFACE.md")).unwrap();
        let mut doc = parse_interface_md(&md);
        let mut ours: Vec<(String, u32)> = CORE.iter().map(|p| (p.name.to_string(), p.width)).collect();
        doc.sort();
        ours.sort();
        assert_eq!(doc, ours);
    }

    #[test]
    fn blackbox_has_every_port_once() {
        let v = blackbox("ddpnic_core", CORE, "stub");
        for p in CORE {
            assert_eq!(v.matches(&format!(" {},", p.name)).count() + v.matches(&format!(" {}\n", p.name)).count(), 1, "{}", p.name);
        }
    }
}
