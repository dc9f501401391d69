#!/usr/bin/env python3
"""blame.py: earned blame, run by tests/planner.sh.

Usage: blame.py PLAN WORKDIR CASE

Case "peer": site s1 holds a (the generator) and m, both with the whole
file; m is unreachable.  Site s2 has b, c and d.  Every op from m fails to
connect and the report names m, both sites and the link between, as an
agent that cannot tell them apart does; every other op completes.  Within
six runs m must be failed, s1, s2 and the link never, and while m is
failed every host of s2 must hold the file or have ops from elsewhere.

Case "bogus": c reports a checksum failure of an op its plan never held,
naming the generator, its site and made-up components.  Nothing may be
stored or failed, and the next run still plans ops.  Then d reports a
detail with C0 and C1 controls: refused, and the message escapes them.

Case "forgive": m fails as in "peer"; forgive clears it by name (an
unknown name is refused); m fails again, then its topology entry changes
and the next run tries it at once.

Case "stall": the generator a is the only holder and fails as m does
in "peer".  Once it is failed, run says on standard error, once, that
no usable host holds more of the file, naming a and when it is tried
again; status and check say it too.  Without a link between the sites,
check names the missing route.

Prints one line per finding; exits 1 when one does not hold.
"""
import os
import subprocess
import sys

import yaml

PLAN, WORK, CASE = sys.argv[1], sys.argv[2], sys.argv[3]
SIZE = 64 * 4194304
HOSTS = {"s1": ["a", "m"], "s2": ["b", "c", "d"]}
# The host every op from fails to connect.
BAD = "a" if CASE == "stall" else "m"
bad = []


def stamp(i):
    return "2026-11-25T08:%02d:00Z" % (1 + i)


def write_master(d):
    os.makedirs(d + "/states")
    sites = []
    for s, hs in HOSTS.items():
        sites.append({"name": s, "hosts": [
            {"name": h, "address": "127.0.0.1", "port": 22,
             "root": "/srv/" + h,
             "nic": "10Mbit" if h == "a" else "1000Mbit"} for h in hs]})
    topo = {"round": "60s", "block_size": 4194304, "failure_threshold": 3,
            "sites": sites,
            "links": [{"name": "s1--s2", "between": ["s1", "s2"],
                       "capacity": "1000Mbit"}]}
    with open(d + "/topology.yaml", "w") as f:
        yaml.safe_dump(topo, f)
    with open(d + "/fileset.yaml", "w") as f:
        yaml.safe_dump({"files": [{"name": "f.bin", "version": 1,
                                   "generator": "a", "targets": "all",
                                   "size": SIZE}]}, f)
    os.makedirs(d + "/manifests")
    with open(d + "/manifests/f.bin@1.yaml", "w") as f:
        yaml.safe_dump({"file": "f.bin", "version": 1,
                        "block_size": 4194304, "length": SIZE,
                        "final": True, "blocks": ["%064x" % (i + 1)
                                                  for i in range(64)]}, f)
    for s, hs in HOSTS.items():
        for h in hs:
            write_state(d, h, 0, stamp(0), SIZE if h == "a" or
                        (h == "m" and CASE != "stall") else 0, [])


def write_state(d, h, epoch, when, length, failures):
    st = {"host": h, "epoch": epoch, "time": when,
          "files": [{"name": "f.bin", "version": 1, "length": length}],
          "failures": failures}
    with open("%s/states/%s.yaml" % (d, h), "w") as f:
        yaml.safe_dump(st, f)


