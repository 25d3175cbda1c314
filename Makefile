# ddpnic: one entry point. Every target installs what it needs on a fresh Debian machine.
SHELL := /bin/bash
CARGO ?= cargo
HDL_TOOL = target/release/ddpnic-hdl $(if $(BLOCKS),--only $(BLOCKS))
DDPNIC := target/release/ddpnic

.PHONY: all deps hdl-tool verilog lint synth test demo demo-soft demo-loopback bench clean

all: test

# Verilator and Yosys from Debian; crates come through cargo.
deps:
	@missing=""; for t in verilator yosys; do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

hdl-tool:
	$(CARGO) build --release -q -p ddpnic-hdl --bin ddpnic-hdl

# Verilog for every top-level block of hdl/ into build/verilog/.
verilog: hdl-tool
	$(HDL_TOOL) verilog --out build/verilog

# verilator --lint-only -Wall; only hdl/lint/waivers.vlt may excuse a warning.
lint: deps verilog
	$(HDL_TOOL) lint --verilog build/verilog --waivers hdl/lint/waivers.vlt

# Yosys synth_xilinx for UltraScale+: build/synth/<block>.json and summary.md; fails over budget.
# BLOCKS=a,b limits verilog/lint/synth to those blocks.
synth: deps verilog
	$(HDL_TOOL) synth --verilog build/verilog --out build/synth

# Unit tests, rust-hdl simulations, Verilator replays, and lint.
test: deps
	$(CARGO) test --workspace
	$(MAKE) --no-print-directory lint

# The main job: the host's NVMe/TCP initiator on a user-space TCP/IP stack (smoltcp) reads from
# the embedded target on its own stack across a simulated 100 Gbit/s wire, through the Verilated
# NIC core (`--nic sim`): the host driver's rx/tx/event rings over BAR0 and the sim's checked DMA
# memory, sk_add/setup/teardown through the command window, C2HData placed by the NIC straight
# into the read buffers. Mixed reads of 4 KiB to 1 MiB at queue depth 32 with both digests,
# every byte checked, a pcap of the wire; then the same under seeded faults (drops, reordering,
# duplicates, corruption, re-segmentation). Each run ends with the NIC's counters by the
# contract's names.
DEMO_OUT := build/demo
demo: deps
	$(CARGO) build --release -q -p ddpnic
	@mkdir -p $(DEMO_OUT)
	@echo "== 64 MiB of mixed reads through the simulated NIC, header and data digests on"
	$(DDPNIC) demo --nic sim --digests --bytes 64M --pcap $(DEMO_OUT)/wire.pcap
	@echo "== the same under faults (seed 7): TCP retransmits, resyncs, digests catch corruption"
	$(DDPNIC) demo --nic sim --digests --bytes 32M --faults drop=0.002,reorder=0.002,dup=0.002,corrupt=0.002,reseg=0.02,seed=7

# The same workload with a software pass-through NIC under the host's stack (no offload: the
# baseline), then over the kernel's loopback with the embedded target on real sockets.
demo-soft: deps
	$(CARGO) build --release -q -p ddpnic
	@mkdir -p $(DEMO_OUT)
	$(DDPNIC) demo --digests --bytes 64M --pcap $(DEMO_OUT)/wire-soft.pcap
	$(DDPNIC) demo --digests --bytes 32M --faults drop=0.002,reorder=0.002,dup=0.002,corrupt=0.002,reseg=0.02,seed=7

DEMO_NQN := nqn.2026-11.io.ddpnic:demo
DEMO_PORT ?= 14420
demo-loopback: deps
	$(CARGO) build --release -q -p ddpnic
	@set -e; dir=$$(mktemp -d); \
	$(DDPNIC) target --listen 127.0.0.1:$(DEMO_PORT) --nqn $(DEMO_NQN) --size 256M --block-size 4096 --pattern --c2h-pdu-size 65536 & target=$$!; \
	trap 'kill $$target 2>/dev/null; rm -rf $$dir' EXIT; \
	for i in $$(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$(DEMO_PORT)) 2>/dev/null && break; sleep 0.05; done; \
	c="-a 127.0.0.1 -s $(DEMO_PORT) -n $(DEMO_NQN)"; \
	$(DDPNIC) identify $$c; \
	echo "== read 256 MiB, header and data digests on, every block checked against the pattern"; \
	$(DDPNIC) read $$c --nsid 1 --start-block 0 --block-count 65536 --data $$dir/all.bin --hdgst --ddgst --verify-pattern; \
	echo "== write 8 MiB of random data and read it back"; \
	head -c 8388608 /dev/urandom > $$dir/in.bin; \
	$(DDPNIC) write $$c --nsid 1 --start-block 1000 --block-count 2048 --data $$dir/in.bin --hdgst --ddgst; \
	$(DDPNIC) read $$c --nsid 1 --start-block 1000 --block-count 2048 --data $$dir/back.bin --hdgst --ddgst; \
	cmp $$dir/in.bin $$dir/back.bin && echo "demo: write read back identical"

