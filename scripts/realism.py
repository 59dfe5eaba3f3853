#!/usr/bin/env python3
"""Measures a reefer-sim fleet against published reefer behaviour (scripts/realism.sh).

Reads JSON Lines readings (with ground-truth labels) from the files named on the
command line: the fleet first, then scripted runs named by their role
(`--cut-chilled F`, `--cut-frozen F`, `--cut-ca F`, `--faults F`). Prints the
realism table as Markdown. Standard library only.
"""
import json, statistics as st, sys
from collections import defaultdict

def read(path):
    with open(path) as f:
        for line in f:
            yield json.loads(line)

def q(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")

def fleet_stats(path):
    kw = defaultdict(list)
    spread = []
    supply_err = []
    defrosts = defaultdict(int)
    days = defaultdict(float)
    frozen_modes = defaultdict(int)
    switches = 0
    frozen_hours = 0.0
    gas = defaultdict(lambda: defaultdict(list))
    n2_bad = defaultdict(lambda: [0, 0])
    repeats = [0, 0]
    decimals = set()
    last = {}
    door_sea = [0, 0]
    for r in read(path):
        cid, fault, p = r["container_id"], r["fault"], r["product_id"]
        prev = last.get(cid)
        frozen = r["target_temperature"] <= -10
        t = r["measurement_time"]
        s = r["temperature"]
        decimals.add(len(repr(s).split(".")[1]) if "." in repr(s) else 0)
        total = r["oxygen_level"] + r["carbon_dioxide_level"] + r["nitrogen_level"]
        key = "gas-sensor fault" if fault in ("o2_sensor", "co2_sensor") else "other"
        n2_bad[key][0] += abs(total - 99.07) > 0.015
        n2_bad[key][1] += 1
        if fault is None:
            if prev is not None and prev["fault"] is None:
                repeats[0] += s == prev["temperature"]
                repeats[1] += 1
            mode = r["operating_mode"]
            if not r["defrost"] and not r["door_open"]:
                kw["frozen" if frozen else "chilled"].append(r["kilowatts"])
                kw["fleet"].append(r["kilowatts"])
                if not frozen and mode in ("modulated_cool", "full_cool"):
                    spread.append(s - r["supply_air_temperature"])
                    if mode == "modulated_cool":
                        supply_err.append(r["supply_air_temperature"] - r["target_temperature"])
                if frozen:
                    frozen_modes[mode] += 1
                    if prev is not None and prev["fault"] is None and not prev["defrost"] and prev["operating_mode"] != mode:
                        switches += 1
            if p in ("P02", "P04"):
                gas[p]["o2"].append(r["oxygen_level"])
                gas[p]["co2"].append(r["carbon_dioxide_level"])
            if r["defrost"] and (prev is None or not prev["defrost"]):
                defrosts[p] += 1
        if fault == "door_open" and prev is not None and prev["fault"] == "door_open":
            moved = (r["latitude"], r["longitude"]) != (prev["latitude"], prev["longitude"]) and r["latitude"] is not None and prev["latitude"] is not None and abs(r["latitude"] - prev["latitude"]) + abs(r["longitude"] - prev["longitude"]) > 0.01
            door_sea[0] += moved
            door_sea[1] += 1
        last[cid] = r
    return locals()

def main():
    fleet = sys.argv[1]
    f = fleet_stats(fleet)
    print(f)

if __name__ == "__main__":
    main()
