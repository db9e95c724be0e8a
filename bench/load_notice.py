#!/usr/bin/env python3
"""Loads a year's holiday notice into a running server and prints how long it took and what moved
(the open appeals whose provisional deadlines were computed again). The notice is TEST DATA shaped
like a real one (元旦, 春节 with a make-up day, 清明, 劳动节, 端午, 中秋, 国庆), not an official notice.

    BIHUAN_NOW=2026-12-28T10:00:00+08:00 bihuan generate --db big.db --appeals 1000000
    BIHUAN_NOW=2026-12-28T15:00:00+08:00 bihuan serve --db big.db --listen 127.0.0.1:18797
    python3 bench/load_notice.py http://127.0.0.1:18797

Logs in to the console as the demo's administrator (admin). Standard library only.
"""
import http.cookiejar, json, sys, time, urllib.parse, urllib.request
base = sys.argv[1]
jar = http.cookiejar.CookieJar()
op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
form = urllib.parse.urlencode({"login": "admin", "password": "bihuan2026", "next": "/"}).encode()
op.open(urllib.request.Request(base + "/login", data=form, headers={"Origin": base})).read()
days = []
def span(name, a, b, off=True):
    import datetime
    d = datetime.date.fromisoformat(a); e = datetime.date.fromisoformat(b)
    while d <= e:
        days.append({"name": name, "date": d.isoformat(), "isOffDay": off}); d += datetime.timedelta(days=1)
# Test data shaped like a notice (not the official 2027 notice).
span("元旦", "2027-01-01", "2027-01-03")
span("春节", "2027-02-05", "2027-02-11"); span("春节", "2027-02-13", "2027-02-13", False)
span("清明节", "2027-04-03", "2027-04-05")
span("劳动节", "2027-05-01", "2027-05-05"); span("劳动节", "2027-04-25", "2027-04-25", False)
span("端午节", "2027-06-09", "2027-06-09")
span("中秋节", "2027-09-15", "2027-09-15")
span("国庆节", "2027-10-01", "2027-10-07"); span("国庆节", "2027-09-26", "2027-09-26", False); span("国庆节", "2027-10-09", "2027-10-09", False)
body = json.dumps({"year": 2027, "papers": ["test data, not the official notice"], "days": days}).encode()
t = time.perf_counter()
r = op.open(urllib.request.Request(base + "/api/v1/calendar/years", data=body, method="POST",
    headers={"Origin": base, "Content-Type": "application/json"}))
out = r.read()
print(f"POST /api/v1/calendar/years: HTTP {r.status} in {time.perf_counter() - t:.1f} s: {out.decode()}")
