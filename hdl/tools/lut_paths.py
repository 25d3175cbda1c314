#!/usr/bin/env python3
"""The deepest LUT path of a Yosys JSON netlist, then every endpoint deeper than 6 LUTs grouped
by name: python3 hdl/tools/lut_paths.py build/synth/<block>.netlist.json"""
import json, sys, collections
d = json.load(open(sys.argv[1]))
top = max(d['modules'].items(), key=lambda kv: len(kv[1]['cells']))[1]
names = {}
for n, net in top['netnames'].items():
    for i, b in enumerate(net['bits']):
        if isinstance(b, int) and (b not in names or n.startswith('\\') ):
            names[b] = f"{n}[{i}]"
driver = {}
for cn, c in top['cells'].items():
    t = c['type']
    dirs = c.get('port_directions', {})
    ins = [b for p, bs in c['connections'].items() if dirs.get(p) == 'input' for b in bs if isinstance(b, int)]
    for p, bs in c['connections'].items():
        if dirs.get(p) == 'output':
            for b in bs:
                if isinstance(b, int):
                    driver[b] = (t, cn, ins)
sys.setrecursionlimit(100000)
memo = {}
def depth(b):
    if b in memo: return memo[b]
    memo[b] = (0, None)
    if b not in driver: return memo[b]
    t, cn, ins = driver[b]
    if not (t.startswith('LUT') or t.startswith('MUXF') or t.startswith('CARRY')):
        return memo[b]
    best = (0, None)
    for i in ins:
        dd = depth(i)[0]
        if dd > best[0] or best[1] is None: best = (dd, i)
    memo[b] = (best[0] + (1 if t.startswith('LUT') else 0), best[1])
    return memo[b]
deep = max(driver, key=lambda b: depth(b)[0])
b = deep
while b is not None:
    t = driver.get(b, ('port/ff', '', []))[0]
    print(depth(b)[0], t, names.get(b, b))
    b = depth(b)[1]
# every net at depth > 6 that drives a non-LUT cell (an endpoint), grouped by name prefix
ends = collections.Counter()
for cn, c in top['cells'].items():
    t = c['type']
    if t.startswith('LUT') or t.startswith('MUXF') or t.startswith('CARRY'):
        continue
    dirs = c.get('port_directions', {})
    for p, bs in c['connections'].items():
        if dirs.get(p) == 'input':
            for b in bs:
                if isinstance(b, int) and depth(b)[0] > 6:
                    # name the endpoint by walking back to a named net
                    ends[(depth(b)[0], t, names.get(b, str(b)).split('[')[0][:80])] += 1
for (d, t, n), k in sorted(ends.items(), reverse=True)[:40]:
    print(f"end depth {d} {t} x{k}: {n}")
