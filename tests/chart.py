#!/usr/bin/env python3
"""chart.py: looks at a chart that sluice-plan simulate --svg or status
--svg drew, as its SVG and as a picture, run by tests/planner.sh and
tests/operator.sh.

Usage: chart.py SVG PNG [--name NAME]... [--min-points N] [--fine]
    [--series K]

PNG is SVG rendered (rsvg-convert).  Checks that the PNG is the size the
SVG says; that there are three panels (rects of class "panel", ids
bytes, hosts and busiest) stacked over one time axis; that the text
names every NAME (in the legend), marks a "bound", and labels a bytes
axis in GiB, MiB or KiB and the hosts and busiest axes in percent; that
each of the first K series (all by default) has a line in every panel,
its points inside that panel (the busiest resource on its own percent
axis, not on the bytes axis), and that pixels of its colour are there
in the picture, inside each panel's frame; that the first series' bytes
line has at least N points and, with --fine, no gap wider than a 50th
of the plot between its points.  Prints what is wrong; exits 1 if
anything is.
"""
import struct
import sys
import xml.etree.ElementTree as ET
import zlib

SVG_NS = "{http://www.w3.org/2000/svg}"


def read_png(path):
    """Width, height and rows of RGB(A) bytes of an 8-bit, non-interlaced PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, head = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = head
    if depth != 8 or colour not in (2, 6) or interlace != 0:
        raise ValueError("PNG of depth %d colour type %d interlace %d" %
                         (depth, colour, interlace))
    bpp = 4 if colour == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        rows.append(line)
        prev = line
    return width, height, bpp, rows


def colour_of(text):
    text = text.lstrip("#")
    if len(text) == 3:
        text = "".join(ch * 2 for ch in text)
    return tuple(int(text[i:i + 2], 16) for i in (0, 2, 4))


def points_of(line):
    return [tuple(float(v) for v in p.split(","))
            for p in line.get("points").split()]


def main():
    args = sys.argv[1:]
    svg_path, png_path = args[0], args[1]
    names, min_points, fine, nseries = [], 0, False, None
    i = 2
    while i < len(args):
        if args[i] == "--name":
            names.append(args[i + 1])
            i += 2
        elif args[i] == "--min-points":
            min_points = int(args[i + 1])
            i += 2
        elif args[i] == "--series":
            nseries = int(args[i + 1])
            i += 2
        elif args[i] == "--fine":
            fine = True
            i += 1
        else:
            raise SystemExit("chart.py: unknown argument " + args[i])
    wrong = []
    root = ET.parse(svg_path).getroot()
    width, height = float(root.get("width")), float(root.get("height"))
    pw, ph, bpp, rows = read_png(png_path)
    if (pw, ph) != (round(width), round(height)) or pw < 800 or ph < 500:
        wrong.append("PNG is %dx%d, the SVG %gx%g" % (pw, ph, width, height))

    panels = {}
    for e in root.iter(SVG_NS + "rect"):
        if e.get("class") == "panel":
            panels[e.get("id")] = tuple(float(e.get(k)) for k in
                                        ("x", "y", "width", "height"))
    if sorted(panels) != ["busiest", "bytes", "hosts"]:
        wrong.append("panels: %s" % sorted(panels))
        print("\n".join(wrong))
        return 1
    xs = {p[0] for p in panels.values()} | {p[2] for p in panels.values()}
    if len(xs) != 2:
        wrong.append("the panels do not share the time axis: %s" % panels)

    text = [("".join(e.itertext())) for e in root.iter(SVG_NS + "text")]
    for name in names:
        if not any(t.startswith(name + ":") for t in text):
            wrong.append("no legend names %s" % name)
    if not any(t.startswith("bound") for t in text):
        wrong.append("no bound marked")
    if not any(t.endswith("(GiB)") or t.endswith("(MiB)") or
               t.endswith("(KiB)") for t in text):
        wrong.append("no bytes axis in GiB, MiB or KiB")
    if sum(t.endswith("(%)") for t in text) != 2:
        wrong.append("not two percent axes: %s" % [t for t in text if "%" in t])
    if not any("seconds" in t for t in text):
        wrong.append("no time axis in seconds")

    # Each series' lines, by the panel their points are in.
    lines = {}
    for e in root.iter(SVG_NS + "polyline"):
        cls = e.get("class") or ""
        if not cls.startswith("series-"):
            continue
        k = int(cls[len("series-"):])
        pts = points_of(e)
        inside = [pid for pid, (x, y, w, h) in panels.items()
                  if pts and all(y - 4 <= py <= y + h + 4 for _, py in pts)]
        if len(inside) != 1:
            wrong.append("series %d has a line outside any one panel: %s" %
                         (k, pts[:4]))
            continue
        lines.setdefault(k, {})[inside[0]] = (e.get("stroke"), pts)
    series = sorted(lines) if nseries is None else list(range(nseries))
    if not series or (names and len(series) < len(names)):
        wrong.append("series: %s" % sorted(lines))

    for k in series:
        for pid in ("bytes", "hosts", "busiest"):
            if pid not in lines.get(k, {}):
                wrong.append("series %d: no line in the %s panel" % (k, pid))
                continue
            stroke, pts = lines[k][pid]
            want = colour_of(stroke)
            x, y, w, h = (int(v) for v in panels[pid])
            seen = 0
            for py in range(max(y - 3, 0), min(y + h + 4, ph)):
                row = rows[py]
                for px in range(x, min(x + w + 1, pw)):
                    o = px * bpp
                    if sum(abs(row[o + j] - want[j]) for j in range(3)) <= 40:
                        seen += 1
            if seen < 20:
                wrong.append("series %d: %d pixels of %s in the %s panel" %
                             (k, seen, stroke, pid))
    if 0 in lines and "bytes" in lines[0]:
        pts = lines[0]["bytes"][1]
        if len(pts) < min_points:
            wrong.append("the bytes line has %d points, not %d" %
                         (len(pts), min_points))
        gap = max((b[0] - a[0] for a, b in zip(pts, pts[1:])), default=0)
        if fine and gap > panels["bytes"][2] / 50:
            wrong.append("the bytes line has a gap of %.1f px" % gap)
    if wrong:
        print("\n".join(wrong))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
