# PCIe Gen3 x16 bridge for the ddpnic board tops: DMA/Bridge Subsystem for PCI Express (PG195)
# in AXI Bridge functional mode (PG194, "DMA/Bridge Subsystem for PCIe in AXI Bridge Mode").
# - M_AXI_B: BAR0 (64 KiB, address 0 on AXI) -> boards/rtl ddp_axi_to_axil -> the core's AXI-Lite.
# - S_AXI_B: the core's AXI4 DMA master -> host memory. AXI addresses are PCIe addresses
#   (one AXI BAR over the low 2^48 bytes, translation 0), so the core writes IOVAs directly
#   (host-driver/src/pci/vfio.rs allocates them from 4 GiB up, far below 2^48).
# - usr_irq_req[0]/usr_irq_ack[0]: one user interrupt, MSI (and MSI-X inside the IP).
# - axi_aclk 250 MHz, 512-bit, 4-bit AXI IDs: the core's clock and bus widths.
# Module name xdma_0, ports as in boards/src/ports.rs (XDMA).
#
# PCI IDs: vendor 0x10ee with device 0xdd01 is a placeholder for development cards; no in-tree
# driver binds it, and host-driver/src/pci matches it (ddpnic probe --id to override).
#
# Inputs (set by the generated build/boards/<board>/board.tcl):
#   ddp_ip_dir, ddp_pcie_blk_locn, ddp_pcie_select_quad
create_ip -name xdma -vendor xilinx.com -library ip -module_name xdma_0 -dir $ddp_ip_dir
set_property -dict [list \
    CONFIG.functional_mode {AXI_Bridge} \
    CONFIG.mode_selection {Advanced} \
    CONFIG.device_port_type {PCI_Express_Endpoint_device} \
    CONFIG.pcie_blk_locn $ddp_pcie_blk_locn \
    CONFIG.en_gt_selection {true} \
    CONFIG.select_quad $ddp_pcie_select_quad \
    CONFIG.pl_link_cap_max_link_width {X16} \
    CONFIG.pl_link_cap_max_link_speed {8.0_GT/s} \
    CONFIG.ref_clk_freq {100_MHz} \
    CONFIG.axi_data_width {512_bit} \
    CONFIG.axisten_freq {250} \
    CONFIG.coreclk_freq {500} \
    CONFIG.axi_addr_width {64} \
    CONFIG.s_axi_id_width {4} \
    CONFIG.en_axi_master_if {true} \
    CONFIG.en_axi_slave_if {true} \
    CONFIG.xdma_axilite_slave {false} \
    CONFIG.c_s_axi_supports_narrow_burst {false} \
    CONFIG.vendor_id {10EE} \
    CONFIG.pf0_device_id {DD01} \
    CONFIG.pf0_subsystem_vendor_id {10EE} \
    CONFIG.pf0_subsystem_id {0007} \
    CONFIG.pf0_class_code_base {02} \
    CONFIG.pf0_class_code_sub {00} \
    CONFIG.pf0_class_code_interface {00} \
    CONFIG.pf0_bar0_enabled {true} \
    CONFIG.pf0_bar0_64bit {false} \
    CONFIG.pf0_bar0_prefetchable {false} \
    CONFIG.pf0_bar0_scale {Kilobytes} \
    CONFIG.pf0_bar0_size {64} \
    CONFIG.pciebar2axibar_0 {0x0000000000000000} \
    CONFIG.axibar_num {1} \
    CONFIG.axibar_0 {0x0000000000000000} \
    CONFIG.axibar_highaddr_0 {0x0000FFFFFFFFFFFF} \
    CONFIG.axibar2pciebar_0 {0x0000000000000000} \
    CONFIG.xdma_num_usr_irq {1} \
    CONFIG.pf0_msi_enabled {true} \
    CONFIG.pf0_interrupt_pin {NONE} \
    CONFIG.pf0_link_status_slot_clock_config {true} \
    CONFIG.plltype {QPLL1} \
] [get_ips xdma_0]
