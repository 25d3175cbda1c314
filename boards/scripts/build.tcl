# make bitstream BOARD=<board>: Vivado batch flow for one Alveo board top.
#   vivado -mode batch -source boards/scripts/build.tcl -tclargs <repo root> <board build dir>
# The board build dir (build/boards/<board>/, written by `ddpnic-boards emit`) holds board.tcl
# (the board's parameters), top.v, core.v (the NIC core's Verilog) and the XDC files.
# Steps: IP generation (ip/*.tcl), synth_design, opt/place/phys_opt/route, timing and
# utilization reports (fail on negative slack), write_bitstream, write_cfgmem (.mcs for flash).
if {[llength $argv] != 2} {
    puts "usage: vivado -mode batch -source build.tcl -tclargs <repo root> <board build dir>"
    exit 2
}
set ddp_root [lindex $argv 0]
set ddp_dir [lindex $argv 1]
source [file join $ddp_dir board.tcl]
set ddp_ip_dir [file join $ddp_dir ip]
set ddp_reports [file join $ddp_dir reports]
file mkdir $ddp_ip_dir
file mkdir $ddp_reports

create_project -in_memory -part $ddp_part
set_property target_language Verilog [current_project]

# Vendor IP
source [file join $ddp_root ip xdma.tcl]
source [file join $ddp_root ip cmac_usplus.tcl]
generate_target all [get_ips]
synth_ip [get_ips]

# RTL: helper modules, the NIC core, the generated top
foreach f $ddp_rtl_files {
    read_verilog [file join $ddp_root boards rtl $f]
}
read_verilog [file join $ddp_dir core.v]
read_verilog [file join $ddp_dir top.v]

# Constraints: board pins first, the clock-crossing constraints after the IP's own XDC
read_xdc [file join $ddp_dir $ddp_board.xdc]
read_xdc [file join $ddp_dir ${ddp_board}_cdc.xdc]
set_property PROCESSING_ORDER LATE [get_files [file join $ddp_dir ${ddp_board}_cdc.xdc]]

synth_design -top $ddp_top -part $ddp_part
write_checkpoint -force [file join $ddp_dir post_synth.dcp]
report_utilization -file [file join $ddp_reports utilization_synth.rpt]

opt_design
place_design
phys_opt_design
route_design
write_checkpoint -force [file join $ddp_dir post_route.dcp]

report_timing_summary -max_paths 20 -file [file join $ddp_reports timing_summary.rpt]
report_utilization -file [file join $ddp_reports utilization.rpt]
report_clock_interaction -file [file join $ddp_reports clock_interaction.rpt]
set ddp_wns [get_property SLACK [get_timing_paths -max_paths 1 -nworst 1 -setup]]
set ddp_whs [get_property SLACK [get_timing_paths -max_paths 1 -nworst 1 -hold]]
puts "ddpnic: $ddp_board WNS $ddp_wns ns, WHS $ddp_whs ns"
if {$ddp_wns ne "" && $ddp_wns < 0} {
    puts "ERROR: ddpnic: timing not met on $ddp_board (WNS $ddp_wns ns), see $ddp_reports/timing_summary.rpt"
    exit 1
}

set ddp_bit [file join $ddp_dir $ddp_top.bit]
write_bitstream -force $ddp_bit
write_cfgmem -force -format mcs -size 128 -interface SPIx4 \
    -loadbit [list up $ddp_flash_offset $ddp_bit] -file [file join $ddp_dir $ddp_top.mcs]
puts "ddpnic: wrote $ddp_bit and [file join $ddp_dir $ddp_top.mcs]"
