#!/usr/bin/env python3
"""trust.py: nothing a host writes is signed, followed or able to stop the
fleet; run by tests/planner.sh.

Usage: trust.py PLAN AGENT WORKDIR CASE [VERIFIER]

Every case builds a signed master directory: sites s1 (g, the generator,
and b) and s2 (c and x), keys pinned for every host and a master key;
states and manifests are signed with ssh-keygen -Y sign, as a host's own
key would sign them.  Host x is the attacker: it holds its own key and
can write anything under states/ and manifests/ (and, since the test runs
as one user, anywhere in the master directory).

Cases:
  kept      x puts junk in states/b.yaml and its own plan at plans/b.yaml
            (epoch 999999, f.bin from x): the next set's plan for b is
            the planner's own, signed, from a source that holds the data.
  link      x makes states/x.yaml and plans/b.yaml symbolic links to the
            master key: no byte of the key reaches the set.
  glpk      the generator failed while b holds part of the file: run
            --method lp exits 0 and its plans verify.
  manifest  x replaces g's manifest with one of its own checksums, or puts
            back an older signed copy: the plans keep g's checksums and
            the file stays published.
  witness   b alone reports checksum failures of g, the only complete
            holder, three runs running: g is not failed (b is, as the
            suspect); a second witness then fails g.
  frozen    b's state becomes unsigned, a directory, a FIFO: b is planned
            again (from its last verified state) once its plan expires.
  replay    x puts back b's older signed state: b's progress does not
            roll back and its counted failures do not count again.
  names     a file name that passes the old check but cannot be stored:
            refused by check (with its position) and by publish.
  expires   the agent refuses a plan past its expires, and one whose
            epoch is past the rounds since 1970.

Prints one line per finding; exits 1 when one does not hold.
"""
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys

import yaml

PLAN, AGENT, WORK, CASE = sys.argv[1:5]
VERIFIER = sys.argv[5] if len(sys.argv) > 5 else ""
BS = 4194304
NBLOCKS = 16
SIZE = NBLOCKS * BS
SITES = {"s1": ["g", "b"], "s2": ["c", "x"]}
HOSTS = [h for hs in SITES.values() for h in hs]
bad = []


def sums(seed):
    return [hashlib.sha256(("%s-%d" % (seed, i)).encode()).hexdigest()
            for i in range(NBLOCKS)]


BLOCKS = sums("g")


def stamp(i):
    return "2026-11-25T08:%02d:00Z" % i


