#!/usr/bin/env python3
"""How much the nab example's score owes to choosing parameters on the series it is scored on.

Runs the example (standard profile) over a grid of 81 settings (limit, alpha, memory,
refractory: 3 values each around the defaults), prints the grid's spread, then picks the best
setting without each category (and without each series), scores what was left out with it and
pools those scores the NAB way (sum of raw scores, normalised by the summed null and perfect).

    cargo build --release -p telltale-alerts --example nab
    python3 crates/alerts/examples/nab/loco.py [--set 'key = value']...

Environment: NAB (default ../shared/data/nab), NAB_BIN (default
$CARGO_TARGET_DIR or target, then release/examples/nab), VERBOSE=1 for each category's pick.
"""
import itertools, os, re, statistics, subprocess, sys
NAB = os.environ.get("NAB", "../shared/data/nab")
BIN = os.environ.get("NAB_BIN", os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release/examples/nab"))
GRID = dict(limit=[3, 4, 5], alpha=[0.01, 0.02, 0.04], memory=[50, 100, 200], refractory=[50, 100, 200])
VERBOSE = os.environ.get('VERBOSE')
extra = sys.argv[1:]
line = re.compile(r"^\s+(\S+)\s+raw\s+(\S+) of\s+(\S+)\.\.\s*(\S+)")
def run(setting):
    args = [BIN, NAB, "--files"] + extra
    for k, v in setting.items():
        args += ["--set", f"{k} = {v}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    files = {}
    for l in out.splitlines():
        m = line.match(l)
        if m:
            files[m.group(1)] = tuple(float(m.group(i)) for i in (2, 3, 4))
    return files
def norm(files, keys):
    r = sum(files[k][0] for k in keys); n = sum(files[k][1] for k in keys); p = sum(files[k][2] for k in keys)
    return 100 * (r - n) / (p - n) if p > n else 0.0
keys = list(GRID)
settings = [dict(zip(keys, vs)) for vs in itertools.product(*GRID.values())]
results = [run(s) for s in settings]
allf = sorted(results[0])
scores = [norm(r, allf) for r in results]
print(f"grid {len(scores)}: median {statistics.median(scores):.1f} min {min(scores):.1f} q1 {statistics.quantiles(scores, n=4)[0]:.1f} q3 {statistics.quantiles(scores, n=4)[2]:.1f} max {max(scores):.1f} stdev {statistics.pstdev(scores):.1f}")
best = max(range(len(scores)), key=lambda i: scores[i])
print(f"best in-sample {scores[best]:.1f} at {settings[best]}")
def held_out(groups):
    pooled = {}
    for g, members in groups.items():
        train = [f for f in allf if f not in members]
        i = max(range(len(settings)), key=lambda i: (norm(results[i], train), -abs(i - len(settings) // 2)))
        for f in members:
            pooled[f] = results[i][f]
        if VERBOSE and len(members) > 1:
            print(f"  {g}: picked {settings[i]} held-out {norm(results[i], members):.1f} (defaults {norm(results[len(settings) // 2], members):.1f}, best {max(norm(r, members) for r in results):.1f})")
    return norm(pooled, allf)
cats = {}
for f in allf:
    cats.setdefault(f.split("/")[0], set()).add(f)
print(f"leave-one-category-out pooled {held_out(cats):.1f}")
print(f"leave-one-file-out pooled {held_out({f: {f} for f in allf}):.1f}")
for k in keys:
    for v in GRID[k]:
        sc = [scores[i] for i in range(len(settings)) if settings[i][k] == v]
        print(f"  {k}={v}: mean {statistics.mean(sc):.1f} max {max(sc):.1f}")
