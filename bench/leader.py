#!/usr/bin/env python3
"""What a leader waits for: the dashboard, the public board and a drill-down list (the appeals
behind a figure), for a past quarter and for the current month; prints p50/p95 of each beside an
anchor measured in the same run (GET /healthz) and their ratio.

Against a served database, e.g. one made with `bihuan generate --db big.db --appeals 1000000`:
    bihuan serve --db big.db --listen 127.0.0.1:18796
    python3 bench/leader.py http://127.0.0.1:18796 --n 30
Logs in to the console as the demo's county leader (leader1). Standard library only.
"""
import argparse
import datetime
import http.cookiejar
import statistics
import time
import urllib.parse
import urllib.request


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def timed(opener, url):
    t0 = time.perf_counter()
    with opener.open(url) as r:
        body = r.read()
        status = r.status
    return time.perf_counter() - t0, status, body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--login", default="leader1")
    ap.add_argument("--password", default="bihuan2026")
    a = ap.parse_args()
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = urllib.parse.urlencode({"login": a.login, "password": a.password, "next": "/"}).encode()
    req = urllib.request.Request(a.base + "/login", data=form, headers={"Origin": a.base})
    with opener.open(req) as r:
        r.read()
    if not any(c.name for c in jar):
        raise SystemExit("login failed: no session cookie")

    today = datetime.date.today()
    month = f"month:{today.year}-{today.month:02d}"
    q = (today.month - 1) // 3
    past_quarter = f"quarter:{today.year}-{q}" if q > 0 else f"quarter:{today.year - 1}-4"
    pages = [
        ("dashboard, past quarter", f"/dashboard?period={past_quarter}"),
        ("dashboard, current month", f"/dashboard?period={month}"),
        ("board, past quarter", f"/board?period={past_quarter}"),
        ("board, current month", f"/board?period={month}"),
        ("drill-down list, closed-loop denominator, past quarter",
         f"/appeals?metric=closed_loop&part=den&period={past_quarter}"),
        ("drill-down list, on-time numerator, current month",
         f"/appeals?metric=on_time_completion&part=num&period={month}"),
        ("drill-down list, overdue at the past quarter's end",
         f"/appeals?metric=overdue&period={past_quarter}"),
    ]
    anchor = []
    results = []
    for label, path in pages:
        for _ in range(2):  # warm-up
            _, status, body = timed(opener, a.base + path)
            if status != 200 or b"\xe7\x99\xbb\xe5\xbd\x95" in body[:200]:  # 登录
                pass
        lat = []
        for _ in range(a.n):
            dt, _, _ = timed(opener, a.base + "/healthz")
            anchor.append(dt)
            dt, status, _ = timed(opener, a.base + path)
            if status != 200:
                raise SystemExit(f"{path}: HTTP {status}")
            lat.append(dt)
        results.append((label, path, lat))
    a50, a95 = pct(anchor, 50) * 1000, pct(anchor, 95) * 1000
    print(f"anchor GET /healthz: p50 {a50:.2f} ms  p95 {a95:.2f} ms  ({len(anchor)} requests)")
    for label, path, lat in results:
        p50, p95 = pct(lat, 50) * 1000, pct(lat, 95) * 1000
        print(f"{label}: p50 {p50:.1f} ms  p95 {p95:.1f} ms  "
              f"(p95 {p95 / a95:.0f}× the anchor; {len(lat)} requests)  {path}")


if __name__ == "__main__":
    main()
