"""Tables, ratios and targets from a results.json of bench/run.

    python bench/report.py [bench/results/latest/results.json]
    python bench/report.py BEFORE.json AFTER.json    # a before/after table of two runs

Prints aligned Markdown tables (readable in a terminal, ready to paste into
docs/BENCHMARKS.md) and the targets with OK/MISSED. Figures only: the exit
status is 0 whatever they say.
"""

import json
import sys
from pathlib import Path

ENDPOINTS = {
    "floor": "floor: bare Django view (bench/floor)",
    "healthz": "GET /healthz",
    "org": "GET /org",
    "board": "GET /boards/{id} (10 x 50)",
    "tasks": "GET /tasks?board_id&status&priority",
    "create": "POST /tasks",
    "move": "POST /tasks/{id}/move",
    "board_write": "PATCH /tasks/{id} (big board)",
    "board_after_write": "PATCH, then GET /boards/{id} (pairs)",
}
# Scenarios whose rows have no cache column (not read-cache dependent, or not a plain read).
NO_CACHE_LABEL = ("floor", "healthz", "create", "move", "board_write", "board_after_write")
FIRST_READ = "GET /boards/{id} first read after a write (derived)"

# Published figures of well-known peers, quoted with their source and conditions.
# Other machines, other loads: read them as orders of magnitude, not as a race.
PEERS = [
    {
        "who": "granian 2.6.0, bare WSGI app (no framework), GET 1 KB text",
        "req_s": 146147,
        "conditions": "1 worker, AMD Ryzen 7 5700X (16 CPUs), Python 3.13, oha -c64",
        "source": "granian's published benchmarks (run 2025-12-01): "
        "https://github.blesdmm.dns-dynamic.net/emmett-framework/granian/blob/master/benchmarks/README.md",
    },
    {
        "who": "granian 2.6.0, bare ASGI app (no framework), GET 1 KB text",
        "req_s": 121000,
        "conditions": "1 worker, AMD Ryzen 7 5700X (16 CPUs), Python 3.13, oha -c128",
        "source": "same page",
    },
    {
        "who": "django-ninja (sync, gunicorn), JSON POST with query, headers and body",
        "req_s": 3888,
        "conditions": "Apple M2 Pro, Python 3.13.7, DEBUG=False, ab -c20 -n1000; no database",
        "source": "django-modern-rest's published benchmarks: "
        "https://github.com/wemake-services/django-modern-rest/blob/master/benchmarks/README.md",
    },
    {
        "who": "Django REST framework (sync, gunicorn), the same request",
        "req_s": 3024,
        "conditions": "same machine and load",
        "source": "same page",
    },
    {
        "who": "Django 1.8, JSON serialisation test",
        "req_s": 3697,
        "conditions": "2015; AWS t2.medium (2 vCPU), gunicorn 2 meinheld workers, wrk -t12 -c400",
        "source": "klen/py-frameworks-bench, June 2015: http://klen.github.io/py-frameworks-bench/",
    },
]


def table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    cells = [[str(c) for c in headers]] + [
        ["" if c is None else str(c) for c in row] for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = align or "l" + "r" * (len(headers) - 1)

    def line(row):
        return (
            "| "
            + " | ".join(
                c.ljust(w) if a == "l" else c.rjust(w)
                for c, w, a in zip(row, widths, align, strict=True)
            )
            + " |"
        )

    sep = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if a == "r" else ("-" * (w + 2))
            for w, a in zip(widths, align, strict=True)
        )
        + "|"
    )
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])


def fmt(x, digits=1):
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _load(results: dict) -> dict:
    return {(r["phase"], r["scenario"], r["cache"]): r for r in results.get("load", [])}


def _phases(results: dict) -> tuple[str, str]:
    s = results["settings"]
    return f"{s['orgs_small']} orgs", f"{s['orgs_large']} orgs"


def ratio(a, b):
    return a / b if a and b else None


