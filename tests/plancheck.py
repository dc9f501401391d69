#!/usr/bin/env python3
"""plancheck.py: a property test of the agent's plan check, run by
tests/agent.sh.

Usage: plancheck.py AGENT CONFIG MANIFEST WORKDIR [N [PORT]]

Makes N plans (200 by default) from MANIFEST's file by random mutations of
a valid one: ranges that are not whole blocks, overlap, leave gaps or run
past the file; block sizes that differ; rates outside [1 B/s, 1 TB/s] or
too slow for the plan's life; lives that are negative or over a week.
Each goes to `sluice-agent run`, whose source is PORT on loopback (1, a
closed port, by default; agent.sh gives its sshd, whose host key
CONFIG's known_hosts lacks), so that a plan the check accepts fails at
once to connect (exit 75: an unknown host key is never tried again) and
one it refuses exits 65 before any byte moves.  The property: the agent refuses
exactly the plans this file's own statement of the rules calls invalid.
Prints the first disagreements; exits 1 when there is any.
"""
import datetime
import random
import subprocess
import sys

import yaml

AGENT, CONFIG, MANIFEST, WORK = sys.argv[1:5]
N = int(sys.argv[5]) if len(sys.argv) > 5 else 200
PORT = int(sys.argv[6]) if len(sys.argv) > 6 else 1
HOST = yaml.safe_load(open(CONFIG))["host"]
m = yaml.safe_load(open(MANIFEST))
BS, SIZE, BLOCKS = int(m["block_size"]), int(m["length"]), m["blocks"]
rnd = random.Random(2026)


def valid(plan):
    """The rules, as sluice-agent(1) states them."""
    life = plan["_life"]
    if life <= 0 or life > 7 * 86400:
        return False
    ops = plan["ops"]
    for o in ops:
        off, ln, bs = o["offset"], o["length"], o["block_size"]
        if ln <= 0 or off + ln > SIZE or bs == 0:
            return False
        if off % bs != 0 or (ln % bs != 0 and off + ln != SIZE):
            return False
        if len(o["blocks"]) != -(-ln // bs):
            return False
        if not 1 <= o["rate"] <= 1e12 or ln / o["rate"] > life + 1:
            return False
    ops = sorted(ops, key=lambda o: o["offset"])
    for a, b in zip(ops, ops[1:]):
        if a["block_size"] != b["block_size"]:
            return False
        if a["offset"] + a["length"] != b["offset"]:
            return False
    return True


def make(i):
    """A valid plan of 1-4 ops tiling [start, end), then mutated."""
    nb = len(BLOCKS)
    start = rnd.randrange(0, nb)
    cuts = sorted(rnd.sample(range(start + 1, nb + 1),
                             min(rnd.randint(1, 4), nb - start)))
    ops, at = [], start
    for c in cuts:
        ops.append({"offset": at * BS, "length": min(c * BS, SIZE) - at * BS,
                    "block_size": BS, "rate": 200000000,
                    "blocks": BLOCKS[at:c]})
        at = c
    life = 60
    kind = rnd.randrange(9)
    o = rnd.choice(ops)
    if kind == 1:
        o["offset"] += rnd.choice([1, 4096, BS // 2])
    elif kind == 2:
        o["length"] += rnd.choice([-1, 1, BS // 2, BS])
    elif kind == 3 and len(ops) > 1:
        ops.remove(ops[rnd.randrange(len(ops) - 1)])  # a gap
    elif kind == 4:
        o["rate"] = rnd.choice([0.5, 1e-6, 2e12, 1e300, 1000])
    elif kind == 5:
        life = rnd.choice([-5, 0, 8 * 86400])
    elif kind == 6:
        o["blocks"] = o["blocks"][:-1] or BLOCKS[:2]
    elif kind == 7 and len(ops) > 1:
        o["block_size"] = BS * 2
    elif kind == 8:
        o["offset"] = SIZE + BS * rnd.randint(0, 4)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    plan = {"host": HOST, "epoch": 1, "issued": now.strftime(fmt),
            "expires": (now + datetime.timedelta(seconds=life)).strftime(fmt),
            "fileset": [{"name": m["file"], "version": int(m["version"]),
                         "size": SIZE}], "ops": [], "_life": life}
    for k, x in enumerate(ops):
        plan["ops"].append({
            "id": "1/%s/%d" % (HOST, k + 1), "file": m["file"],
            "version": int(m["version"]), "offset": x["offset"],
            "length": x["length"], "block_size": x["block_size"],
            "source": {"host": "nobody", "address": "127.0.0.1", "port": PORT,
                       "root": "/nonexistent"},
            "rate": x["rate"], "resources": ["host:%s:in" % HOST],
            "blocks": x["blocks"]})
    return plan


bad, refused, accepted = [], 0, 0
for i in range(N):
    plan = make(i)
    want = valid(plan)
    life = plan.pop("_life")
    path = "%s/prop-%d.plan" % (WORK, i)
    with open(path, "w") as f:
        yaml.safe_dump(plan, f, sort_keys=False)
    r = subprocess.run([AGENT, "run", "-c", CONFIG, path],
                       capture_output=True, text=True, timeout=60)
    got = r.returncode != 65
    if r.returncode == 65:
        refused += 1
    else:
        accepted += 1
    if got != want:
        plan["_life"] = life
        bad.append("plan %d: agent %s (exit %d: %s), rules say %s" % (
            i, "accepted" if got else "refused", r.returncode,
            r.stderr.strip()[:200], "valid" if want else "invalid"))
print("plancheck: %d plans, %d refused, %d accepted, %d disagreements" % (
    N, refused, accepted, len(bad)), file=sys.stderr)
for b in bad[:5]:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
