#!/usr/bin/env python3
"""Portal submit latency: each round fetches /portal, answers its question the way a person
would (reading the digits), and submits; prints the submit's p50/p95/p99 beside an anchor measured
in the same run (GET /healthz), and the whole round.

Run against a server whose portal limits allow a benchmark, e.g. a config file with
    portal_submissions_per_hour = 1000000
    portal_min_fill_secs = 0
    scan_interval_secs = 0
and `bihuan serve --config that.toml --db demo.db --listen 127.0.0.1:18795`, then
    python3 bench/portal.py http://127.0.0.1:18795 --n 300
Standard library only.
"""
import argparse
import re
import statistics
import time
import urllib.parse
import urllib.request

NUMERALS = "零一二三四五六七八九"


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("--n", type=int, default=300)
    a = ap.parse_args()
    opener = urllib.request.build_opener()
    submit, rounds, anchor = [], [], []
    for i in range(a.n):
        t0 = time.perf_counter()
        with opener.open(a.base + "/healthz") as r:
            r.read()
        anchor.append(time.perf_counter() - t0)
        start = time.perf_counter()
        with opener.open(a.base + "/portal") as r:
            page = r.read().decode()
        token = re.search(r'name="token" value="([^"]+)"', page).group(1)
        q = re.search(r"验证：(.)加(.)等于几", page)
        answer = NUMERALS.index(q.group(1)) + NUMERALS.index(q.group(2))
        body = urllib.parse.urlencode({
            "token": token, "answer": str(answer), "kind": "help",
            "title": f"东门路{i}号附近路灯不亮", "content": f"东门路{i}号附近路灯连续三天不亮，晚上行人看不清路，请尽快修复。",
            "township": "", "address": f"东门路{i}号", "name": "", "phone": f"139{i:08d}",
        }).encode()
        req = urllib.request.Request(a.base + "/portal/submit", data=body, method="POST",
                                     headers={"origin": a.base, "content-type": "application/x-www-form-urlencoded"})
        t1 = time.perf_counter()
        with opener.open(req) as r:
            text = r.read().decode()
            assert r.status == 200 and 'id="receipt-code"' in text, text[:500]
        submit.append(time.perf_counter() - t1)
        rounds.append(time.perf_counter() - start)
    ms = lambda x: f"{x * 1000:.2f} ms"
    print(f"portal submit over {a.n} rounds (each a new appeal, query code, idempotency key)")
    print(f"  submit   p50 {ms(statistics.median(submit))}  p95 {ms(pct(submit, 95))}  p99 {ms(pct(submit, 99))}")
    print(f"  round    p50 {ms(statistics.median(rounds))}  p95 {ms(pct(rounds, 95))}  (GET /portal + submit)")
    print(f"  anchor: GET /healthz  p50 {ms(statistics.median(anchor))}  p95 {ms(pct(anchor, 95))} (same run)")


if __name__ == "__main__":
    main()
