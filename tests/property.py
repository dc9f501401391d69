#!/usr/bin/env python3
"""property.py: no failure report, missing or stale state, or failed
component stops a planning run; every plan it writes verifies.  Run by
tests/planner.sh.

Usage: property.py PLAN GEN_CASE WORKDIR RUNS [VERIFIER]

A generated master directory (2 regions of 2 sites of 3 hosts, 3 files,
a growing one among them) is planned RUNS times with --method lp, the
clock a round further each time.  Before each run, at random:
  - each host reports: what its plan would have brought it (a random part
    of it), failures of its plan's ops (every error class, components
    from the route or made up) or of ops it never held; or its state goes
    missing, is put back as an older one, or is replaced by junk;
  - components (the generator among them) are marked failed in the
    ledger, as a run or forgive leaves them.
Each run must exit 0 (never a signal: GLPK must not end it), and its set
must pass sluice-plan verify; where VERIFIER is given, each set (its
kept states, manifests and plans) is also checked by it, in batches.
Prints one summary line; exits 1 on any violation.
"""
import os
import random
import shutil
import subprocess
import sys

import yaml

PLAN, GEN, WORK, RUNS = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
VERIFIER = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] else ""
CLASSES = ["connect", "auth", "hostkey", "timeout", "io", "checksum",
           "missing", "deadline"]
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
rng = random.Random(int(os.environ.get("PROPERTY_SEED", "1")))
bad = []
d = os.path.join(WORK, "m")
shutil.rmtree(d, ignore_errors=True)
subprocess.run([GEN, d, "--regions", "2", "--sites", "2", "--hosts", "3",
                "--files", "3", "--size", str(16 * 4194304), "--growing",
                "1", "--partial", "0.3", "--round", "10", "--seed",
                str(rng.randrange(1 << 30))], check=True)
topo = yaml.load(open(d + "/topology.yaml"), Loader=LOADER)
fileset = yaml.load(open(d + "/fileset.yaml"), Loader=LOADER)["files"]
hosts = [h["name"] for s in topo["sites"] for h in s["hosts"]]
site_of = {h["name"]: s["name"] for s in topo["sites"] for h in s["hosts"]}
components = (["host:" + h for h in hosts] +
              ["site:" + s["name"] for s in topo["sites"]] +
              ["link:" + (l.get("name") or "%s--%s" % tuple(l["between"]))
               for l in topo.get("links") or []])
generators = {f["generator"] for f in fileset}


def stamp(i, extra=0):
    t = i * 10 + extra
    return "2026-11-25T%02d:%02d:%02dZ" % (8 + t // 3600, t // 60 % 60,
                                          t % 60)


def load(path):
    try:
        with open(path) as f:
            return yaml.load(f, Loader=LOADER)
    except (OSError, yaml.YAMLError):
        return None


def write(path, doc):
    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    with open(path, "w") as f:
        yaml.dump(doc, f, Dumper=DUMPER)


