#!/usr/bin/env python3
"""Register-to-register paths of a Yosys JSON netlist, two ways: the slowest by the cell delays
ABC9 maps with (the specify blocks of Yosys' xilinx cells_sim.v: LUT pins, CARRY4/8 arcs,
MUXF7/8; no routing, no clock-to-out), and the deepest in LUTs (what `make synth` budgets).
python3 hdl/tools/netlist_paths.py build/synth/<block>.netlist.json [cells_sim.v]
Prints each path cell by cell, then the worst endpoints grouped by name."""
import collections, json, re, sys

sim = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/yosys/xilinx/cells_sim.v"
arcs = collections.defaultdict(dict)  # cell type -> (in port, in bit, out port, out bit) -> ps
module = None
for line in open(sim):
    m = re.match(r"\s*module\s+(\w+)", line)
    if m:
        module = m.group(1)
    m = re.match(r"\s*\((\w+)(?:\[(\d+)\])?\s*=>\s*(\w+)(?:\[(\d+)\])?\)\s*=\s*([^;]+);", line)
    if m and module:
        expr = re.sub(r"/\*.*?\*/", "", m.group(5))
        try:
            ps = eval(expr, {})
        except Exception:
            continue
        arcs[module][(m.group(1), int(m.group(2) or 0), m.group(3), int(m.group(4) or 0))] = ps

d = json.load(open(sys.argv[1]))
top = max(d["modules"].values(), key=lambda mod: len(mod["cells"]))
names = {}
for n, net in top["netnames"].items():
    for i, b in enumerate(net["bits"]):
        if isinstance(b, int) and (b not in names or n.startswith("\\")):
            names[b] = f"{n}[{i}]"
comb = lambda t: t.startswith(("LUT", "MUXF", "CARRY")) or t == "INV"
driver = {}  # bit -> (cell type, cell name, [(input bit, delay)])
for cn, c in top["cells"].items():
    t = c["type"]
    if not comb(t):
        continue
    dirs = c.get("port_directions", {})
    ins = [(p, i, b) for p, bs in c["connections"].items() if dirs.get(p) == "input" for i, b in enumerate(bs) if isinstance(b, int)]
    for p, bs in c["connections"].items():
        if dirs.get(p) != "output":
            continue
        for j, b in enumerate(bs):
            if isinstance(b, int):
                deps = [(ib, arcs[t].get((ip, ii, p, j), arcs[t].get((ip, 0, p, 0)))) for ip, ii, ib in ins]
                driver[b] = (t, cn, [(ib, ps) for ib, ps in deps if ps is not None])
sys.setrecursionlimit(1000000)

def report(title, unit, weight, threshold):
    """The worst path and endpoints when a cell arc costs weight(cell type, arc delay)."""
    memo = {}
    def arrival(b):
        if b in memo:
            return memo[b]
        memo[b] = (0, None)
        if b in driver:
            t = driver[b][0]
            best = (0, None)
            for ib, ps in driver[b][2]:
                a = arrival(ib)[0] + weight(t, ps)
                if a > best[0]:
                    best = (a, ib)
            memo[b] = best
        return memo[b]
    ends = collections.Counter()
    worst = (0, None)
    for c in top["cells"].values():
        if comb(c["type"]):
            continue
        dirs = c.get("port_directions", {})
        for p, bs in c["connections"].items():
            if dirs.get(p) == "input":
                for b in bs:
                    if isinstance(b, int):
                        a = arrival(b)[0]
                        if a > threshold:
                            ends[(a, c["type"], names.get(b, str(b)).split("[")[0][:90])] += 1
                        if a > worst[0]:
                            worst = (a, b)
    print(f"{title}: {worst[0]:.0f} {unit}")
    b = worst[1]
    while b is not None:
        print(f"  {arrival(b)[0]:6.0f} {unit}  {driver.get(b, ('start',))[0]:8} {names.get(b, b)}")
        b = arrival(b)[1]
    for (a, t, n), k in sorted(ends.items(), reverse=True)[:25]:
        print(f"  end {a:.0f} {unit} {t} x{k}: {n}")

report("slowest path", "ps", lambda t, ps: ps, 2000)
report("deepest path", "LUTs", lambda t, ps: 1 if t.startswith("LUT") else 0, 6)