def first_read(load: dict, phase: str) -> dict | None:
    """The cost of a board read that comes right after a write to the board, from two
    runs of the same server: board_write (the writes alone) and board_after_write (the
    same writes, each followed by a read). Read CPU = (CPU of the pairs run - its writes
    x CPU per write of the writes-alone run) / its reads; PostgreSQL alike."""
    alone, pairs = load.get((phase, "board_write", "warm")), load.get((phase, "board_after_write", "warm"))
    if not alone or not pairs or not pairs.get("reads") or "cpu_s" not in pairs:
        return None
    out = {"reads": pairs["reads"], "writes": pairs["writes"]}
    for key in ("server", "postgres"):
        per_write_s = alone["cpu_ms_per_request"][key] / 1000
        out[key] = max(0.0, pairs["cpu_s"][key] - pairs["writes"] * per_write_s) * 1000 / pairs["reads"]
    out["reads_per_s"] = pairs["reads"] / pairs["seconds"] if pairs["seconds"] else None
    return out


def issue_targets(results: dict) -> list[tuple[str, str, str]]:
    """The targets of issue 13 (server CPU per request at the large scale): (target, verdict, measured)."""
    load = _load(results)
    _, large = _phases(results)
    out = []

    def cpu(scenario, cache="warm"):
        r = load.get((large, scenario, cache))
        return r and r["cpu_ms_per_request"]

    def row(name, ok, measured, have):
        out.append((name, "n/a" if not have else ("OK" if ok else "MISSED"), measured if have else "not run"))

    org = load.get((large, "org", "warm"))
    row(
        f"GET /org (authenticated) <= 0.5 ms and >= 3,000 req/s ({large})",
        org and org["cpu_ms_per_request"]["server"] <= 0.5 and org["rps"] >= 3000,
        org and f"{org['cpu_ms_per_request']['server']:.2f} ms, {org['rps']:.0f} req/s",
        org,
    )
    c = cpu("board")
    row(
        "warm board detail 10 x 50 <= 0.8 ms",
        c and c["server"] <= 0.8,
        c and f"{c['server']:.2f} ms",
        c,
    )
    etag = next((e for e in results.get("etag", []) if e["phase"] == large), None)
    if etag is None:
        out.append(("warm board detail: 304 for a matching If-None-Match", "n/a", "not run"))
    elif not etag.get("etag"):
        out.append(
            (
                "warm board detail: 304 for a matching If-None-Match",
                "n/a",
                f"the server sent no ETag (first GET: {etag['first_status']})",
            )
        )
    else:
        out.append(
            (
                "warm board detail: 304 for a matching If-None-Match",
                "OK" if etag["status"] == 304 else "MISSED",
                f"If-None-Match: {etag['etag']} -> {etag['status']}",
            )
        )
    fr = first_read(load, large)
    row(
        "cold board detail (first read after a write) <= 5 ms app + <= 3 ms PostgreSQL",
        fr and fr["server"] <= 5 and fr["postgres"] <= 3,
        fr and f"{fr['server']:.2f} ms app + {fr['postgres']:.2f} ms PostgreSQL",
        fr,
    )
    c = cpu("tasks")
    row("GET /tasks filter, warm <= 1.5 ms", c and c["server"] <= 1.5, c and f"{c['server']:.2f} ms", c)
    c = cpu("create")
    row("POST /tasks <= 3 ms", c and c["server"] <= 3, c and f"{c['server']:.2f} ms", c)
    c = cpu("move")
    row("POST /tasks/{id}/move <= 4 ms", c and c["server"] <= 4, c and f"{c['server']:.2f} ms", c)
    return out


