"""Runs the Flink SQL that `reefer-window --print-sql flink` prints in a real,
local Flink (PyFlink's mini-cluster), with only the connectors swapped: the
Kinesis source reads a local JSON Lines file and the Kinesis sink writes local
JSON files, both through Flink's own `json` format with the options as printed.

    python run.py JOBS.json

JOBS.json: {"jobs": [{"name", "sql", "input", "output", "zone"}, ...]}. Every
job runs in this one process (one JVM, one Flink version), in streaming mode
with parallelism 1; the jobs of one session time zone (`zone`, set before the
SQL's own statements run) run together as one Flink job, each in its own
database. Each job's rows go to `output` as JSON Lines, exactly as Flink's
json format wrote them. When the jobs of a zone fail together they run again
one by one, and a job that fails alone writes its error to
`output + ".error"`. Exit status 0 when every job ran, 1 otherwise.
"""

import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback

# Options of the printed CREATE TABLE that belong to the Kinesis connector;
# everything else (the format and its options) is kept as printed.
KINESIS_OPTION = re.compile(r"^(connector|stream|stream\.arn|aws\..*|scan\..*|sink\..*|source\..*)$")
OPTION = re.compile(r"'((?:[^']|'')*)'\s*=\s*'((?:[^']|'')*)'")


def statements(sql):
    """Splits a SQL script into statements: `;` outside quotes ends one,
    `--` outside quotes starts a comment to the end of the line."""
    out, cur, quote, i = [], [], None, 0
    while i < len(sql):
        c = sql[i]
        if quote:
            cur.append(c)
            if c == quote:
                quote = None
        elif c in "'`\"":
            quote = c
            cur.append(c)
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = len(sql) if end < 0 else end
            continue
        elif c == ";":
            text = "".join(cur).strip()
            if text:
                out.append(text)
            cur = []
        else:
            cur.append(c)
        i += 1
    text = "".join(cur).strip()
    if text:
        out.append(text)
    return out


def swap_connector(stmt, path):
    """The CREATE TABLE statement with its Kinesis options replaced by the
    filesystem connector on `path`; the format options stay as printed."""
    at = stmt.rfind("WITH (")
    if at < 0:
        raise ValueError("CREATE TABLE without WITH (...): " + stmt[:80])
    kept = []
    for key, value in OPTION.findall(stmt[at:]):
        if not KINESIS_OPTION.match(key):
            kept.append((key, value))
    if not any(k == "format" for k, _ in kept):
        raise ValueError("printed table has no 'format' option: " + stmt[:80])
    opts = [("connector", "filesystem"), ("path", path)] + kept
    body = ",\n".join("  '%s' = '%s'" % (k, v.replace("'", "''")) for k, v in opts)
    # PARTITIONED BY picks the Kinesis partition key; the filesystem
    # connector would instead move those columns out of the rows into
    # directory names.
    head = re.sub(r"\)\s*PARTITIONED\s+BY\s*\([^)]*\)\s*$", ") ", stmt[:at], flags=re.I)
    return head + "WITH (\n" + body + "\n)"


def table_name(stmt):
    m = re.match(r"CREATE\s+TABLE\s+(`(?:[^`]|``)+`|\w+)", stmt, re.I)
    return m.group(1).strip("`") if m else None


def sink_name(stmts):
    for s in stmts:
        m = re.match(r"INSERT\s+INTO\s+(`(?:[^`]|``)+`|\w+)", s, re.I)
        if m:
            return m.group(1).strip("`")
    raise ValueError("the SQL has no INSERT INTO")


def prepare(job, t_env, out_dir):
    """Runs the job's statements up to its INSERT, with the connectors
    swapped, and returns the INSERT."""
    stmts = statements(job["sql"])
    sink = sink_name(stmts)
    insert = None
    for s in stmts:
        if re.match(r"CREATE\s+TABLE", s, re.I):
            s = swap_connector(s, out_dir if table_name(s) == sink else job["input"])
        if re.match(r"INSERT\s", s, re.I):
            if insert is not None:
                raise ValueError("the SQL has more than one INSERT")
            insert = s
        else:
            t_env.execute_sql(s)
    return insert


def collect(job, out_dir):
    """The rows Flink's json format wrote, as one JSON Lines file."""
    rows = []
    for root, _, files in os.walk(out_dir):
        for f in sorted(files):
            if f.startswith(".") and "inprogress" not in f:
                continue  # Flink's .crc and the like
            with open(os.path.join(root, f), encoding="utf-8") as fh:
                rows.extend(line for line in fh if line.strip())
    with open(job["output"], "w", encoding="utf-8") as fh:
        fh.writelines(r if r.endswith("\n") else r + "\n" for r in rows)


def run_together(jobs, t_env):
    """All jobs as one Flink job (one statement set): each in its own
    database, so their tables keep the names the SQL gives them."""
    out_dirs = [tempfile.mkdtemp(prefix="reefer-flink-out-") for _ in jobs]
    try:
        stmt_set = t_env.create_statement_set()
        for i, (job, out_dir) in enumerate(zip(jobs, out_dirs)):
            t_env.execute_sql("CREATE DATABASE reefer_job_%d" % i)
            t_env.execute_sql("USE reefer_job_%d" % i)
            stmt_set.add_insert_sql(prepare(job, t_env, out_dir))
        stmt_set.execute().wait()
        for job, out_dir in zip(jobs, out_dirs):
            collect(job, out_dir)
    finally:
        for d in out_dirs:
            shutil.rmtree(d, ignore_errors=True)


def run_alone(job, t_env):
    out_dir = tempfile.mkdtemp(prefix="reefer-flink-out-")
    try:
        t_env.execute_sql(prepare(job, t_env, out_dir)).wait()
        collect(job, out_dir)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as fh:
        jobs = json.load(fh)["jobs"]

    from pyflink.table import EnvironmentSettings, TableEnvironment

    def t_env_for(zone):
        t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
        conf = t_env.get_config()
        # One task per operator, so the rows reach the window operator in
        # file order, as they reach reefer-window; and a watermark after every
        # record that raises it, as reefer-window advances its watermark per
        # record (the default, every 200 ms of processing time, would make the
        # late rows depend on how fast the file is read).
        conf.set("parallelism.default", "1")
        conf.set("pipeline.auto-watermark-interval", "0 ms")
        conf.set("table.local-time-zone", zone)
        return t_env

    for job in jobs:
        for stale in (job["output"], job["output"] + ".error"):
            if os.path.exists(stale):
                os.remove(stale)
    # One Flink job per session zone: starting a job costs seconds, a
    # pipeline more in it almost nothing.
    zones = sorted({job["zone"] for job in jobs})
    failed = 0
    for zone in zones:
        group = [job for job in jobs if job["zone"] == zone]
        t0 = time.monotonic()
        try:
            run_together(group, t_env_for(zone))
            print("flink: %d jobs in session zone %s ok in %.1f s" % (len(group), zone, time.monotonic() - t0), file=sys.stderr)
            continue
        except Exception:
            print("flink: the %d jobs in zone %s failed together; running them one by one" % (len(group), zone), file=sys.stderr)
        for job in group:
            t0 = time.monotonic()
            try:
                run_alone(job, t_env_for(zone))
                status = "ok"
            except Exception:  # reported per job; the other jobs still run
                failed += 1
                status = "FAILED"
                with open(job["output"] + ".error", "w", encoding="utf-8") as fh:
                    fh.write(traceback.format_exc())
            print("flink job %-40s %s in %.1f s" % (job["name"], status, time.monotonic() - t0), file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
