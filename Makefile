# ddpnic: one entry point. Every target installs what it needs on a fresh Debian machine.
SHELL := /bin/bash
CARGO ?= cargo
HDL_TOOL := target/release/ddpnic-hdl
DDPNIC := target/release/ddpnic

.PHONY: all deps hdl-tool verilog lint synth test demo bench clean

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
synth: deps verilog
	$(HDL_TOOL) synth --verilog build/verilog --out build/synth

# Unit tests, rust-hdl simulations, Verilator replays, and lint.
test: deps
	$(CARGO) test --workspace
	$(MAKE) --no-print-directory lint

clean:
	rm -rf build