def targets(results: dict) -> list[tuple[str, str, str]]:
    """(target, OK|MISSED|n/a, measured)."""
    load = _load(results)
    small, large = _phases(results)
    out = []
    hz, bw = load.get((large, "healthz", "warm")), load.get((large, "board", "warm"))
    r = ratio(bw and bw["p50_ms"], hz and hz["p50_ms"])
    out.append(
        (
            f"warm board detail p50 within 2x of /healthz p50 ({large})",
            "n/a" if r is None else ("OK" if r <= 2 else "MISSED"),
            "n/a" if r is None else f"{r:.1f}x ({bw['p50_ms']:.1f} ms vs {hz['p50_ms']:.1f} ms)",
        )
    )
    sql = results.get("sql", {}).get("endpoints", {}).get("board", {}).get("warm")
    out.append(
        (
            "warm board detail: zero SQL for board data",
            "n/a" if sql is None else ("OK" if sql.get("board_data", 0) == 0 else "MISSED"),
            "n/a"
            if sql is None
            else f"{sql.get('board_data', 0)} board-data statements ({sql['total']} in all)",
        )
    )
    worst, worst_name, all_ok, seen = None, "", True, False
    for (phase, scenario, cache), r_large in load.items():
        if phase != large:
            continue
        r_small = load.get((small, scenario, cache))
        q = ratio(r_large["p50_ms"], r_small and r_small["p50_ms"])
        if q is None:
            continue
        seen = True
        all_ok &= q <= 1.10
        if worst is None or q > worst:
            worst, worst_name = q, f"{scenario} {cache}"
    out.append(
        (
            f"p50 at {large} within 10% of p50 at {small} (every endpoint)",
            "n/a" if not seen else ("OK" if all_ok else "MISSED"),
            "n/a" if not seen else f"worst {worst:.2f}x ({worst_name})",
        )
    )
    pool = results.get("provisioning", {}).get("pool")
    out.append(
        (
            "organization creation from the pool under 25 ms p50",
            "n/a" if not pool else ("OK" if pool["p50_ms"] < 25 else "MISSED"),
            "n/a" if not pool else f"{pool['p50_ms']:.1f} ms p50 (n={pool['n']})",
        )
    )
    fleet = results.get("fleet", {}).get("migrate_fleet_noop", {})
    if "seconds" in fleet:
        ok = fleet["exit"] == 0 and fleet["seconds"] < 30 * max(fleet["tenants"], 1) / 1000
        verdict = "OK" if ok else "MISSED"
        measured = f"{fleet['seconds']:.1f} s for {fleet['tenants']} tenants (exit {fleet['exit']})"
        if fleet["tenants"] != 1000:
            measured += "; target scaled to the tenant count"
    else:
        verdict, measured = "n/a", fleet.get("skipped", "not run")
    out.append(("no-op fleet migration of 1,000 tenants under 30 s", verdict, measured))
    runs = results.get("load", [])
    errors = sum(r["errors"] for r in runs)
    bad = [f"{r['scenario']} {r['cache']} {r['phase']}" for r in runs if r["errors"]]
    out.append(
        (
            "zero errors in every load run",
            "n/a" if not runs else ("OK" if errors == 0 else "MISSED"),
            f"{errors} errors in {len(runs)} runs" + (f" ({', '.join(bad)})" if bad else ""),
        )
    )
    return out


