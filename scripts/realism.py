#!/usr/bin/env python3
"""The realism table of reefer-sim (run by scripts/realism.sh).

Usage: realism.py DIR, where DIR holds the runs scripts/realism.sh made:
fleet.jsonl (a default-mix fleet), cut-chilled.jsonl, cut-frozen.jsonl (power
cuts reported on a modem battery), cut-gap.jsonl (the same without one),
compressor.jsonl and compressor-frozen.jsonl (scripted compressor failures,
a default mix and frozen fish). Prints the table as Markdown:
quantity, what the simulator does (measured here), the published reference.
Standard library only.
"""
import json
import statistics as st
import sys
from collections import defaultdict


def read(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def per_container(rows):
    by = defaultdict(list)
    for r in rows:
        by[r["container_id"]].append(r)
    return by


def hours(a, b):
    from datetime import datetime

    p = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
    return (p(b) - p(a)).total_seconds() / 3600


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def healthy(r):
    return r["fault"] is None and not r["defrost"] and not r["door_open"]


def frozen(r):
    return r["target_temperature"] <= -10


def fleet_rows(rows):
    out = []
    chilled_kw = [r["kilowatts"] for r in rows if healthy(r) and not frozen(r)]
    frozen_kw = [r["kilowatts"] for r in rows if healthy(r) and frozen(r)]
    all_kw = [r["kilowatts"] for r in rows if healthy(r)]
    out.append(("power, chilled 40' (mean, healthy readings)", f"{st.mean(chilled_kw):.1f} kW",
                "fleet average ≈ 5.4 kW per 40' (Fitzgerald et al. 2011, Energy Policy 39(4): 2.7 kW/TEU ± 60 %); 4.4 kW per reefer on ships (Yeh 2022, the issue's figure)"))
    out.append(("power, frozen 40' (mean)", f"{st.mean(frozen_kw):.1f} kW", "as above; frozen units cycle their compressor and slow their fans to save energy (Container Handbook §7.2.7.1)"))
    idle_kw = [r["kilowatts"] for r in rows if healthy(r) and frozen(r) and r["operating_mode"] == "fans_only"]
    out.append(("power, frozen 40' with the compressor off (fans only)", f"{st.mean(idle_kw):.2f} kW",
                "fans at low speed in frozen mode, \"reducing their power consumption by a factor of 8\" (Container Handbook §7.2.7.1); no published low-speed draw was found for this table"))
    out.append(("power, fleet mean / 99th percentile", f"{st.mean(all_kw):.1f} / {pct(all_kw, 0.99):.1f} kW",
                "≈ 5.4 kW mean (Fitzgerald et al. 2011); peaks ≈ 7.5 kW (Budiyanto 2018, the issue's figure)"))
    # Frozen control: compressor on/off around the setpoint, low fan speed.
    by = per_container([r for r in rows if frozen(r)])
    on = cycles = 0
    span_h = 0.0
    dev = []
    for rs in by.values():
        ok = [r for r in rs if healthy(r)]
        if len(ok) < 2:
            continue
        span_h += hours(ok[0]["measurement_time"], ok[-1]["measurement_time"])
        on += sum(r["operating_mode"] == "full_cool" for r in ok)
        cycles += sum(a["operating_mode"] == "fans_only" and b["operating_mode"] == "full_cool" for a, b in zip(ok, ok[1:]))
        dev += [r["temperature"] - r["target_temperature"] for r in ok if r["target_temperature"] > -60]
    n = sum(len([r for r in rs if healthy(r)]) for rs in by.values())
    out.append(("frozen control (P06 at −20 °C)", f"compressor on {on / n:.0%} of readings, {cycles / span_h:.1f} starts/h seen; return air − setpoint p5…p95 {pct(dev, 0.05):+.1f} … {pct(dev, 0.95):+.1f} K",
                "return-air control, compressor on at +0.2 K and off at −0.2 K with a minimum time between switchings, fans at low speed (Container Handbook §7.2.7.1)"))
    ch = [r for r in rows if healthy(r) and not frozen(r) and r["operating_mode"] == "modulated_cool"]
    sup = [abs(r["supply_air_temperature"] - r["target_temperature"]) for r in ch]
    out.append(("controlled sensor, chilled", f"supply air within {pct(sup, 0.95):.1f} K of setpoint (p95); return air above it",
                "chilled units control on supply air (Container Handbook §7.2.7.2; Thermo King supply-air control, the issue's reference)"))
    spread = defaultdict(list)
    for r in ch:
        spread[r["product_id"]].append(r["temperature"] - r["supply_air_temperature"])
    txt = ", ".join(f"{p} {st.mean(v):.1f}" for p, v in sorted(spread.items()))
    out.append(("return − supply, chilled (K, by product)", txt,
                "≈ 2–2.6 K (the issue's figure, Container Handbook §7.2.7.2); return above supply while the cargo is held (Handbook §8.4.2.3)"))
    # Defrost by coil condition.
    days = defaultdict(float)
    starts = defaultdict(int)
    for rs in per_container(rows).values():
        sp = rs[0]["target_temperature"]
        cls = "frozen" if sp <= -10 else ("chilled ≥ 10 °C" if sp >= 10 else "chilled < 10 °C")
        days[cls] += hours(rs[0]["measurement_time"], rs[-1]["measurement_time"]) / 24
        starts[cls] += sum(b["defrost"] and not a["defrost"] for a, b in zip(rs, rs[1:]))
    txt = ", ".join(f"{c}: {starts[c] / days[c]:.1f}" for c in sorted(days) if days[c] > 0)
    out.append(("defrosts per container-day", txt,
                "timed 6/8/12 h and only with the coil below ≈ +10 °C (Container Handbook §7.2.7.3; Carrier PrimeLINE manual §4.3.21: 3/6/9/12/24 h, timer counts compressor time below 10 °C)"))
    # Pull-down of warm-loaded boxes: return air falling over the run.
    rates = []
    for rs in per_container(rows).values():
        ok = [r for r in rs if healthy(r)]
        if len(ok) > 100 and not frozen(ok[0]) and ok[0]["temperature"] - ok[0]["supply_air_temperature"] > 4.0:
            h = hours(ok[0]["measurement_time"], ok[-1]["measurement_time"])
            rates.append((ok[0]["temperature"] - ok[-1]["temperature"]) / h * 24)
    if rates:
        out.append(("pull-down of a warm-loaded box (return air)", f"{st.median(rates):.1f} K/day (median of {len(rates)} boxes)",
                    "days: a reefer can cool ambient-loaded citrus in under 5 days in theory, slower in practice (Defraeye et al. 2015, Biosystems Eng. 134:20–30); fruit reached 3 °C in 5–6 days (Berry et al. 2020, Acta Hortic. 1275)"))
    # Controlled atmosphere.
    for p, name in (("P02", "bananas"), ("P04", "avocados")):
        g = [r for r in rows if healthy(r) and r["product_id"] == p]
        o2 = [r["oxygen_level"] for r in g]
        co2 = [r["carbon_dioxide_level"] for r in g]
        out.append((f"CA, {name}: O2 / CO2 mean (SD)", f"{st.mean(o2):.1f} ({st.pstdev(o2):.2f}) / {st.mean(co2):.1f} ({st.pstdev(co2):.2f}) %",
                    "bananas 2–5 % O2 / 2–5 % CO2, avocados 3–5 / 3–5 % (Carrier CA guide, the issue's figures); control band ± 0.5 % (ibid.); EverFresh banana trials at 5 % O2 / 4 % CO2 (Global Cold Chain News)"))
    temps = [r["temperature"] for r in rows]
    decimals = max(len(repr(t).split(".")[1]) for t in temps)
    out.append(("temperature resolution", f"{10 ** -decimals:g} °C", "units report 0.1 °C (the issue's figure)"))
    by = per_container(rows)
    same = tot = 0
    for rs in by.values():
        for a, b in zip(rs, rs[1:]):
            if healthy(a) and healthy(b):
                tot += 1
                same += a["temperature"] == b["temperature"]
    out.append(("healthy return air repeating the previous reading", f"{same / tot:.0%} of readings", "a stuck sensor is no longer the only repeating one"))
    bad = defaultdict(lambda: [0, 0])
    for r in rows:
        k = "gas-sensor faults" if r["fault"] in ("o2_sensor", "co2_sensor") else "all others"
        bad[k][0] += abs(r["oxygen_level"] + r["carbon_dioxide_level"] + r["nitrogen_level"] - 99.07) > 0.015
        bad[k][1] += 1
    out.append(("O2 + CO2 + N2 ≠ 99.07 %", ", ".join(f"{k}: {v[0] / v[1]:.0%}" for k, v in sorted(bad.items())),
                "N2 by difference from the reported gases: no cue that real data lacks"))
    doors = [(a, b) for rs in by.values() for a, b in zip(rs, rs[1:]) if a["door_open"] and b["door_open"]]
    moving = sum(1 for a, b in doors if a["latitude"] is not None and b["latitude"] is not None
                 and abs(a["latitude"] - b["latitude"]) + abs(a["longitude"] - b["longitude"]) > 0.01)
    out.append(("doors open at sea", f"{moving} of {len(doors)} open-door reading pairs moving", "doors open at stuffing, inspection and discharge, in port (the issue)"))
    return out


def cut_rows(d):
    out = []
    for name, label in (("cut-chilled", "bananas, 14 h cut"), ("cut-frozen", "frozen fish, 8 h cut")):
        rows = read(f"{d}/{name}.jsonl")
        during = [r for r in rows if r["fault"] == "power_off"]
        before = [r for r in rows if r["fault"] is None and r["measurement_time"] < during[0]["measurement_time"]]
        t0 = before[-1]["temperature"]
        at = lambda h: next(r for r in during if hours(during[0]["measurement_time"], r["measurement_time"]) >= h)["temperature"]
        last = during[-1]
        total_h = hours(during[0]["measurement_time"], last["measurement_time"])
        late = (last["temperature"] - at(total_h / 2)) / (total_h / 2)
        txt = f"return air +{at(1) - t0:.1f} K after 1 h, +{last['temperature'] - t0:.1f} K after {total_h:.0f} h ({late:.2f} K/h late in the cut)"
        if name == "cut-chilled":
            txt += f"; O2 {during[0]['oxygen_level']:.1f} → {last['oxygen_level']:.1f} %, CO2 {during[0]['carbon_dioxide_level']:.1f} → {last['carbon_dioxide_level']:.1f} %"
        out.append((f"warming after a power cut ({label})", txt,
                    "heat leak ≈ 44 W/K for a 40' box (38.13 kcal/(h·K) measured, CINS Tech 2021); 17–25 t of cargo warms ≈ 0.1–0.2 K/h; a 14 h outage raised return air 0.4 K (the issue's survey case); a sealed box of respiring fruit loses O2 and gains CO2"))
    rows = read(f"{d}/cut-gap.jsonl")
    during = [r for r in rows if r["fault"] == "power_off"]
    out.append(("readings during a 2 h power cut (no modem battery)", f"{len(during) - 1} (the one labelled reading is the first after the power returns)",
                "modems talk over the power cable: an outage shows as missing data (the issue)"))
    rows = read(f"{d}/compressor.jsonl")
    by = per_container(rows)
    ratio = []
    for rs in by.values():
        f = [r["kilowatts"] for r in rs if r["fault"] == "compressor_failure"]
        h = [r["kilowatts"] for r in rs if r["fault"] is None and not r["defrost"]]
        if f and h:
            ratio.append(st.mean(f) / st.mean(h))
    out.append(("compressor failure: draw vs healthy", f"{min(ratio):.0%} … {max(ratio):.0%} of the healthy draw ({len(ratio)} boxes)",
                "a failed compressor does not draw 95 % of its power: it will not start, runs without compressing, or trips (the issue)"))
    rows = read(f"{d}/compressor-frozen.jsonl")
    # The form shows in the draw: fans only (will not start), a steady
    # fraction (spins without pumping), or a run every quarter hour (trips).
    forms = defaultdict(list)
    for rs in per_container(rows).values():
        f = [r for r in rs if r["fault"] == "compressor_failure"]
        before = [r for r in rs if r["fault"] is None and r["measurement_time"] < f[0]["measurement_time"]]
        kw = [r["kilowatts"] for r in f]
        form = "will not start" if max(kw) < 0.5 else ("trips" if st.pstdev(kw) > 0.3 else "does not pump")
        h = hours(f[0]["measurement_time"], f[-1]["measurement_time"])
        forms[form].append((f[-1]["temperature"] - before[-1]["temperature"]) / h)
    txt = "; ".join(f"{form}: {min(v):.2f} … {max(v):.2f} K/h ({len(v)} boxes)" for form, v in sorted(forms.items()))
    out.append(("compressor failure, frozen fish: return-air warming over 6 h, by form", txt,
                "with no net cooling the box warms as its walls leak heat: ≈ 44 W/K × 25–45 K ≈ 1–2 kW, the air a few K in the first hour, then 25 t of frozen fish ≈ 0.1–0.15 K/h (heat leak: CINS Tech 2021); a tripping compressor restarts only after its cut-out resets (Thermo King unit-protection devices)"))
    return out


def main():
    d = sys.argv[1]
    rows = read(f"{d}/fleet.jsonl")
    print("| quantity | reefer-sim (measured by scripts/realism.sh) | published reference |")
    print("|---|---|---|")
    for q, s, ref in fleet_rows(rows) + cut_rows(d):
        print(f"| {q} | {s} | {ref} |")


if __name__ == "__main__":
    main()
