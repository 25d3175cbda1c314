# Parses and runs every Vivado TCL script and XDC file of the board flow under plain tclsh, with
# stub procs standing in for Vivado's commands, so an unbalanced brace, a misspelt command or
# variable, or a wrong argument count fails here instead of an hour into a Vivado run.
#   tclsh boards/scripts/tcl_check.tcl <repo root> <board build dir>
# The board build dir is what `ddpnic-boards emit` wrote (board.tcl, <board>.xdc, ...); the
# check creates placeholder .bit/.mcs files there so program.tcl's file checks pass.
# The scripts' own output is muted; each prints "ok" or "FAIL <why>". Exit status 0 when every
# script ran to its end, 1 otherwise.
set root [lindex $argv 0]
set dir [lindex $argv 1]

# Vivado commands used by the flow, with the minimum number of arguments each needs.
set vivado_cmds {
    create_project 0 current_project 0 set_property 2 get_property 2 create_ip 0 get_ips 0
    generate_target 2 synth_ip 1 read_verilog 1 read_xdc 1 get_files 1 synth_design 2
    write_checkpoint 1 report_utilization 0 opt_design 0 place_design 0 phys_opt_design 0
    route_design 0 report_timing_summary 0 report_clock_interaction 0 get_timing_paths 0
    write_bitstream 1 write_cfgmem 2 open_hw_manager 0 connect_hw_server 0 open_hw_target 0
    get_hw_devices 0 current_hw_device 1 refresh_hw_device 1 program_hw_devices 1
    create_hw_cfgmem 2 get_cfgmem_parts 1 create_hw_bitstream 2 program_hw_cfgmem 2
    close_hw_target 0 disconnect_hw_server 0 close_hw_manager 0
    current_design 0 get_ports 1 get_pins 1 get_cells 1 get_clocks 0 create_clock 1
    set_false_path 2 set_clock_groups 2 set_max_delay 2
}

proc make_interp {argv_value} {
    global vivado_cmds
    set i [interp create]
    foreach {cmd min} $vivado_cmds {
        $i eval [list proc $cmd args [string map [list @CMD@ $cmd @MIN@ $min] {
            if {[llength $args] < @MIN@} {
                error "@CMD@: needs at least @MIN@ arguments, got [llength $args]: $args"
            }
            switch -- @CMD@ {
                get_property { return [expr {[lindex $args 0] eq "SLACK" ? 0.5 : "stub_property"}] }
                get_hw_devices { return hw_device_0 }
                get_cfgmem_parts { return cfgmem_part_0 }
                default { return "stub_@CMD@" }
            }
        }]]
    }
    $i alias exit stub_exit
    $i eval [list set argv $argv_value]
    $i eval [list set argc [llength $argv_value]]
    return $i
}
proc stub_exit {{code 0}} {
    if {$code != 0} { error "script called exit $code" }
    return -code return
}

set failures 0
proc run {what argv_value body {quiet 1}} {
    global failures
    set i [make_interp $argv_value]
    if {$quiet} { $i eval {rename puts ddp_puts; proc puts args {}} }
    if {[catch {$i eval $body} err opts]} {
        puts "FAIL $what: $err"
        incr failures
    } else {
        puts "ok   $what"
    }
    interp delete $i
}

set board_tcl [file join $dir board.tcl]
# the parameters file itself, then each recipe with the parameters loaded
run [file tail $board_tcl] {} [list source $board_tcl]
source $board_tcl
foreach ip {xdma.tcl cmac_usplus.tcl} {
    run "ip/$ip" {} "source [list $board_tcl]; set ddp_ip_dir [list [file join $dir ip]]; source [list [file join $root ip $ip]]"
}
foreach f [list [file join $dir $ddp_board.xdc] [file join $dir ${ddp_board}_cdc.xdc]] {
    run [file tail $f] {} [list source $f]
}
close [open [file join $dir $ddp_top.bit] w]
close [open [file join $dir $ddp_top.mcs] w]
run "boards/scripts/build.tcl" [list $root $dir] [list source [file join $root boards scripts build.tcl]]
foreach mode {jtag flash} {
    run "boards/scripts/program.tcl $mode" [list $dir $mode] [list source [file join $root boards scripts program.tcl]]
}
run "boards/scripts/program.tcl (bad mode is refused)" [list $dir bogus] \
    "if {!\[catch {source [list [file join $root boards scripts program.tcl]]}\]} { error {accepted mode bogus} }" 1
file delete [file join $dir $ddp_top.bit] [file join $dir $ddp_top.mcs]
if {$failures} {
    puts "$failures TCL check(s) failed"
    exit 1
}
