"""The anchor of `bihuan bench-metrics`: the same figures computed by DuckDB from an export.

Reads rounds.csv (appeal, unit, due, replied_at — one row per reply round) and visits.csv
(appeal, lead, visited_at, rating — one row per current return visit), both written by the bench
in the same run, and computes for every month of a year and every unit:
  按期办结率  on-time completion = rounds due in the month replied by their deadline /
              rounds due in the month whose outcome is known (replied, or deadline passed `now`)
  满意率      satisfaction = (satisfied + 0.9 × basically satisfied) / visits in the month
Prints one JSON object: load and query seconds, and the figures, for the bench to compare.
Usage: python3 duckdb_metrics.py DIR YEAR NOW_EPOCH_SECONDS
"""
import json
import sys
import time

import duckdb

d, year, now = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
con = duckdb.connect()
t0 = time.perf_counter()
con.execute(f"CREATE TABLE rounds AS SELECT * FROM read_csv_auto('{d}/rounds.csv', header=true)")
con.execute(f"CREATE TABLE visits AS SELECT * FROM read_csv_auto('{d}/visits.csv', header=true)")
load = time.perf_counter() - t0
# Months are China months: shift UTC seconds by 8 hours.
t1 = time.perf_counter()
otc = con.execute(
    f"""
    SELECT month(to_timestamp(due + 8*3600)) AS m, unit,
           SUM(CASE WHEN replied_at IS NOT NULL AND replied_at <= due THEN 1 ELSE 0 END) AS num,
           SUM(CASE WHEN replied_at IS NOT NULL OR due < {now} THEN 1 ELSE 0 END) AS den
    FROM rounds WHERE year(to_timestamp(due + 8*3600)) = {year}
    GROUP BY 1, 2
    """
).fetchall()
sat = con.execute(
    f"""
    SELECT month(to_timestamp(visited_at + 8*3600)) AS m, lead,
           SUM(CASE WHEN rating = 'satisfied' THEN 1 ELSE 0 END) AS s,
           SUM(CASE WHEN rating = 'basic' THEN 1 ELSE 0 END) AS b,
           COUNT(*) AS n
    FROM visits WHERE year(to_timestamp(visited_at + 8*3600)) = {year}
    GROUP BY 1, 2
    """
).fetchall()
query = time.perf_counter() - t1
print(json.dumps({
    "duckdb": duckdb.__version__,
    "load_s": load,
    "query_s": query,
    "otc": [[int(m), int(u), int(n), int(dn)] for m, u, n, dn in otc],
    "sat": [[int(m), int(u) if u is not None else -1, int(s), int(b), int(n)] for m, u, s, b, n in sat],
}))
