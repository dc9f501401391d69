#!/usr/bin/env python3
"""linkrate: sample interfaces' transmitted bytes in other network namespaces,
and report each one's peak rate over sliding windows.

usage: linkrate.py sample OUT LABEL=PID:IFACE ...   (until SIGTERM)
       linkrate.py peaks OUT CAPACITY WINDOW ...      (CAPACITY in bytes/s)

`sample` reads /proc/PID/net/dev, which shows the counters of the network
namespace PID lives in, so one process in the root namespace samples every
namespace without starting a process per sample: each reading is stamped
with the monotonic clock taken around that one read, every 20 ms.
`peaks` prints, per label and window, the most bytes any window of that
length carried, divided by the window and CAPACITY; then "worst W R".
"""
import signal
import sys
import time


def read_tx(pid, iface):
    with open(f"/proc/{pid}/net/dev") as f:
        for line in f:
            name, sep, rest = line.partition(":")
            if sep and name.strip() == iface:
                return int(rest.split()[8])
    raise KeyError(iface)


def sample(out, specs):
    links = []
    for spec in specs:
        label, _, where = spec.partition("=")
        pid, _, iface = where.partition(":")
        links.append((label, pid, iface))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    with open(out, "w") as f:
        while not stop:
            for label, pid, iface in links:
                t0 = time.monotonic()
                try:
                    tx = read_tx(pid, iface)
                except (OSError, KeyError, ValueError):
                    continue
                t1 = time.monotonic()
                f.write(f"{(t0 + t1) / 2:.6f} {label} {tx}\n")
            f.flush()
            time.sleep(0.02)


def peaks(out, capacity, windows):
    series = {}
    with open(out) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 3:
                continue
            series.setdefault(parts[1], []).append((float(parts[0]), int(parts[2])))
    worst = {w: 0.0 for w in windows}
    for label in sorted(series):
        pts = series[label]
        row = []
        for w in windows:
            best, j = 0.0, 0
            for i in range(len(pts)):
                j = max(j, i + 1)
                while j < len(pts) and pts[j][0] - pts[i][0] < w:
                    j += 1
                if j == len(pts):
                    break
                dt = pts[j][0] - pts[i][0]
                best = max(best, (pts[j][1] - pts[i][1]) / dt)
            ratio = best / capacity
            worst[w] = max(worst[w], ratio)
            row.append(f"{ratio:.4f}@{w:g}s")
        print(label, " ".join(row))
    for w in windows:
        print(f"worst {w:g} {worst[w]:.4f}")


def main(argv):
    if len(argv) >= 3 and argv[0] == "sample":
        sample(argv[1], argv[2:])
    elif len(argv) >= 4 and argv[0] == "peaks":
        peaks(argv[1], float(argv[2]), [float(w) for w in argv[3:]])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