def sh(*args, check=True):
    r = subprocess.run(list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise SystemExit("%s: exit %d: %s" % (args[0], r.returncode,
                                               r.stderr))
    return r


def sign(d, rel, host):
    path = os.path.join(d, rel)
    if os.path.lexists(path + ".sig"):
        os.unlink(path + ".sig")
    sh("ssh-keygen", "-Y", "sign", "-n", "sluice", "-f",
       "%s/keys/%s" % (WORK, host), path)


def put(d, rel, doc, host=None):
    path = os.path.join(d, rel)
    if os.path.lexists(path):
        os.unlink(path)
    with open(path, "w") as f:
        yaml.safe_dump(doc, f)
    if host is not None:
        sign(d, rel, host)


def put_state(d, h, epoch, when, length, failures=None, signer=None):
    put(d, "states/%s.yaml" % h,
        {"host": h, "epoch": epoch, "time": when,
         "files": [{"name": "f.bin", "version": 1, "length": length}],
         "failures": failures or []}, signer or h)


def put_manifest(d, blocks, length, final=True, signer="g"):
    put(d, "manifests/f.bin@1.yaml",
        {"file": "f.bin", "version": 1, "block_size": BS,
         "length": length, "final": final,
         "blocks": blocks[:(length + BS - 1) // BS]}, signer)


def keys():
    k = WORK + "/keys"
    if os.path.isdir(k):
        return
    os.makedirs(k)
    for h in HOSTS:
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", h, "-f",
           "%s/%s" % (k, h))
    line = sh(PLAN, "keygen", "-k", k + "/master.key").stdout
    with open(k + "/master.pub", "w") as f:
        f.write(line)


def pub(h):
    with open("%s/keys/%s.pub" % (WORK, h)) as f:
        return " ".join(f.read().split()[:2])


def master(name, lengths=None):
    d = os.path.join(WORK, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d + "/states")
    os.makedirs(d + "/manifests")
    keys()
    sites = [{"name": s, "hosts": [
        {"name": h, "key": pub(h), "address": "127.0.0.1", "port": 22,
         "root": "/srv/" + h, "nic": "1000Mbit"} for h in hs]}
        for s, hs in SITES.items()]
    with open(d + "/topology.yaml", "w") as f:
        yaml.safe_dump({"round": "60s", "block_size": BS,
                        "failure_threshold": 3, "sites": sites,
                        "links": [{"name": "s1--s2",
                                   "between": ["s1", "s2"],
                                   "capacity": "1000Mbit"}]}, f)
    with open(d + "/fileset.yaml", "w") as f:
        yaml.safe_dump({"files": [{"name": "f.bin", "version": 1,
                                   "generator": "g", "targets": "all",
                                   "size": SIZE}]}, f)
    put_manifest(d, BLOCKS, SIZE)
    lengths = lengths or {"g": SIZE}
    for h in HOSTS:
        put_state(d, h, 0, stamp(0), lengths.get(h, 0))
    return d


def run(d, i, method="lp", expect=0):
    r = subprocess.run([PLAN, "run", "-d", d, "-k", WORK + "/keys/master.key",
                        "--now", stamp(i), "--method", method],
                       capture_output=True, text=True)
    if r.returncode != expect:
        bad.append("run at %s: exit %d: %s" % (stamp(i), r.returncode,
                                              r.stderr.strip()))
    return r.stderr


def plan_of(d, h):
    with open("%s/plans/%s.yaml" % (d, h)) as f:
        return yaml.safe_load(f)


def ledger(d):
    with open(d + "/ledger.yaml") as f:
        return yaml.safe_load(f) or {}


def component(d, name):
    for c in ledger(d).get("components") or []:
        if c["name"] == name:
            return c
    return {}


def verify(d, what):
    r = sh(PLAN, "verify", "-d", d, check=False)
    if r.returncode != 0:
        bad.append("%s: sluice-plan verify: %s" % (what, r.stdout +
                                                  r.stderr))
    if VERIFIER and os.access(VERIFIER, os.X_OK):
        # What the plans were made from, as the set kept it: states/ and
        # manifests/ may hold what a host wrote since.
        kept = WORK + "/verified"
        shutil.rmtree(kept, ignore_errors=True)
        os.makedirs(kept)
        cur = os.path.realpath(d + "/current")
        for n in ("topology.yaml", "fileset.yaml"):
            shutil.copy(os.path.join(d, n), kept)
        for n in ("states", "manifests", "plans"):
            src = os.path.join(cur, n)
            shutil.copytree(src if os.path.isdir(src) else
                            os.path.join(d, n), os.path.join(kept, n))
        r = sh(VERIFIER, "-q", kept, check=False)
        if r.returncode != 0:
            bad.append("%s: verify-plans: %s" % (what, r.stdout))


def master_signed(d, h, what):
    """The plan for h verifies as the master's (ssh-keygen, the oracle)."""
    allowed = WORK + "/allowed"
    with open(WORK + "/keys/master.pub") as f:
        line = " ".join(f.read().split()[:2])
    with open(allowed, "w") as f:
        f.write("master %s\n" % line)
    p = "%s/plans/%s.yaml" % (d, h)
    with open(p) as f:
        r = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", allowed,
                            "-I", "master", "-n", "sluice", "-s",
                            p + ".sig"], stdin=f, capture_output=True,
                           text=True)
    if r.returncode != 0:
        bad.append("%s: plans/%s.yaml is not signed by the master: %s" %
                   (what, h, r.stdout + r.stderr))


def check(cond, what):
    if not cond:
        bad.append(what)
    else:
        print("trust %s: %s" % (CASE, what))


def case_kept():
    d = master("kept")
    run(d, 1)
    # x: junk for b's state, its own plan for b in the plans link.
    with open(d + "/states/b.yaml", "w") as f:
        f.write("host: b\nthis is: [not a state\n")
    forged = {"host": "b", "epoch": 999999, "issued": stamp(1),
              "expires": "2026-11-25T09:00:00Z",
              "fileset": [{"name": "f.bin", "version": 1}],
              "ops": [{"id": "999999/b/1", "file": "f.bin", "version": 1,
                       "offset": 0, "length": SIZE, "block_size": BS,
                       "source": {"host": "x", "address": "127.0.0.1",
                                  "port": 22, "root": "/srv/x"},
                       "rate": 1000000,
                       "resources": ["host:x:out", "site:s2:up",
                                     "link:s1--s2:s2>s1", "site:s1:down",
                                     "host:b:in"],
                       "blocks": sums("x")}]}
    target = os.path.realpath(d + "/plans/b.yaml")
    os.unlink(target)
    with open(target, "w") as f:
        yaml.safe_dump(forged, f)
    # The same plan, brief, added to each part of the set's brief: the
    # run reads none of them, and so reads every plan and its signature.
    brief = dict(forged, ops=[{k: v for k, v in o.items() if k != "blocks"}
                              for o in forged["ops"]])
    setdir = os.path.dirname(os.path.dirname(target))
    parts = [fn for fn in os.listdir(setdir)
             if fn.startswith("brief-") and fn.endswith(".yaml")]
    check(len(parts) > 0, "the set has a brief")
    for fn in parts:
        with open(os.path.join(setdir, fn), "a") as f:
            f.write("---\n")
            yaml.safe_dump(brief, f)
    err = run(d, 2)
    p = plan_of(d, "b")
    text = open(d + "/plans/b.yaml").read()
    check(p["epoch"] == 2 and "999999" not in text and
          sums("x")[0] not in text,
          "the plan a host wrote is neither kept nor signed")
    check(all(o["source"]["host"] != "x" for o in p.get("ops") or []) and
          all(o["blocks"] == BLOCKS[o["offset"] // BS:
                                    (o["offset"] + o["length"]) // BS]
              for o in p.get("ops") or []),
          "b's new plan carries g's checksums only")
    check(re.search(r"/brief-[0-9]+\.yaml: .*not used", err) is not None,
          "the forged brief is named: %s" % err.strip()
          if err.strip() else "the forged brief is named")
    check(re.search(r"plans/b\.yaml: .*not used", err) is not None,
          "the unsigned plan is named: %s" % err.strip()
          if err.strip() else "the unsigned plan is named")
    master_signed(d, "b", "kept")
    verify(d, "kept")


def case_link():
    d = master("link")
    run(d, 1)
    key = WORK + "/keys/master.key"
    os.unlink(d + "/states/x.yaml")
    os.symlink(key, d + "/states/x.yaml")
    target = os.path.realpath(d + "/plans/b.yaml")
    os.unlink(target)
    os.symlink(key, target)
    err = run(d, 2)
    secret = open(key).read().splitlines()[1]
    leaked = []
    for root, _, files in os.walk(d + "/epochs/2"):
        for n in files:
            p = os.path.join(root, n)
            if os.path.islink(p):
                leaked.append(p + " (a link)")
            elif secret in open(p, errors="replace").read():
                leaked.append(p)
    check(not leaked, "no byte of the master key reaches the set%s" %
          (": " + " ".join(leaked) if leaked else ""))
    check("states/x.yaml: a symbolic link (not followed)" in err,
          "a state that is a link is not followed")
    check(plan_of(d, "b")["epoch"] == 2, "b is planned anew")
    os.unlink(d + "/states/x.yaml")
    verify(d, "link")


def case_glpk():
    for how in ("failed", "reported"):
        d = master("glpk-" + how, {"g": SIZE, "b": SIZE // 2})
        run(d, 1)
        if how == "failed":
            # The generator failed in the ledger (as forgive would read).
            path = os.path.realpath(d + "/ledger.yaml")
            led = yaml.safe_load(open(path))
            led["components"] = [{"name": "host:g", "count": 3, "failed": 1,
                                  "since": stamp(1), "retry": 30,
                                  "reason": "test"}]
            os.unlink(path)
            with open(path, "w") as f:
                yaml.safe_dump(led, f)
        else:
            # Three runs of b and c reporting g's blocks corrupt.
            for i in (2, 3, 4):
                for h in ("b", "c"):
                    ops = [o for o in plan_of(d, h).get("ops") or []
                           if o["source"]["host"] == "g"]
                    put_state(d, h, i - 1, stamp(i), SIZE // 2 if h == "b"
                              else 0, [{"op": o["id"], "source": "g",
                                        "components": ["host:g"],
                                        "error": "checksum",
                                        "detail": "block 0: sha256 "
                                        "mismatch"} for o in ops])
                run(d, i)
        for method in ("lp", "greedy"):
            run(d, 9, method)
            verify(d, "glpk %s %s" % (how, method))
        check(not bad, "generator %s, b partial: run --method lp exits 0 "
              "and its plans verify" % how)


def case_manifest():
    d = master("manifest", {"g": SIZE})
    run(d, 1)
    # x writes its own checksums as g's manifest (signed by x).
    put_manifest(d, sums("x"), SIZE, signer="x")
    err = run(d, 2)
    text = "".join(open("%s/plans/%s.yaml" % (d, h)).read()
                   for h in ("b", "c", "x"))
    check(sums("x")[0] not in text and BLOCKS[0] in text,
          "a manifest x wrote changes no checksum, and the file stays "
          "published")
    check("manifests/f.bin@1.yaml.sig" in err, "the forged manifest is "
          "named")
    verify(d, "manifest")
    # A growing file: g publishes 8 blocks, then 16; x puts the signed
    # 8-block manifest back.
    d = master("growing", {"g": SIZE // 2})
    put_manifest(d, BLOCKS, SIZE // 2, final=False)
    old = open(d + "/manifests/f.bin@1.yaml").read()
    oldsig = open(d + "/manifests/f.bin@1.yaml.sig").read()
    run(d, 1)
    put_manifest(d, BLOCKS, SIZE)
    put_state(d, "g", 0, stamp(2), SIZE)
    run(d, 2)
    for n, t in (("f.bin@1.yaml", old), ("f.bin@1.yaml.sig", oldsig)):
        os.unlink("%s/manifests/%s" % (d, n))
        with open("%s/manifests/%s" % (d, n), "w") as f:
            f.write(t)
    err = run(d, 3)
    ends = [o["offset"] + o["length"] for h in ("b", "c", "x")
            for o in plan_of(d, h).get("ops") or []]
    check(ends and max(ends) == SIZE and "does not continue" in err,
          "an older signed manifest put back does not shorten the file")
    # The independent verifier reads manifests/ as it is: g's own copy
    # back first (as g's next sync puts it).
    put_manifest(d, BLOCKS, SIZE)
    verify(d, "growing")


def case_witness():
    d = master("witness", {"g": SIZE})
    run(d, 1)

    def report(h, i, length):
        ops = [o for o in plan_of(d, h).get("ops") or []
               if o["source"]["host"] == "g"]
        put_state(d, h, plan_of(d, h)["epoch"], stamp(i), length,
                  [{"op": o["id"], "source": "g", "components": ["host:g"],
                    "error": "checksum", "detail": "block 0: sha256 "
                    "mismatch"} for o in ops])
        return len(ops)

    for i in (2, 3, 4, 5):
        if report("b", i, 0) == 0:
            bad.append("witness: b got no op from g at run %d" % (i - 1))
        run(d, i)
    g = component(d, "host:g")
    check(not g.get("failed") and g.get("hard", 0) >= 3,
          "one witness does not fail the only complete holder (g counted "
          "%s times)" % g.get("hard"))
    check(bool(component(d, "host:b").get("failed")),
          "the lone witness is the suspect and is failed as a source")
    srcs = {o["source"]["host"] for h in ("c", "x")
            for o in plan_of(d, h).get("ops") or []}
    check("g" in srcs or any(o["source"]["host"] == "g"
                             for o in plan_of(d, "b").get("ops") or []),
          "g still serves")
    # A second witness.
    for i in (6, 7):
        n = report("c", i, 0)
        if n == 0:
            n = report("x", i, 0)
        run(d, i)
    check(bool(component(d, "host:g").get("failed")),
          "a second witness fails g")
    verify(d, "witness")


def case_frozen():
    for how in ("unsigned", "directory", "fifo"):
        d = master("frozen-" + how)
        run(d, 1)
        p = d + "/states/b.yaml"
        os.unlink(p)
        if how == "unsigned":
            put_state(d, "b", 1, stamp(2), 0, signer="x")
        elif how == "directory":
            os.mkdir(p)
        else:
            os.mkfifo(p)
        err = run(d, 3)
        check(plan_of(d, "b")["epoch"] == 2 and
              "host b planned from its last verified state" in err,
              "a state that is %s: b is planned again once its plan "
              "expired" % ("a FIFO" if how == "fifo" else "a " + how
                           if how == "directory" else how))
        # The independent verifier reads states/ as it is: no FIFO.
        if how == "fifo":
            os.unlink(p)
        verify(d, "frozen " + how)


def case_replay():
    d = master("replay", {"g": SIZE})
    run(d, 1)
    ops = [o for o in plan_of(d, "b").get("ops") or []]
    fails = [{"op": o["id"], "source": o["source"]["host"],
              "components": ["host:" + o["source"]["host"]],
              "error": "timeout", "detail": "read: timeout"} for o in ops]
    put_state(d, "b", 1, stamp(2), 0, fails)
    run(d, 2)
    counted = component(d, "host:g").get("count", 0)
    saved = {n: open("%s/states/%s" % (d, n)).read()
             for n in ("b.yaml", "b.yaml.sig")}
    put_state(d, "b", 2, stamp(3), SIZE // 2)
    run(d, 3)
    for n, t in saved.items():
        os.unlink("%s/states/%s" % (d, n))
        with open("%s/states/%s" % (d, n), "w") as f:
            f.write(t)
    err = run(d, 5)
    offs = [o["offset"] for o in plan_of(d, "b").get("ops") or []]
    check(offs and min(offs) == SIZE // 2, "an old state put back does not "
          "roll b back (its ops start at %s)" % (min(offs) if offs else "-"))
    check(component(d, "host:g").get("count", 0) <= counted,
          "its failures do not count again")
    check("an old report put back" in err, "the old state is named")
    verify(d, "replay")


def case_names():
    d = master("names")
    for name, why in (("a" * 230 + ".bin", "longer than 200 characters"),
                      ("/".join(["d"] * 60) + "/f", "counted as three")):
        fs = {"files": [{"name": name, "version": 1, "generator": "g",
                         "targets": "all"}]}
        with open(d + "/fileset.yaml", "w") as f:
            yaml.safe_dump(fs, f)
        r = sh(PLAN, "check", "-d", d, check=False)
        check(r.returncode == 65 and re.search(
            r"fileset\.yaml:\d+:\d+: name: bad file name", r.stderr) and
              why in r.stderr, "check refuses a name it cannot store "
              "(%s...)" % name[:12])
        root = WORK + "/root-g"
        os.makedirs(root, exist_ok=True)
        conf = WORK + "/g.yaml"
        with open(conf, "w") as f:
            f.write("host: g\nroot: %s\nknown_hosts: %s\n" % (root, root))
        src = WORK + "/data.bin"
        with open(src, "wb") as f:
            f.write(b"x" * 4096)
        r = sh(AGENT, "publish", "-c", conf, src, name, "1", check=False)
        check(r.returncode == 65 and why in r.stderr,
              "publish refuses it too")


def case_expires():
    root = WORK + "/root-b"
    os.makedirs(root, exist_ok=True)
    conf = WORK + "/b.yaml"
    with open(conf, "w") as f:
        f.write("host: b\nroot: %s\nknown_hosts: %s\n" % (root, root))
    for name, epoch, issued, expires, why in (
            ("expired", 5, "2026-11-25T08:00:00Z", "2026-11-25T08:01:00Z",
             "expired at 2026-11-25T08:01:00Z"),
            ("epoch", 2 ** 62, "2099-11-25T08:00:00Z",
             "2099-11-25T08:01:00Z", "more than the rounds of 60s")):
        path = "%s/%s.plan" % (WORK, name)
        with open(path, "w") as f:
            yaml.safe_dump({"host": "b", "epoch": epoch, "issued": issued,
                            "expires": expires, "fileset": [], "ops": []}, f)
        r = sh(AGENT, "run", "-c", conf, path, check=False)
        check(r.returncode == 65 and why in r.stderr,
              "the agent refuses a plan: %s" % why)
    check(not os.path.exists(root + "/.sluice/epoch") or
          open(root + "/.sluice/epoch").read().strip() != str(2 ** 62),
          "a huge epoch is never recorded")


{"kept": case_kept, "link": case_link, "glpk": case_glpk,
 "manifest": case_manifest, "witness": case_witness, "frozen": case_frozen,
 "replay": case_replay, "names": case_names, "expires": case_expires}[CASE]()
for b in bad:
    print("trust %s: FAIL: %s" % (CASE, b))
sys.exit(1 if bad else 0)