def render(results: dict) -> str:
    load = _load(results)
    small, large = _phases(results)
    m = results["machine"]
    s = results["settings"]
    v = m["versions"]
    parts = []
    other = [
        r["machine"]["other_load_cores"]
        for r in results.get("load", [])
        if r["machine"].get("other_load_cores") is not None
    ]
    noise = max(other) if other else None
    parts.append(
        f"Run: `{results['command']}` ({results['mode']} mode), {results['started_at']}, "
        f"{results.get('elapsed_s', '?')} s in all{' (INTERRUPTED: partial)' if results.get('interrupted') else ''}.\n"
        f"Machine: {m['cores']} cores ({m['cpu_model']}), {m['memory_gib']} GiB, {m['os']}, kernel {m['kernel']}; "
        f"load average {m['loadavg_at_start'][0]:.1f} at start, {m.get('loadavg_at_end', [0])[0]:.1f} at end; "
        f"CPU used by other processes during the load runs: up to {fmt(noise, 2)} cores.\n"
        f"Versions: Python {v['python']}, Django {v['Django']}, django-tenants {v['django-tenants']}, "
        f"django-ninja {v['django-ninja']}, cacheops {v['django-cacheops']}, psycopg {v['psycopg']} "
        f"(pool {v['psycopg-pool']}), granian {v['granian']}, PostgreSQL {v['postgresql']}, "
        f"Redis {v['redis-server']}, {v['wrk']}; "
        f"commit {m['git_commit']}{' + local changes' if m['git_dirty'] else ''}.\n"
        f"Load: wrk, {s['wrk_threads']} thread, {s['connections']} connections, {s['duration_s']:g} s per run, "
        f"requests round-robin over every (organization, user) pair ({s['users_per_org']} users per organization); "
        f"server: {s['server']}."
    )

    rows = []
    for phase in (small, large):
        fl = load.get((phase, "floor", "warm"))
        fl_cpu = fl and fl["cpu_ms_per_request"]["server"]
        for scenario in ENDPOINTS:
            for cache in ("warm", "cold"):
                r = load.get((phase, scenario, cache))
                if not r:
                    continue
                c = r["cpu_ms_per_request"]
                rows.append(
                    [
                        ENDPOINTS[scenario],
                        cache if scenario not in NO_CACHE_LABEL else "-",
                        phase,
                        fmt(r["rps"], 0),
                        fmt(r["p50_ms"], 2),
                        fmt(r["p95_ms"], 2),
                        fmt(r["p99_ms"], 2),
                        r["errors"],
                        fmt(r.get("bytes_per_response")),
                        fmt(c["server"], 2),
                        fmt(c["postgres"], 2),
                        fmt(ratio(c["server"], fl_cpu), 1),
                        fmt(ratio(r["rps"], fl and fl["rps"]), 3),
                    ]
                )
            fr = first_read(load, phase) if scenario == "board_after_write" else None
            if fr:
                rows.append(
                    [
                        FIRST_READ,
                        "stale",
                        phase,
                        f"({fr['reads_per_s']:.0f})",
                        "",
                        "",
                        "",
                        "",
                        "",
                        fmt(fr["server"], 2),
                        fmt(fr["postgres"], 2),
                        fmt(ratio(fr["server"], fl_cpu), 1),
                        "n/a",
                    ]
                )
    parts.append(
        "### Latency and throughput\n\n"
        "Server CPU: the API workers' CPU (granian worker processes) per response; PostgreSQL CPU: "
        "the CPU of the server's pooled backends per response. `x floor`: server CPU per request "
        "as a multiple of the floor's (bench/floor, same server command, same run); `/ floor`: req/s "
        "as a fraction of the floor's. The derived row is the board read of the pairs run alone "
        "(see \"What is measured\"); its req/s, in brackets, are the reads per second of the mix.\n\n"
        + table(
            [
                "endpoint",
                "cache",
                "tenants",
                "req/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "errors",
                "bytes/resp",
                "server CPU ms/req",
                "PostgreSQL CPU ms/req",
                "x floor CPU",
                "/ floor req/s",
            ],
            rows,
            "lllrrrrrrrrrr",
        )
    )

    rows = []
    for phase in (small, large):
        hz, bw, bc = (
            load.get((phase, sc, c))
            for sc, c in (("healthz", "warm"), ("board", "warm"), ("board", "cold"))
        )
        rows.append(
            [
                f"board detail warm / /healthz (p50), {phase}",
                fmt(ratio(bw and bw["p50_ms"], hz and hz["p50_ms"]), 2),
            ]
        )
        rows.append(
            [
                f"board detail cold / warm (p50), {phase}",
                fmt(ratio(bc and bc["p50_ms"], bw and bw["p50_ms"]), 2),
            ]
        )
    for scenario in ENDPOINTS:
        for cache in ("warm", "cold"):
            a, b = load.get((large, scenario, cache)), load.get((small, scenario, cache))
            if a and b:
                label = ENDPOINTS[scenario] + (f" {cache}" if scenario not in NO_CACHE_LABEL else "")
                rows.append(
                    [
                        f"{label}: p50 at {large} / at {small}",
                        fmt(ratio(a["p50_ms"], b["p50_ms"]), 2),
                    ]
                )
    parts.append("### Ratios\n\n" + table(["ratio", "value"], rows))

    sql = results.get("sql", {}).get("endpoints", {})
    if sql:
        rows = []
        for scenario, row in sql.items():
            cells = [ENDPOINTS.get(scenario, scenario)]
            for cache in ("cold", "warm"):
                q = row[cache]
                cells += [
                    q["total"],
                    q.get("board_data", 0),
                    q.get("audit", 0),
                    q.get("public", 0),
                    q.get("other", 0),
                ]
            rows.append(cells)
        parts.append(
            "### SQL statements per request\n\n"
            "cold: caches flushed (query cache and host/user/role cache); warm: the same request again. "
            "`other` is transaction control (SAVEPOINT/RELEASE).\n\n"
            + table(
                [
                    "endpoint",
                    "cold: all",
                    "board data",
                    "audit",
                    "public",
                    "other",
                    "warm: all",
                    "board data",
                    "audit",
                    "public",
                    "other",
                ],
                rows,
            )
        )

    prov = results.get("provisioning")
    if prov:
        rows = []
        labels = {
            "pool": "from the pool",
            "empty": "from an empty pool",
            "plain": "plain migration (django-tenants save())",
        }
        for mode, label in labels.items():
            p = prov.get(mode)
            if p:
                served = ""
                if "from_pool" in p:
                    served = (
                        f"{p['from_pool']} from pool, {p['created_in_call']} created in the call"
                    )
                rows.append(
                    [
                        label,
                        p["n"],
                        fmt(p["p50_ms"]),
                        fmt(p["p95_ms"]),
                        fmt(p["p99_ms"]),
                        fmt(p["max_ms"]),
                        served,
                    ]
                )
        fill = prov.get("pool_fill", {})
        parts.append(
            "### Organization creation (in-process, `org_provision`)\n\n"
            + table(["how", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "served"], rows, "lrrrrrl")
            + f"\n\nPool filled beforehand with {fill.get('spares')} spares in {fill.get('seconds')} s "
            f"({fill.get('per_spare_ms')} ms per spare, background work) by `{fill.get('how')}`."
        )

    mem = results.get("memory", [])
    if mem:
        rows = []
        for snap in mem:
            w = [x.get("VmRSS", 0) / 1024 for x in snap["workers"]]
            b = [x.get("VmRSS", 0) / 1024 for x in snap["postgres_backends"]]
            a = [x.get("RssAnon", 0) / 1024 for x in snap["postgres_backends"]]
            rows.append(
                [
                    snap["phase"],
                    " / ".join(f"{x:.0f}" for x in w),
                    len(b),
                    fmt(max(b) if b else None, 0),
                    fmt(sum(b) / len(b) if b else None, 0),
                    fmt(max(a) if a else None, 0),
                    fmt(sum(a) / len(a) if a else None, 0),
                    fmt(snap["database_size_mb"], 0),
                    snap["pg_class_rows"],
                ]
            )
        parts.append(
            "### Memory after the load runs (warm server)\n\n"
            "RSS in MiB. A PostgreSQL backend's RSS includes the shared buffers it touched; "
            "`private` (RssAnon) is its own memory: catalog caches, plans.\n\n"
            + table(
                [
                    "tenants",
                    "granian workers RSS",
                    "PG backends",
                    "PG RSS max",
                    "PG RSS mean",
                    "PG private max",
                    "PG private mean",
                    "DB size MiB",
                    "pg_class rows",
                ],
                rows,
            )
        )

    seeding = results.get("seeding", [])
    if seeding:
        rows = []
        for sd in seeding:
            if "template" in sd:
                t = sd["template"]
                rows.append(
                    [
                        "template org: schema by migrations",
                        1,
                        fmt(t["template_schema_by_migrations_s"], 2),
                        "",
                    ]
                )
                rows.append(
                    [
                        "template org: board data via services (2 boards, 560 tasks)",
                        1,
                        fmt(t["template_data_via_services_s"], 2),
                        "",
                    ]
                )
            if "clones" in sd:
                c = sd["clones"]
                rows.append(
                    [
                        f"clones up to {sd['orgs']} orgs (pg_dump text + psql, {c.get('parallel_psql', 1)} at a time)",
                        c["added"],
                        fmt(c["total_s"], 1),
                        fmt(c["per_org_ms"], 0),
                    ]
                )
        wu = results.get("warmup", [])
        for w in wu:
            if w.get("how") == "http":
                what, count = (
                    "through HTTP: board per org, task filter per (org, user)",
                    w.get("requests"),
                )
            else:
                what, count = (
                    "in-process: query cache per org, auth cache per (org, user)",
                    w.get("users"),
                )
            rows.append([f"warm-up ({w['phase']}) {what}", count, fmt(w["seconds"], 1), ""])
        parts.append("### Seeding\n\n" + table(["step", "count", "seconds", "ms per org"], rows))

    fleet = results.get("fleet")
    if fleet:
        lines = []
        f = fleet.get("migrate_fleet_noop", {})
        if "seconds" in f:
            lines.append(
                f"- no-op `manage.py migrate_fleet --skip-shared` over {f['tenants']} tenants: "
                f"{f['seconds']:.1f} s (exit {f['exit']}); {f.get('summary', '')}"
            )
        else:
            lines.append(f"- no-op `migrate_fleet`: {f.get('skipped', 'not run')}")
        g = fleet.get("fleet_migrations_script", {})
        if "seconds" in g:
            lines.append(
                f"- `bench/fleet_migrations.py {' '.join(g.get('args', []))}`: {g['seconds']:.1f} s in all "
                f"(exit {g['exit']}); its table:\n\n```\n"
                + "\n".join(g.get("stdout_tail", [])[-8:])
                + "\n```"
            )
        else:
            lines.append(f"- `bench/fleet_migrations.py`: {g.get('skipped') or g}")
        parts.append("### Fleet operations\n\n" + "\n".join(lines))

    etags = results.get("etag", [])
    if etags:
        lines = []
        for e in etags:
            what = f"first GET {e['first_status']}, {e['first_bytes']} bytes ({e['content_encoding'] or 'identity'})"
            if e.get("etag"):
                what += f"; ETag {e['etag']}; the same GET with If-None-Match: {e['status']}"
            else:
                what += "; no ETag sent"
            lines.append(f"- {e['phase']}: {what}")
        parts.append("### Warm board detail: ETag check\n\n" + "\n".join(lines))

    rows = [[name, verdict, measured] for name, verdict, measured in issue_targets(results)]
    parts.append(
        f"### Targets of issue 13 (server CPU per request, {large}, "
        f"granian --interface {s.get('interface', 'asgi')})\n\n"
        + table(["target", "result", "measured"], rows, "lll")
    )
    rows = [[name, verdict, measured] for name, verdict, measured in targets(results)]
    parts.append("### Other targets of the suite\n\n" + table(["target", "result", "measured"], rows, "lll"))
    parts.append(peers(results))
    body = "\n\n".join(parts)
    return (
        "\n======== BEGIN Markdown for docs/BENCHMARKS.md ========\n\n"
        + body
        + "\n\n======== END Markdown ========\n"
    )