def run(d, i):
    r = subprocess.run([PLAN, "run", "-d", d, "--now", stamp(i)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        bad.append("run %d: exit %d: %s" % (i, r.returncode, r.stderr))
    return r.stderr


def plan_of(d, h):
    with open("%s/plans/%s.yaml" % (d, h)) as f:
        return yaml.safe_load(f)


def state_length(d, h):
    with open("%s/states/%s.yaml" % (d, h)) as f:
        return yaml.safe_load(f)["files"][0]["length"]


def failed(d):
    with open(d + "/ledger.yaml") as f:
        led = yaml.safe_load(f) or {}
    return {c["name"] for c in led.get("components", []) or []
            if c.get("failed")}, led


def follow(d, i):
    """Every host carries out its plan: ops from m fail to connect, an op
    lands when its source holds the range by the end of the round (relays
    included), and any other op runs out of time."""
    plans = {h: plan_of(d, h) for hs in HOSTS.values() for h in hs}
    old = {h: state_length(d, h) for h in plans}
    new = dict(old)
    landed = set()
    moved = True
    while moved:
        moved = False
        for h, p in plans.items():
            for o in sorted(p.get("ops") or [], key=lambda o: o["offset"]):
                src, end = o["source"]["host"], o["offset"] + o["length"]
                if (o["id"] not in landed and src != BAD and
                        o["offset"] <= new[h] and new[src] >= end):
                    landed.add(o["id"])
                    new[h] = max(new[h], end)
                    moved = True
    used_m = 0
    for h, p in plans.items():
        fails = []
        for o in p.get("ops") or []:
            if o["source"]["host"] == BAD:
                used_m += 1
                fails.append({"op": o["id"], "source": BAD,
                              "components": ["host:" + BAD, "site:s1",
                                             "link:s1--s2", "site:s2"],
                              "error": "connect",
                              "detail": "connection refused"})
            elif o["id"] not in landed:
                fails.append({"op": o["id"], "source": o["source"]["host"],
                              "components": [], "error": "deadline",
                              "detail": "plan expired"})
        if os.environ.get("BLAME_DEBUG"):
            print(i, h, old[h] // 4194304, new[h] // 4194304,
                  [(o["source"]["host"], o["offset"] // 4194304,
                    o["length"] // 4194304) for o in p.get("ops") or []])
        write_state(d, h, p["epoch"], stamp(i)[:-3] + "30Z", new[h], fails)
    return used_m


d = WORK + "/" + CASE
write_master(d)
if CASE == "peer":
    # However many hosts m's ops went to (one witness or several), m
    # must come to be failed within six runs, and while it is, every
    # host of s2 is whole or served from elsewhere.
    used, ever, served, wrong = 0, False, None, set()
    for i in range(1, 8):
        run(d, i)
        names, led = failed(d)
        wrong |= names & {"site:s1", "site:s2", "link:s1--s2"}
        if "host:m" in names and served is None:
            ever = True
            served = [h for h in HOSTS["s2"] if state_length(d, h) == SIZE
                      or (plan_of(d, h).get("ops") and all(
                          o["source"]["host"] != "m"
                          for o in plan_of(d, h)["ops"]))]
        if i < 7:
            used += follow(d, i)
    print("blame: ops sent to m: %d; failed at some run: %s; also failed: "
          "%s" % (used, ever, sorted(wrong)))
    if used < 2:
        bad.append("the planner never sent hosts to m (%d ops)" % used)
    if not ever:
        bad.append("host:m not failed")
    for c in sorted(wrong):
        bad.append("%s failed for m's fault" % c)
    print("blame: s2 hosts whole or served without m: %d of 3" %
          len(served or []))
    if served is not None and len(served) != 3:
        bad.append("s2 served %d of 3" % len(served))
elif CASE == "forgive":
    i = 0

    def fail_m():
        global i
        for _ in range(6):
            i += 1
            run(d, i)
            follow(d, i)
            if "host:m" in failed(d)[0]:
                return True
        return False

    if not fail_m():
        bad.append("host:m never failed")
    r = subprocess.run([PLAN, "forgive", "-d", d, "host:zzz"],
                       capture_output=True, text=True)
    if r.returncode != 65 or "host:zzz: neither failed nor counted" \
            not in r.stderr:
        bad.append("forgive of an unknown name: %d %r" % (r.returncode,
                                                         r.stderr))
    r = subprocess.run([PLAN, "forgive", "-v", "-d", d, "host:m"],
                       capture_output=True, text=True)
    if r.returncode != 0 or "host:m forgiven" not in r.stdout:
        bad.append("forgive: %d %r %r" % (r.returncode, r.stdout,
                                          r.stderr))
    if "host:m" in failed(d)[0]:
        bad.append("host:m still failed after forgive")
    st = subprocess.run([PLAN, "status", "-d", d], capture_output=True,
                        text=True).stdout
    if "host:m forgiven by the operator" not in st:
        bad.append("status does not show the forgiving: %r" % st)
    # Failed again, then its topology entry changes: tried at once.
    if not fail_m():
        bad.append("host:m did not fail again")
    with open(d + "/topology.yaml") as f:
        topo = f.read()
    with open(d + "/topology.yaml", "w") as f:
        f.write(topo.replace("/srv/m", "/srv/m-fixed"))
    i += 1
    run(d, i)
    names, led = failed(d)
    print("blame: after the topology change, failed: %s" % sorted(names))
    if "host:m" in names:
        bad.append("host:m still failed after its entry changed")
    if "host:m changed in the topology: tried again" not in \
            "\n".join(led.get("changes") or []):
        bad.append("the change is not noted: %r" % led.get("changes"))
elif CASE == "stall":
    said = []
    for i in range(1, 8):
        err = run(d, i)
        said += [ln for ln in err.splitlines() if "stalled: f.bin@1" in ln]
        if "host:a" in failed(d)[0]:
            break
        follow(d, i)
    err = run(d, i + 1)
    said += [ln for ln in err.splitlines() if "stalled: f.bin@1" in ln]
    print("blame: stalled, as run said it: %r" % said)
    want = ("f.bin@1: 4 hosts cannot get it (m, b, c and 1 more): no usable "
            "host holds more of it; held by a (failed; tried again by the "
            "run of epoch")
    if "host:a" not in failed(d)[0]:
        bad.append("host:a never failed")
    elif len(said) != 1 or want not in said[0]:
        bad.append("run did not say the stall once: %r" % said)
    st = subprocess.run([PLAN, "status", "-d", d], capture_output=True,
                        text=True).stdout
    if "stalled:\n  " + want not in st:
        bad.append("status does not show the stall: %r" % st)
    r = subprocess.run([PLAN, "check", "-d", d], capture_output=True,
                       text=True)
    if r.returncode != 0 or "warning: stalled: " + want not in r.stderr:
        bad.append("check does not show the stall: %d %r" % (r.returncode,
                                                             r.stderr))
    # No link between the sites: s2 cannot be reached at all.
    d2 = WORK + "/stall-nolink"
    write_master(d2)
    with open(d2 + "/topology.yaml") as f:
        topo = yaml.safe_load(f)
    del topo["links"]
    with open(d2 + "/topology.yaml", "w") as f:
        yaml.safe_dump(topo, f)
    r = subprocess.run([PLAN, "check", "-d", d2], capture_output=True,
                       text=True)
    want = ("stalled: f.bin@1: 3 hosts cannot get it (b, c, d): no link "
            "path joins site s2 to site s1")
    print("blame: without a link: %r" % [ln for ln in r.stderr.splitlines()
                                         if "stalled" in ln])
    if want not in r.stderr:
        bad.append("check does not name the missing route: %r" % r.stderr)
else:
    run(d, 1)
    write_state(d, "c", 1, stamp(1)[:-3] + "30Z", 0, [
        {"op": "x", "source": "a", "error": "checksum",
         "components": ["host:a", "site:s1"], "detail": "made up"},
        {"op": "y", "source": "zzz", "error": "connect",
         "components": ["host:zzz", "link:nonexistent"]}])
    err = run(d, 2)
    names, led = failed(d)
    stored = {c["name"] for c in led.get("components", []) or []}
    print("blame: stored after a bogus report: %s" % sorted(stored))
    if "failure of op x" not in err or "ignored" not in err:
        bad.append("bogus op not reported: %r" % err)
    if stored & {"host:a", "site:s1", "host:zzz", "link:nonexistent"}:
        bad.append("bogus evidence stored: %s" % sorted(stored))
    ops = sum(len(plan_of(d, h).get("ops") or [])
              for hs in HOSTS.values() for h in hs)
    if ops == 0:
        bad.append("no ops planned after a bogus report")
    # Words that would drive a terminal: the state is refused, and the
    # message says so without them.
    write_state(d, "d", 2, stamp(2)[:-3] + "30Z", 0, [
        {"op": "2/d/1", "source": "a", "error": "connect",
         "detail": "refused\u009b[2J\x1b]0;x\x07"}])
    r = subprocess.run([PLAN, "run", "-d", d, "--now", stamp(3)],
                       capture_output=True)
    raw = [c for c in r.stderr.decode("latin-1")
           if c != "\n" and (ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0)]
    if b"control character" not in r.stderr or raw:
        bad.append("control characters: %r" % r.stderr)
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
