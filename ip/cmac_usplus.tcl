# 100G CMAC USplus for the ddpnic board tops (PG203 "UltraScale+ Devices Integrated 100G Ethernet").
# CAUI-4 (4 x 25.78125 Gb/s) on the QSFP28 cage's GTY quad, 512-bit AXI4-Stream user interface at
# gt_txusrclk2 (322.265625 MHz), RS-FEC (Clause 91) included and enabled by the ctl_*rsfec* pins,
# no AXI4-Lite port (bring-up by the ctl_* pins, boards/rtl/ddp_board_glue.v: ddp_cmac_ctl),
# no pause frames. Module name cmac_usplus_0, ports as in boards/src/ports.rs (CMAC).
#
# Inputs (set by the generated build/boards/<board>/board.tcl):
#   ddp_ip_dir, ddp_cmac_site, ddp_cmac_gt_group, ddp_cmac_lanes (4 GT sites),
#   ddp_cmac_refclk_mhz, ddp_init_mhz
create_ip -name cmac_usplus -vendor xilinx.com -library ip -module_name cmac_usplus_0 -dir $ddp_ip_dir
set_property -dict [list \
    CONFIG.CMAC_CAUI4_MODE {1} \
    CONFIG.NUM_LANES {4x25} \
    CONFIG.USER_INTERFACE {AXIS} \
    CONFIG.GT_REF_CLK_FREQ $ddp_cmac_refclk_mhz \
    CONFIG.GT_DRP_CLK $ddp_init_mhz \
    CONFIG.INCLUDE_RS_FEC {1} \
    CONFIG.ENABLE_AXI_INTERFACE {0} \
    CONFIG.INCLUDE_STATISTICS_COUNTERS {0} \
    CONFIG.TX_FLOW_CONTROL {0} \
    CONFIG.RX_FLOW_CONTROL {0} \
    CONFIG.RX_MAX_PACKET_LEN {9600} \
    CONFIG.ENABLE_PIPELINE_REG {1} \
    CONFIG.CMAC_CORE_SELECT $ddp_cmac_site \
    CONFIG.GT_GROUP_SELECT $ddp_cmac_gt_group \
    CONFIG.LANE1_GT_LOC [lindex $ddp_cmac_lanes 0] \
    CONFIG.LANE2_GT_LOC [lindex $ddp_cmac_lanes 1] \
    CONFIG.LANE3_GT_LOC [lindex $ddp_cmac_lanes 2] \
    CONFIG.LANE4_GT_LOC [lindex $ddp_cmac_lanes 3] \
] [get_ips cmac_usplus_0]
