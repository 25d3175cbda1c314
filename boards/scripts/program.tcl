# make flash BOARD=<board> [MODE=jtag|flash]: program an Alveo card from Vivado's hardware manager.
#   vivado -mode batch -source boards/scripts/program.tcl -tclargs <board build dir> <jtag|flash> [hw_server url]
# jtag : loads the .bit into the FPGA over JTAG (lost at power cycle; the host must rescan PCIe:
#        echo 1 > /sys/bus/pci/devices/<bdf>/remove; echo 1 > /sys/bus/pci/rescan).
# flash: writes the .mcs into the configuration flash at the user-image offset (the golden
#        image below it is kept); the card loads it at the next cold boot of the host.
# The card's JTAG is on its USB (maintenance) port or the Alveo programming cable; hw_server
# must run on the machine the cable is plugged into (default localhost:3121).
if {[llength $argv] < 2} {
    puts "usage: vivado -mode batch -source program.tcl -tclargs <board build dir> <jtag|flash> \[hw_server url\]"
    exit 2
}
set ddp_dir [lindex $argv 0]
set ddp_mode [lindex $argv 1]
set ddp_url [expr {[llength $argv] > 2 ? [lindex $argv 2] : "localhost:3121"}]
source [file join $ddp_dir board.tcl]
set ddp_bit [file join $ddp_dir $ddp_top.bit]
set ddp_mcs [file join $ddp_dir $ddp_top.mcs]
set ddp_file [expr {$ddp_mode eq "jtag" ? $ddp_bit : $ddp_mcs}]
if {![file exists $ddp_file]} {
    puts "ERROR: ddpnic: $ddp_file not found: run make bitstream BOARD=$ddp_board first"
    exit 1
}

open_hw_manager
connect_hw_server -url $ddp_url
open_hw_target
set ddp_dev [lindex [get_hw_devices $ddp_hw_device] 0]
if {$ddp_dev eq ""} {
    puts "ERROR: ddpnic: no $ddp_hw_device on the JTAG chain at $ddp_url"
    exit 1
}
current_hw_device $ddp_dev
refresh_hw_device -update_hw_probes false $ddp_dev

switch -- $ddp_mode {
    jtag {
        set_property PROGRAM.FILE $ddp_bit $ddp_dev
        program_hw_devices $ddp_dev
        puts "ddpnic: $ddp_bit loaded over JTAG; now rescan the PCIe bus on the host"
    }
    flash {
        create_hw_cfgmem -hw_device $ddp_dev [lindex [get_cfgmem_parts $ddp_flash_part] 0]
        set ddp_mem [get_property PROGRAM.HW_CFGMEM $ddp_dev]
        set_property PROGRAM.ADDRESS_RANGE {use_file} $ddp_mem
        set_property PROGRAM.FILES [list $ddp_mcs] $ddp_mem
        set_property PROGRAM.BLANK_CHECK 0 $ddp_mem
        set_property PROGRAM.ERASE 1 $ddp_mem
        set_property PROGRAM.CFG_PROGRAM 1 $ddp_mem
        set_property PROGRAM.VERIFY 1 $ddp_mem
        set_property PROGRAM.CHECKSUM 0 $ddp_mem
        create_hw_bitstream -hw_device $ddp_dev [get_property PROGRAM.HW_CFGMEM_BITFILE $ddp_dev]
        program_hw_devices $ddp_dev
        refresh_hw_device $ddp_dev
        program_hw_cfgmem -hw_cfgmem $ddp_mem
        puts "ddpnic: $ddp_mcs written at $ddp_flash_offset; cold-boot the host to load it"
    }
    default {
        puts "ERROR: ddpnic: mode must be jtag or flash, not $ddp_mode"
        exit 2
    }
}
close_hw_target
disconnect_hw_server
close_hw_manager
