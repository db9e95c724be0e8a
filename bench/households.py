#!/usr/bin/env python3
"""Imports N generated households into a running demo county through
POST /api/v1/households/import (as the admin), in batches, and prints rows/s beside an anchor
(GET /healthz p50 in the same run), then the p50/p95 of a grid's list and of a township's
first page. Usage: bench/households.py BASE [N] [BATCH]"""
import http.cookiejar, json, statistics, sys, time, urllib.parse, urllib.request

base = sys.argv[1].rstrip("/")
n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 5000

jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

def req(path, data=None, token=None, ctype="application/json"):
    r = urllib.request.Request(base + path, data=data, method="POST" if data is not None else "GET")
    r.add_header("Origin", base)
    if data is not None:
        r.add_header("content-type", ctype)
    with opener.open(r, timeout=600) as resp:
        return json.loads(resp.read() or b"null")

def ms(f, k=21):
    xs = []
    for _ in range(k):
        s = time.perf_counter(); f(); xs.append((time.perf_counter() - s) * 1000)
    xs.sort()
    return statistics.median(xs), xs[int(len(xs) * 0.95) - 1]

form = urllib.parse.urlencode({"login": "admin", "password": "bihuan2026", "next": "/"}).encode()
with opener.open(urllib.request.Request(base + "/login", data=form, headers={"Origin": base})) as r:
    r.read()
if not any(c.name for c in jar):
    raise SystemExit("login failed: no session cookie")
token = None
units = req("/api/v1/units", token=token)["items"]
grids = [u for u in units if u["kind"] == "grid"]
towns = [u for u in units if u["kind"] == "township"]
anchor = ms(lambda: urllib.request.urlopen(base + "/healthz").read())
done, bad, started = 0, 0, time.perf_counter()
for start in range(0, n, batch):
    rows = ["网格,住址,户主,电话,人口,标签"]
    for i in range(start, min(n, start + batch)):
        g = grids[i % len(grids)]
        tags = "独居老人" if i % 9 == 0 else ("低保户、退役军人" if i % 13 == 0 else "")
        rows.append(f"{g['id']},{g['name']}{i // len(grids)}号,户主{i},139{i:08d},{1 + i % 6},{tags}")
    r = req("/api/v1/households/import", "\n".join(rows).encode(), token, "text/csv")
    done += r["imported"]; bad += len(r["bad_rows"])
secs = time.perf_counter() - started
print(f"anchor /healthz p50 {anchor[0]:.2f} ms p95 {anchor[1]:.2f} ms")
print(f"imported {done} households ({bad} bad rows) in {secs:.1f} s: {done / secs:.0f} rows/s")
g = grids[0]["id"]; t = towns[0]["id"]
p = ms(lambda: req(f"/api/v1/households?grid={g}&limit=100", token=token))
print(f"grid list (100 of ~{n // len(grids)}): p50 {p[0]:.1f} ms p95 {p[1]:.1f} ms")
p = ms(lambda: req(f"/api/v1/households?township={t}&limit=100", token=token))
print(f"township first page (100): p50 {p[0]:.1f} ms p95 {p[1]:.1f} ms")
p = ms(lambda: req(f"/api/v1/households?tag=%E7%8B%AC%E5%B1%85%E8%80%81%E4%BA%BA&limit=100", token=token))
print(f"tag 独居老人 page (100): p50 {p[0]:.1f} ms p95 {p[1]:.1f} ms")