def peers(results: dict) -> str:
    """Published figures of peers next to this run's floor and GET /org (large scale)."""
    load = _load(results)
    _, large = _phases(results)
    s = results["settings"]
    rows = []
    for scenario in ("floor", "org"):
        r = load.get((large, scenario, "warm"))
        if r:
            rows.append(
                [
                    f"TaskHub {ENDPOINTS[scenario]}",
                    fmt(r["rps"], 0),
                    f"this run: {results['machine']['cores']} cores shared by server, PostgreSQL, Redis and "
                    f"wrk; granian --interface {s.get('interface', 'asgi')}, {s['server_workers']} workers, "
                    f"wrk -c{s['connections']}",
                    "measured (bench/run)",
                ]
            )
    for p in PEERS:
        rows.append([p["who"], f"{p['req_s']:,}", p["conditions"], p["source"]])
    return (
        "### Peers (published figures; other machines and loads)\n\n"
        "Quoted as published, with their conditions; not re-measured here. Hardware, client and "
        "request differ, so compare orders of magnitude, not ratios.\n\n"
        + table(["what", "req/s", "conditions", "source"], rows, "lrll")
    )


def compare(before: dict, after: dict) -> str:
    """Server and PostgreSQL CPU per request and req/s of two runs, side by side (large scale)."""
    lb, la = _load(before), _load(after)
    _, large_b = _phases(before)
    _, large_a = _phases(after)
    ib, ia = before["settings"].get("interface", "asgi"), after["settings"].get("interface", "asgi")
    rows = []
    for scenario in ENDPOINTS:
        for cache in ("warm", "cold"):
            b, a = lb.get((large_b, scenario, cache)), la.get((large_a, scenario, cache))
            if not (b or a):
                continue
            cb = b and b["cpu_ms_per_request"]
            ca = a and a["cpu_ms_per_request"]
            rows.append(
                [
                    ENDPOINTS[scenario] + (f" {cache}" if scenario not in NO_CACHE_LABEL else ""),
                    fmt(cb and cb["server"], 2),
                    fmt(ca and ca["server"], 2),
                    fmt(ratio(cb and cb["server"], ca and ca["server"]), 1),
                    fmt(cb and cb["postgres"], 2),
                    fmt(ca and ca["postgres"], 2),
                    fmt(b and b["rps"], 0),
                    fmt(a and a["rps"], 0),
                ]
            )
        if scenario == "board_after_write":
            fb, fa = first_read(lb, large_b), first_read(la, large_a)
            if fb or fa:
                rows.append(
                    [
                        FIRST_READ,
                        fmt(fb and fb["server"], 2),
                        fmt(fa and fa["server"], 2),
                        fmt(ratio(fb and fb["server"], fa and fa["server"]), 1),
                        fmt(fb and fb["postgres"], 2),
                        fmt(fa and fa["postgres"], 2),
                        "",
                        "",
                    ]
                )
    head = (
        f"Before: `{before['command']}` ({before['started_at']}, commit {before['machine']['git_commit']}, "
        f"granian --interface {ib}); after: `{after['command']}` ({after['started_at']}, commit "
        f"{after['machine']['git_commit']}, granian --interface {ia}). {large_a}; `gain` = before / after "
        "server CPU per request.\n\n"
    )
    return (
        "### Before / after\n\n"
        + head
        + table(
            [
                "endpoint",
                "server ms/req before",
                "after",
                "gain",
                "PostgreSQL ms/req before",
                "after",
                "req/s before",
                "after",
            ],
            rows,
        )
    )


def main() -> None:
    args = sys.argv[1:]
    if len(args) == 2:
        before, after = (json.loads(Path(p).read_text()) for p in args)
        print(compare(before, after))
        return
    path = Path(args[0] if args else Path(__file__).parent / "results" / "latest" / "results.json")
    print(render(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