# Benchmarks: one JSON line per figure. The software NVMe/TCP path (the baseline the offload
# is measured against), then the placement blocks and the core's host interface in Verilator
# (control cycles per I/O, DMA bytes per cycle, rx/tx cycles per frame), then the Verilated
# models' speed through ddpnic-sim (cycles/s, simulated Gbit/s).
bench: deps hdl-tool
	$(CARGO) run --release -q -p ddpnic -- bench
	$(HDL_TOOL) bench
	$(CARGO) run --release -q -p ddpnic-sim --example sim_speed

clean:
	rm -rf build

# ---- Alveo boards (boards/README.md) ---------------------------------------------------------
# BOARD = au250 | au280 | au55c. constraints: the board's XDC into build/constraints/ and the
# generated top, stubs and Vivado parameters into build/boards/$(BOARD)/. bitstream / flash need
# Vivado on the PATH (flash: MODE=flash writes the config flash, MODE=jtag loads over JTAG).
# boards-check (CI): Yosys synthesis of every board top with IP and core blackboxes, XDC ports
# against the top, every TCL script and XDC under tclsh with stub Vivado commands, the glue
# RTL's Verilator testbench, and (once build/verilog/ddpnic_core.v exists) the core's ports
# against the contract the stub is generated from.
BOARD ?= au250
MODE ?= flash
HW_SERVER ?= localhost:3121
CORE_V := build/verilog/ddpnic_core.v
BOARDS_TOOL := target/release/ddpnic-boards
BOARD_DIR := build/boards/$(BOARD)

.PHONY: boards-deps boards-tool constraints boards-check bitstream flash

boards-deps: deps
	@command -v tclsh >/dev/null || { \
	  echo "installing: tcl"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq tcl >/dev/null; }

boards-tool:
	$(CARGO) build --release -q -p ddpnic-boards --bin ddpnic-boards

constraints: boards-tool
	$(BOARDS_TOOL) emit --board $(BOARD) --out build

boards-check: boards-deps boards-tool
	$(BOARDS_TOOL) check --board all --out build --root . $(if $(wildcard $(CORE_V)),--core-verilog $(CORE_V))

bitstream:
	@command -v vivado >/dev/null || { echo "make bitstream: 'vivado' is not on the PATH (install Vivado with UltraScale+ support and source its settings64.sh)"; exit 1; }
	$(MAKE) --no-print-directory verilog boards-tool
	@test -f $(CORE_V) || { echo "make bitstream: $(CORE_V) is missing: the NIC core (issue 5) is not in this tree yet"; exit 1; }
	$(BOARDS_TOOL) emit --board $(BOARD) --out build --core-verilog $(CORE_V)
	cd $(BOARD_DIR) && vivado -mode batch -nojournal -log vivado_build.log -source $(CURDIR)/boards/scripts/build.tcl -tclargs $(CURDIR) $(CURDIR)/$(BOARD_DIR)

flash:
	@command -v vivado >/dev/null || { echo "make flash: 'vivado' is not on the PATH (install Vivado Lab Edition or Vivado and source its settings64.sh)"; exit 1; }
	@test -f $(BOARD_DIR)/ddpnic_$(BOARD)_top.bit || { echo "make flash: $(BOARD_DIR)/ddpnic_$(BOARD)_top.bit is missing: run make bitstream BOARD=$(BOARD) first"; exit 1; }
	cd $(BOARD_DIR) && vivado -mode batch -nojournal -log vivado_program.log -source $(CURDIR)/boards/scripts/program.tcl -tclargs $(CURDIR)/$(BOARD_DIR) $(MODE) $(HW_SERVER)
