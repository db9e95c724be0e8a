"""History import at scale (issue 24): writes an N-row file in the NYC 311 export's shape
(CRLF, ISO 8601 times, ~70 % closed with a reply, the rest open or in progress), imports it
with `bihuan import` into a fresh demo-county database, and prints rows/s beside the anchor
measured in the same run: `bihuan generate` (demo appeals with whole histories written in
bulk) of the same number of rows into another fresh database.

    python3 bench/import_rows.py target/release/bihuan 1000000

The file and databases live in a temporary folder that is removed afterwards.
"""

import os
import random
import subprocess
import sys
import tempfile
import time

MAPPING = """
[columns]
source_number = "Unique Key"
created = "Created Date"
closed = "Closed Date"
lead = "Agency"
category = "Complaint Type"
content = ["Complaint Type", "Descriptor"]
address = "Incident Address"
status = "Status"
reply = "Resolution Description"
lat = "Latitude"
long = "Longitude"
channel = "Open Data Channel Type"

[values.channel]
PHONE = "hotline"
ONLINE = "web"
MOBILE = "app"

[values.status]
Closed = "closed"
"In Progress" = "in_progress"
Open = "open"

[values.lead]
NYPD = "县公安局"
DOT = "县交通运输局"
HPD = "县住房和城乡建设局"
DSNY = "县城市管理局"

[values.category]
"Noise - Residential" = "噪音扰民"
"Street Light Condition" = "路灯"
"Pothole" = "道路破损"
"Missed Collection" = "垃圾清运"

[options]
timezone = "-05:00"
source = "nyc311"
"""

TYPES = [
    ("Noise - Residential", "NYPD", "Loud Music/Party"),
    ("Street Light Condition", "DOT", "Street Light Out"),
    ("Pothole", "DOT", "Pothole - Highway"),
    ("Missed Collection", "DSNY", "Trash"),
]


def write_file(path: str, n: int) -> None:
    rnd = random.Random(2024)
    start = 1704067200  # 2024-01-01
    span = 300 * 86400
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(
            "Unique Key,Created Date,Closed Date,Agency,Complaint Type,Descriptor,Incident Address,"
            "Status,Resolution Description,Latitude,Longitude,Open Data Channel Type\r\n"
        )
        for i in range(n):
            t = start + rnd.randrange(span)
            kind, agency, desc = TYPES[i % len(TYPES)]
            created = time.strftime("%Y-%m-%dT%H:%M:%S.000", time.gmtime(t))
            r = rnd.random()
            if r < 0.7:
                status, closed = "Closed", time.strftime(
                    "%Y-%m-%dT%H:%M:%S.000", time.gmtime(t + rnd.randrange(3600, 5 * 86400))
                )
                reply = "The Department of Transportation inspected the condition and repaired it."
            elif r < 0.85:
                status, closed, reply = "In Progress", "", ""
            else:
                status, closed, reply = "Open", "", ""
            channel = ("PHONE", "ONLINE", "MOBILE")[i % 3]
            f.write(
                f"{70000000 + i},{created},{closed},{agency},{kind},{desc},{100 + i % 900} WEST {i % 200} STREET,"
                f"{status},{reply},{40.6 + rnd.random() / 5:.6f},{-74.0 + rnd.random() / 5:.6f},{channel}\r\n"
            )


def main(binary: str, n: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        csv_path = os.path.join(d, "nyc.csv")
        map_path = os.path.join(d, "nyc.toml")
        with open(map_path, "w", encoding="utf-8") as f:
            f.write(MAPPING)
        write_file(csv_path, n)
        env = dict(os.environ, BIHUAN_NOW="2026-11-20T09:00:00+08:00")
        # Anchor: the bulk generator writing the same number of appeals with histories.
        anchor_db = os.path.join(d, "anchor.db")
        subprocess.run([binary, "generate", "--db", anchor_db, "--appeals", "1"], check=True,
                       env=env, capture_output=True)
        t = time.monotonic()
        subprocess.run([binary, "generate", "--db", anchor_db, "--appeals", str(n)], check=True,
                       env=env, capture_output=True)
        anchor = n / (time.monotonic() - t)
        db = os.path.join(d, "import.db")
        subprocess.run([binary, "generate", "--db", db, "--appeals", "1"], check=True, env=env,
                       capture_output=True)
        t = time.monotonic()
        out = subprocess.run([binary, "import", "--db", db, "--file", csv_path, "--mapping", map_path],
                             env=env, capture_output=True, text=True)
        secs = time.monotonic() - t
        if out.returncode != 0:
            print(out.stdout[:2000], out.stderr[:2000])
            sys.exit(1)
        size = os.path.getsize(db)
        print(f"rows: {n}")
        print(f"import (history, batches of 5,000): {n / secs:,.0f} rows/s ({secs:.1f} s)")
        print(f"anchor, bihuan generate of as many appeals: {anchor:,.0f} appeals/s")
        print(f"ratio import / anchor: {n / secs / anchor:.2f}")
        print(f"database after import: {size / n:,.0f} bytes per row")
        print(out.stdout.strip().splitlines()[0])


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