def report(i, h, old):
    """Host h's new state after its plan, or a fault in its place."""
    path = "%s/states/%s.yaml" % (d, h)
    roll = rng.random()
    if roll < 0.05:
        if os.path.lexists(path):
            os.unlink(path)
        return
    if roll < 0.10 and old.get(h) is not None:
        write(path, old[h])
        return
    if roll < 0.13:
        if os.path.lexists(path):
            os.unlink(path)
        with open(path, "w") as f:
            f.write(rng.choice(["host: %s\nfiles: [" % h, "junk\n",
                                "host: %s\nepoch: -1\n" % h]))
        return
    st = load(path) if not os.path.isdir(path) else None
    if not isinstance(st, dict) or st.get("host") != h:
        st = {"host": h, "epoch": 0, "time": stamp(0), "files": [],
              "failures": []}
    plan = load("%s/plans/%s.yaml" % (d, h)) or {}
    held = {(f["name"], f["version"]): f["length"]
            for f in st.get("files") or []}
    fails = []
    for o in plan.get("ops") or []:
        key = (o["file"], o["version"])
        have = held.get(key, 0)
        if have >= o["offset"] and rng.random() < 0.7:
            # A random part of the op landed.
            nb = o["length"] // o["block_size"]
            got = rng.randint(0, nb) * o["block_size"]
            held[key] = max(have, min(o["offset"] + got,
                                      o["offset"] + o["length"]))
        if rng.random() < 0.25:
            route = [c for c in components
                     if c == "host:" + o["source"]["host"] or
                     c.startswith("site:") or c.startswith("link:")]
            fails.append({"op": o["id"], "source": o["source"]["host"],
                          "components": rng.sample(route, rng.randint(
                              1, min(3, len(route)))),
                          "error": rng.choice(CLASSES),
                          "detail": "block %d" % rng.randint(0, 15)})
    if rng.random() < 0.05:
        fails.append({"op": "%d/%s/%d" % (rng.randint(1, 99), h,
                                           rng.randint(1, 9)),
                      "source": rng.choice(hosts),
                      "components": rng.sample(components, 2),
                      "error": rng.choice(CLASSES)})
    st["files"] = [{"name": n, "version": v, "length": l}
                   for (n, v), l in held.items()]
    st["epoch"] = plan.get("epoch", st.get("epoch", 0))
    st["time"] = stamp(i, rng.randint(1, 9))
    st["failures"] = fails
    old[h] = load(path) if os.path.isfile(path) else None
    write(path, st)


def fail_components(i):
    path = os.path.realpath(d + "/ledger.yaml")
    led = load(path)
    if not isinstance(led, dict):
        return
    names = rng.sample(components, rng.randint(1, 3))
    if rng.random() < 0.5:
        names.append("host:" + rng.choice(sorted(generators)))
    led["components"] = [c for c in led.get("components") or []
                         if c["name"] not in names]
    for n in names:
        led["components"].append({"name": n, "count": 3, "failed":
                                  led.get("epoch", 1), "since": stamp(i),
                                  "retry": led.get("epoch", 1) +
                                  rng.randint(1, 20),
                                  "reason": "property test"})
    write(path, led)


def keep(i):
    """The set as verify-plans reads a master directory."""
    out = os.path.join(WORK, "sets", "%05d" % i)
    os.makedirs(out)
    cur = os.path.realpath(d + "/current")
    for n in ("topology.yaml", "fileset.yaml"):
        shutil.copy(os.path.join(d, n), out)
    for n in ("states", "manifests", "plans"):
        src = os.path.join(cur, n)
        shutil.copytree(src if os.path.isdir(src) else os.path.join(d, n),
                        os.path.join(out, n))
    return out


def check_batch(dirs):
    if not VERIFIER or not dirs:
        return
    r = subprocess.run([VERIFIER, "-q"] + dirs, capture_output=True,
                       text=True)
    if r.returncode != 0:
        bad.append("verify-plans: " + (r.stdout + r.stderr)[:2000])
    for x in dirs:
        shutil.rmtree(x)


old = {}
batch = []
lp_fallbacks = 0
for i in range(1, RUNS + 1):
    if i > 1:
        for h in hosts:
            if rng.random() < 0.8:
                report(i, h, old)
        if rng.random() < 0.2:
            fail_components(i)
    r = subprocess.run([PLAN, "run", "-d", d, "--method", "lp", "--now",
                        stamp(i)], capture_output=True, text=True)
    if r.returncode != 0:
        bad.append("run %d: exit %d: %s" % (i, r.returncode,
                                           r.stderr[-1500:]))
        break
    lp_fallbacks += "greedy used" in r.stderr
    v = subprocess.run([PLAN, "verify", "-d", d], capture_output=True,
                       text=True)
    if v.returncode != 0:
        bad.append("run %d: sluice-plan verify: %s" % (i, (v.stdout +
                                                          v.stderr)[:1500]))
        break
    if VERIFIER:
        batch.append(keep(i))
        if len(batch) == 100:
            check_batch(batch)
            batch = []
    if bad:
        break
check_batch(batch)
print("property: %d runs with random failures, states and failed components"
      ", %d fell back to greedy, %s" % (i, lp_fallbacks,
                                       "every plan verified" if not bad
                                       else "VIOLATED"))
for b in bad:
    print("property: FAIL: " + b)
sys.exit(1 if bad else 0)
