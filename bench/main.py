"""The benchmark driver that bench/run starts (see docs/BENCHMARKS.md).

It expects the environment bench/run exports: DATABASE_URL (the bench
database, created and emptied by bench/run), REDIS_URL (the bench Redis
database), SECRET_KEY, PG_BIN. Steps:

1. seed 10 organizations; serve the stack's floor (bench/floor: a bare Django
   view) and measure it; serve the API with granian (`--interface wsgi` by
   default, `asgi` for the former design; 2 workers, production settings, DB
   pool on); load every scenario with wrk; then a second server with
   CACHEOPS_ENABLED=0 RESPONSE_CACHE_ENABLED=0 for the cold reads;
2. grow to N organizations (1,000; `--orgs`) and do the same;
3. SQL statements per request, cold and warm (in-process, bench/sql_counts.py);
4. organization creation from the pool, from an empty pool and by plain
   migration (bench/provision.py, in a database of its own);
5. fleet migration: a no-op `manage.py migrate_fleet` over the N tenants,
   and bench/fleet_migrations.py when it exists;
6. tables, targets and a Markdown block (bench/report.py); the raw results go
   to bench/results/<stamp>-<mode>/results.json.
"""

import argparse
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import procstat
import report
from _common import ROOT, log, write_json

BENCH = ROOT / "bench"
PY = sys.executable

READ_SCENARIOS = ("healthz", "org", "board", "tasks")
# board_write alone, then the same writes each followed by a read of the board
# (board_after_write): the difference is the cost of a first read after a write.
WRITE_SCENARIOS = ("create", "move", "board_write", "board_after_write")
COLD_SCENARIOS = ("board", "tasks")
INTERFACES = ("wsgi", "asgi")


def api_app(interface: str) -> str:
    return f"platform_core.{interface}:application"


def floor_app(interface: str) -> str:
    return f"bench.floor.{interface}:application"


class Stop(Exception):
    pass


def _on_signal(signum, frame):
    raise Stop(f"signal {signum}")


# --- processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(**extra) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_ENV="production",
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",
        ACCESS_TOKEN_SECONDS="86400",  # the load runs reuse tokens minted by the seeder
        # A few users drive the whole load: limits counted (the Redis round trip is measured), never hit.
        API_RATE_LIMIT="100000000",
        API_ROOT_RATE_LIMIT="100000000",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_script(args: list[str], *, env: dict, timeout: float, log_path: Path) -> dict:
    """Run a bench script; its last stdout line is JSON."""
    with open(log_path, "a") as err:
        out = subprocess.run(
            [PY, *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            timeout=timeout,
        )
    if out.returncode != 0:
        raise RuntimeError(f"{args[0]} failed (exit {out.returncode}); see {log_path}")
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1])


class Server:
    """granian serving `app` (the API: platform_core.wsgi or .asgi; or the floor) with
    the given interface and workers, on a free loopback port."""

    def __init__(
        self,
        *,
        name: str,
        env: dict,
        workers: int,
        log_dir: Path,
        interface: str,
        app: str,
        probe: str = "/healthz",
    ):
        self.name, self.env, self.workers = name, env, workers
        self.interface, self.app, self.probe = interface, app, probe
        self.port = free_port()
        self.log_path = log_dir / f"server-{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Server":
        cmd = [
            str(Path(PY).parent / "granian"),
            "--interface",
            self.interface,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            # as ops/run: API_THREADS threads per WSGI worker (granian's default is hundreds)
            *(["--blocking-threads", os.environ.get("API_THREADS", "4")] if self.interface == "wsgi" else []),
            self.app,
        ]
        self.log_file = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server {self.name} exited ({self.proc.returncode}); see {self.log_path}"
                )
            try:
                req = urllib.request.Request(f"{self.url}{self.probe}", headers={"Host": "localhost"})
                with urllib.request.urlopen(req, timeout=2) as resp:
                    if resp.status == 200 and len(self.worker_pids()) >= self.workers:
                        return self
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(
            f"server {self.name} did not answer {self.probe} in 90 s; see {self.log_path}"
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        return procstat.descendants(self.proc.pid) if self.proc else []

    def all_pids(self) -> list[int]:
        return [self.proc.pid, *self.worker_pids()] if self.proc else []

    def stop(self) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        pgid = self.proc.pid  # its own session and process group (start_new_session)
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            log(f"server {self.name} did not stop in 15 s: SIGKILL")
        try:
            os.killpg(pgid, signal.SIGKILL)  # stragglers of the group, if any
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self.log_file.close()


def drain(server: Server, quiet_s: float = 0.5, max_s: float = 20.0) -> None:
    """Wait until the workers stop burning CPU: wrk leaves requests in flight when it
    stops, and they would spill into the next run (and granian 2.8 workers stopped
    with requests in flight did not exit)."""
    deadline = time.monotonic() + max_s
    pids = server.worker_pids()
    last = sum(procstat.cpu_seconds(p) for p in pids)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = sum(procstat.cpu_seconds(p) for p in pids)
        if now - last < 0.02:
            return
        last = now


def prime_db_pool(server: Server, connections: int) -> None:
    """`connections` concurrent GET /readyz, three times: the workers' DB pools open
    the connections the load will use before a measured run, not during it."""
    from concurrent.futures import ThreadPoolExecutor

    def ready(_):
        req = urllib.request.Request(f"{server.url}/readyz", headers={"Host": "localhost"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                resp.read()
        except OSError:
            pass

    with ThreadPoolExecutor(max_workers=connections) as pool:
        list(pool.map(ready, range(3 * connections)))


# --- PostgreSQL / Redis probes ----------------------------------------------------------------


def pg_backends() -> list[int]:
    """Client backends connected to the bench database (the servers' pools)."""
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        rows = conn.execute(
            "select pid from pg_stat_activity where datname = current_database() "
            "and backend_type = 'client backend' and pid <> pg_backend_pid()"
        ).fetchall()
    return [r[0] for r in rows]


def pg_scalar(sql: str):
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        return conn.execute(sql).fetchone()[0]


def redis_info() -> dict:
    import redis

    return redis.Redis.from_url(os.environ["REDIS_URL"]).info("server")


def flush_bench_redis() -> None:
    """Empty the bench Redis databases (queues and caches) and nothing else."""
    import redis

    queue_url = os.environ["REDIS_URL"]
    base, _, db = queue_url.rpartition("/")
    for url in (queue_url, f"{base}/{int(db) + 1}"):
        redis.Redis.from_url(url).flushdb()


# --- load ---------------------------------------------------------------------------------------


class Loader:
    def __init__(self, *, opts, targets: Path, results: dict, log_dir: Path):
        self.opts, self.targets, self.results, self.log_dir = opts, targets, results, log_dir
        self.redis_pid = int(redis_info().get("process_id", 0))

    def wrk(self, server: Server, scenario: str, *, duration: float, limit: int = 0) -> dict:
        cmd = [
            "wrk",
            "-t1",
            f"-c{self.opts.connections}",
            f"-d{int(duration)}s",
            "--timeout",
            "10s",
            "-s",
            str(BENCH / "scenario.lua"),
            server.url,
            "--",
            scenario,
            str(self.targets),
            str(limit),
            self.opts.accept_encoding or "-",
        ]
        # The API workers' CPU (granian's supervisor process only forks and waits).
        server_pids = server.worker_pids()
        pg_before = {pid: procstat.cpu_seconds(pid) for pid in pg_backends()}
        srv_before = sum(procstat.cpu_seconds(p) for p in server_pids)
        redis_before = procstat.cpu_seconds(self.redis_pid)
        busy0, total0 = procstat.machine_cpu()
        rusage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        load0 = procstat.loadavg()
        t0 = time.monotonic()
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
        wall = time.monotonic() - t0
        rusage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy1, total1 = procstat.machine_cpu()
        srv_after = sum(procstat.cpu_seconds(p) for p in server_pids)
        pg_after_pids = pg_backends()
        pg_cpu = sum(procstat.cpu_seconds(p) - pg_before.get(p, 0.0) for p in pg_after_pids)
        redis_cpu = procstat.cpu_seconds(self.redis_pid) - redis_before
        if out.returncode != 0:
            raise RuntimeError(f"wrk {scenario} failed: {out.stderr.strip()[:500]}")
        data = json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])
        seconds = data["duration_us"] / 1e6
        n = max(data["requests"], 1)
        sock = data["socket_errors"]
        wrk_cpu = (rusage1.ru_utime - rusage0.ru_utime) + (rusage1.ru_stime - rusage0.ru_stime)
        machine_busy = busy1 - busy0
        ours = (srv_after - srv_before) + pg_cpu + redis_cpu + wrk_cpu
        cores = os.cpu_count() or 1
        srv_cpu = srv_after - srv_before
        result = {
            "scenario": scenario,
            "interface": server.interface,
            "requests": data["requests"],
            "bytes_per_response": round(data["bytes"] / n),
            "reads": data.get("reads", 0),
            "writes": data.get("writes", 0),
            "seconds": round(seconds, 2),
            "rps": round(data["requests"] / seconds, 1) if seconds else 0,
            "p50_ms": data["latency_us"]["p50"] / 1000,
            "p90_ms": data["latency_us"]["p90"] / 1000,
            "p95_ms": data["latency_us"]["p95"] / 1000,
            "p99_ms": data["latency_us"]["p99"] / 1000,
            "max_ms": data["latency_us"]["max"] / 1000,
            "non2xx": data["non2xx"],
            "socket_errors": sum(sock.values()),
            "errors": data["non2xx"]
            + sock["connect"]
            + sock["read"]
            + sock["write"]
            + sock["timeout"],
            "statuses": data["statuses"],
            "first_error": data["first_error"],
            "cpu_s": {
                "server": round(srv_cpu, 4),
                "postgres": round(pg_cpu, 4),
                "redis": round(redis_cpu, 4),
            },
            "cpu_ms_per_request": {
                "server": round(srv_cpu * 1000 / n, 3),
                "postgres": round(pg_cpu * 1000 / n, 3),
                "redis": round(redis_cpu * 1000 / n, 3),
                "wrk": round(wrk_cpu * 1000 / n, 3),
            },
            "machine": {
                "busy_cores": round(machine_busy / wall, 2) if wall else None,
                "other_load_cores": round(max(0.0, machine_busy - ours) / wall, 2)
                if wall
                else None,
                "cores": cores,
                "loadavg_before": load0,
                "loadavg_after": procstat.loadavg(),
            },
        }
        return result

    def prewarm(self, env: dict, shards: int = 2, auth_only: bool = False) -> dict:
        """bench/prewarm.py in `shards` processes at once; merged counts."""
        cmd = [PY, "bench/prewarm.py", "--targets", str(self.targets), "--shards", str(shards)]
        if auth_only:
            cmd.append("--auth-only")
        with open(self.log_dir / "prewarm.log", "a") as err:
            procs = [
                subprocess.Popen(
                    [*cmd, "--shard", str(k)],
                    cwd=ROOT,
                    env={**env, "DB_POOL": "0", "CONN_MAX_AGE": "600"},
                    stdout=subprocess.PIPE,
                    stderr=err,
                    text=True,
                )
                for k in range(shards)
            ]
            outs = [p.communicate(timeout=1800)[0] for p in procs]
        merged = {
            "how": "in-process",
            "orgs": 0,
            "users": 0,
            "verify_sql": 0,
            "errors": [],
            "verified": True,
        }
        for proc, out in zip(procs, outs, strict=True):
            lines = [line for line in out.splitlines() if line.startswith("{")]
            if proc.returncode != 0 or not lines:
                merged["verified"] = False
                merged["errors"].append(f"prewarm exit {proc.returncode}; see prewarm.log")
                continue
            part = json.loads(lines[-1])
            merged["seconds"] = max(merged.get("seconds", 0), part["seconds"])
            for key in ("orgs", "users", "verify_sql"):
                merged[key] += part[key]
            merged["errors"] += part["errors"]
            merged["verified"] &= part["verified"]
        return merged

    def warmup(self, server: Server, timeout: float = 900) -> dict:
        """One pass: each organization's board, the task filter per (org, user); counts only."""
        cmd = [
            "wrk",
            "-t1",
            f"-c{self.opts.connections}",
            f"-d{int(timeout)}s",
            "--timeout",
            "10s",
            "-s",
            str(BENCH / "scenario.lua"),
            server.url,
            "--",
            "warm",
            str(self.targets),
            "0",
            self.opts.accept_encoding or "-",
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 60)
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        if out.returncode != 0 or not lines:
            raise RuntimeError(f"wrk warm-up failed: {out.stderr.strip()[:500]}")
        data = json.loads(lines[0])
        if data["non2xx"]:
            log(
                f"  warm-up: {data['non2xx']} non-2xx responses, first: {data['first_error'][:200]}"
            )
        return {
            "requests": data["requests"],
            "errors": data["non2xx"],
            "first_error": data["first_error"],
        }

    def measured(self, server: Server, scenario: str, *, phase: str, cache: str) -> dict:
        r = self.wrk(server, scenario, duration=self.opts.duration)
        r.update(phase=phase, cache=cache)
        self.results["load"].append(r)
        flag = "" if r["errors"] == 0 else f"  ERRORS {r['errors']}: {r['first_error'][:120]}"
        if r["reads"] or r["writes"]:
            flag += f"  ({r['reads']} reads, {r['writes']} writes)"
        log(
            f"  {scenario:17} {cache:5} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.2f}  p95 {r['p95_ms']:7.2f}  "
            f"p99 {r['p99_ms']:7.2f} ms  srv {r['cpu_ms_per_request']['server']:.2f} ms/req  "
            f"other load {r['machine']['other_load_cores']} cores{flag}"
        )
        return r

    def server(self, name: str, env: dict, *, floor: bool = False) -> Server:
        interface = self.opts.interface
        return Server(
            name=name,
            env=env,
            workers=self.opts.workers,
            log_dir=self.log_dir,
            interface=interface,
            app=floor_app(interface) if floor else api_app(interface),
            probe="/hello" if floor else "/healthz",
        )

    def floor(self, n_orgs: int, env: dict) -> None:
        """The stack's floor: bench/floor's hello view under the same granian command."""
        label = f"{n_orgs} orgs"
        log(f"phase {label}: the floor (bench/floor, granian --interface {self.opts.interface})")
        server = self.server(f"{n_orgs}-floor", env, floor=True)
        try:
            server.start()
            self.wrk(server, "floor", duration=1)  # start-up costs out of the figure; not measured
            drain(server)
            self.measured(server, "floor", phase=label, cache="warm")
        finally:
            drain(server)
            server.stop()

    def etag_check(self, server: Server, label: str) -> dict:
        """One warm GET of a board, then the same request with If-None-Match set to the
        ETag it returned: a matching ETag must answer 304 (n/a without an ETag)."""
        with open(self.targets) as f:
            host, _role, token, board, *_ = f.readline().rstrip("\n").split("\t")
        headers = {"Host": host, "Authorization": f"Bearer {token}"}
        if self.opts.accept_encoding:
            headers["Accept-Encoding"] = self.opts.accept_encoding
        path = f"/api/v1/boards/{board}"
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            conn.request("GET", path, headers=headers)
            first = conn.getresponse()
            body = first.read()
            etag = first.getheader("ETag")
            out = {
                "phase": label,
                "first_status": first.status,
                "first_bytes": len(body),
                "content_encoding": first.getheader("Content-Encoding"),
                "etag": etag,
                "status": None,
            }
            if etag:
                conn.request("GET", path, headers={**headers, "If-None-Match": etag})
                second = conn.getresponse()
                out.update(status=second.status, bytes=len(second.read()))
        finally:
            conn.close()
        log(
            f"  ETag check: first {out['first_status']} ({out['first_bytes']} bytes, "
            f"{out['content_encoding'] or 'identity'}), ETag {etag or 'none'}, "
            f"If-None-Match -> {out['status'] or 'n/a'}"
        )
        self.results.setdefault("etag", []).append(out)
        return out

    def phase(self, n_orgs: int, env: dict) -> None:
        label = f"{n_orgs} orgs"
        self.floor(n_orgs, env)
        log(f"phase {label}: warm server (caches on)")
        server = self.server(f"{n_orgs}-warm", env)
        try:
            server.start()
            lines = sum(1 for _ in open(self.targets))
            t0 = time.monotonic()
            warm = self.prewarm(env)
            if not warm["verified"] and warm["orgs"]:
                # Usually the 300 s host/user/session/role entries of the first
                # organizations expired while a busy machine warmed the rest.
                log(
                    f"  in-process warm-up ({warm.get('seconds')} s) not verified "
                    f"({warm['verify_sql']} SQL): refreshing the auth entries"
                )
                again = self.prewarm(env, auth_only=True)
                warm = {**warm, "verified": again["verified"], "verify_sql": again["verify_sql"]}
                warm["errors"] = again["errors"]
            if warm["verified"]:
                log(
                    f"  warm-up in-process: {warm['orgs']} organizations, {warm['users']} (org, user) pairs "
                    f"in {time.monotonic() - t0:.1f} s; checked: zero SQL on a warm request"
                )
            else:
                log(
                    f"  in-process warm-up ({warm.get('seconds')} s) not verified "
                    f"({warm['verify_sql']} SQL, {warm['errors']}): "
                    "warming through HTTP instead"
                )
                warm = {**self.warmup(server), "how": "http"}
                log(
                    f"  warm-up: {warm['requests']} requests (board per org, task filter per (org, user) "
                    f"of {lines}) in {time.monotonic() - t0:.1f} s"
                )
            if time.monotonic() - t0 > 120:
                # The auth entries live 300 s: the first ones would expire during the runs.
                t1 = time.monotonic()
                again = self.prewarm(env, auth_only=True)
                warm["auth_refresh_s"] = round(time.monotonic() - t1, 1)
                log(
                    f"  auth entries refreshed in {warm['auth_refresh_s']} s "
                    f"(verified: {again['verified']}, {again['verify_sql']} SQL)"
                )
            self.results["warmup"].append(
                {"phase": label, "seconds": round(time.monotonic() - t0, 1), **warm}
            )
            # Start-up out of the figures (each worker thread's first requests, the
            # DB pool's connections, each process's near cache and verified-token
            # LRU: about three passes over every (organization, user) pair, as a
            # server that has been up a while has them): warm reads and a few
            # concurrent /readyz (SELECT 1); not measured.
            self.wrk(server, "org", duration=min(15.0, max(1.0, 3 * 3 * n_orgs / 1000)))
            prime_db_pool(server, self.opts.connections)
            for scenario in READ_SCENARIOS + WRITE_SCENARIOS:
                drain(server)
                self.measured(server, scenario, phase=label, cache="warm")
                if scenario == "board":
                    self.etag_check(server, label)
            self.results["memory"].append(self.memory(server, label))
        finally:
            drain(server)
            server.stop()

        log(f"phase {label}: cold server (CACHEOPS_ENABLED=0 RESPONSE_CACHE_ENABLED=0)")
        server = self.server(
            f"{n_orgs}-cold", {**env, "CACHEOPS_ENABLED": "0", "RESPONSE_CACHE_ENABLED": "0"}
        )
        try:
            server.start()
            self.wrk(server, "board", duration=1)  # fill the connection pools; not measured
            prime_db_pool(server, self.opts.connections)
            for scenario in COLD_SCENARIOS:
                drain(server)
                self.measured(server, scenario, phase=label, cache="cold")
        finally:
            drain(server)
            server.stop()

    def memory(self, server: Server, label: str) -> dict:
        workers = [{"pid": p, **procstat.memory_kib(p)} for p in server.worker_pids()]
        backends = [{"pid": p, **procstat.memory_kib(p)} for p in pg_backends()]
        snap = {
            "phase": label,
            "workers": workers,
            "postgres_backends": backends,
            "database_size_mb": round(
                pg_scalar("select pg_database_size(current_database())") / 2**20, 1
            ),
            "pg_class_rows": pg_scalar("select count(*) from pg_class"),
        }
        wr = [w.get("VmRSS", 0) for w in workers]
        pb = [b.get("VmRSS", 0) for b in backends]
        pa = [b.get("RssAnon", 0) for b in backends]
        log(
            f"  memory: {len(wr)} workers RSS max {max(wr or [0]) / 1024:.0f} MiB; "
            f"{len(pb)} PostgreSQL backends RSS max {max(pb or [0]) / 1024:.0f} MiB "
            f"(private max {max(pa or [0]) / 1024:.0f} MiB)"
        )
        return snap


# --- steps ----------------------------------------------------------------------------------------


def machine_info(opts) -> dict:
    def cmd(*args) -> str:
        try:
            return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return ""

    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    from importlib.metadata import version

    versions = {
        pkg: version(pkg)
        for pkg in (
            "Django",
            "django-tenants",
            "django-ninja",
            "django-cacheops",
            "psycopg",
            "psycopg-pool",
            "granian",
            "redis",
        )
    }
    versions["python"] = platform.python_version()
    versions["postgresql"] = pg_scalar("show server_version")
    versions["redis-server"] = redis_info().get("redis_version")
    versions["wrk"] = (cmd("wrk", "-v").splitlines() or [""])[0].split(" [")[0]
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "cpu_model": model,
        "kernel": platform.release(),
        "os": cmd("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"),
        "versions": versions,
        "git_commit": cmd("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"),
        "git_dirty": bool(
            cmd("git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no")
        ),
        "loadavg_at_start": procstat.loadavg(),
    }


def sql_counts(env: dict, run_dir: Path) -> dict:
    log("SQL statements per request (in-process, cold and warm)")
    return run_script(
        ["bench/sql_counts.py", "--state", str(run_dir)],
        env={**env, "DB_POOL": "0"},
        timeout=300,
        log_path=run_dir / "sql_counts.log",
    )


def provisioning(opts, env: dict, run_dir: Path) -> dict:
    db = os.environ["BENCH_PROV_DATABASE_URL"]
    log(f"provisioning: {opts.creations} creations per mode, in its own database")
    return run_script(
        ["bench/provision.py", "--n", str(opts.creations)],
        env={**env, "DATABASE_URL": db, "DB_POOL": "0"},
        timeout=1800,
        log_path=run_dir / "provision.log",
    )


def fleet(opts, env: dict, run_dir: Path, n_orgs: int) -> dict:
    out: dict = {}
    log(f"fleet: no-op `manage.py migrate_fleet` over {n_orgs} tenants")
    has_cmd = (
        subprocess.run(
            [PY, "manage.py", "help", "migrate_fleet"], cwd=ROOT, env=env, capture_output=True
        ).returncode
        == 0
    )
    if has_cmd:
        report_path = run_dir / "migrate_fleet.json"
        t0 = time.monotonic()
        proc = subprocess.run(
            [PY, "manage.py", "migrate_fleet", "--skip-shared", "--report", str(report_path)],
            cwd=ROOT,
            env={**env, "DB_POOL": "0"},
            capture_output=True,
            text=True,
            timeout=opts.fleet_timeout,
        )
        wall = time.monotonic() - t0
        (run_dir / "migrate_fleet.log").write_text(proc.stdout + proc.stderr)
        out["migrate_fleet_noop"] = {
            "tenants": n_orgs,
            "seconds": round(wall, 2),
            "exit": proc.returncode,
            "summary": (proc.stderr.strip().splitlines() or [""])[-1][:300],
        }
        log(f"  {wall:.1f} s (exit {proc.returncode})")
    else:
        out["migrate_fleet_noop"] = {"skipped": "manage.py migrate_fleet not found"}
        log("  skipped: manage.py migrate_fleet not found")

    script = BENCH / "fleet_migrations.py"
    if script.exists():
        # Its own scratch database (taskhub_bench_fleet, dropped by it);
        # quick mode: 100 tenants, full: its defaults (100 and 1000).
        url = urlparse(os.environ["DATABASE_URL"])
        args = [
            "--db",
            "taskhub_bench_fleet",
            "--port",
            str(url.port or 5432),
            "--redis-url",
            os.environ["REDIS_URL"],
        ]
        if opts.quick:
            args += ["--tenants", "100"]
        log(f"fleet: bench/fleet_migrations.py {' '.join(args)}")
        t0 = time.monotonic()
        try:
            proc = subprocess.run(
                [PY, str(script), *args],
                cwd=ROOT,
                env={**env, "DB_POOL": "0"},
                capture_output=True,
                text=True,
                timeout=opts.fleet_timeout,
            )
            (run_dir / "fleet_migrations.log").write_text(
                proc.stdout + "\n--- stderr\n" + proc.stderr
            )
            parsed = None
            for line in reversed(proc.stdout.splitlines()):
                if line.strip().startswith("{"):
                    try:
                        parsed = json.loads(line)
                        break
                    except ValueError:
                        pass
            out["fleet_migrations_script"] = {
                "args": args,
                "seconds": round(time.monotonic() - t0, 2),
                "exit": proc.returncode,
                "json": parsed,
                "stdout_tail": proc.stdout.strip().splitlines()[-15:],
            }
            print(proc.stdout, file=sys.stderr)
        except subprocess.TimeoutExpired:
            out["fleet_migrations_script"] = {"timeout_s": opts.fleet_timeout}
    else:
        out["fleet_migrations_script"] = {"skipped": "bench/fleet_migrations.py not present yet"}
        log("  bench/fleet_migrations.py not present: skipped")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description="TaskHub benchmarks (use bench/run)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--orgs", type=int, help="organizations at the large scale (default 1000)")
    parser.add_argument("--small-orgs", type=int, default=10)
    parser.add_argument("--duration", type=float, help="seconds per load run (quick 5, full 15)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--interface",
        choices=INTERFACES,
        default="wsgi",
        help="granian interface of the API and the floor: wsgi (platform_core.wsgi, the "
        "design for plain API calls) or asgi (platform_core.asgi, the former design); default wsgi",
    )
    parser.add_argument(
        "--accept-encoding",
        default="gzip",
        help="Accept-Encoding sent on every GET, as clients do (default gzip; '' for none)",
    )
    parser.add_argument(
        "--creations",
        type=int,
        help="organizations created per provisioning mode (quick 20, full 60)",
    )
    parser.add_argument("--fleet-timeout", type=float, default=900)
    parser.add_argument(
        "--command", default="bench/run", help="how this run was started (for the report)"
    )
    opts = parser.parse_args()
    quick = opts.quick
    opts.orgs = opts.orgs or 1000
    opts.duration = opts.duration or (5 if quick else 15)
    opts.creations = opts.creations or (20 if quick else 60)

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = BENCH / "results" / f"{stamp}-{'quick' if quick else 'full'}-{opts.interface}"
    run_dir.mkdir(parents=True, exist_ok=True)
    latest = BENCH / "results" / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(run_dir.name)
    log(f"results: {run_dir}")

    started = time.monotonic()
    results: dict = {
        "mode": "quick" if quick else "full",
        "command": opts.command,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            "orgs_small": opts.small_orgs,
            "orgs_large": opts.orgs,
            "duration_s": opts.duration,
            "connections": opts.connections,
            "server_workers": opts.workers,
            "wrk_threads": 1,
            "creations_per_mode": opts.creations,
            "users_per_org": 3,
            "board": "10 lists x 50 tasks",
            "interface": opts.interface,
            "accept_encoding": opts.accept_encoding,
            "server": f"granian --interface {opts.interface} --workers {opts.workers} "
            f"{api_app(opts.interface)}, DJANGO_ENV=production, DEBUG=0, DB pool on; "
            f"floor: the same command with {floor_app(opts.interface)}",
        },
        "machine": machine_info(opts),
        "seeding": [],
        "warmup": [],
        "load": [],
        "memory": [],
    }
    env = base_env()
    try:
        flush_bench_redis()
        loader = None
        for n_orgs in (opts.small_orgs, opts.orgs):
            log(f"seeding {n_orgs} organizations")
            seeded = run_script(
                ["bench/seed.py", "--orgs", str(n_orgs), "--state", str(run_dir)],
                env={**env, "DB_POOL": "0"},
                timeout=3600,
                log_path=run_dir / "seed.log",
            )
            results["seeding"].append(seeded)
            log(
                f"  seeded in {seeded['total_s']} s: {json.dumps(seeded.get('clones') or seeded.get('template'))}"
            )
            loader = loader or Loader(
                opts=opts, targets=run_dir / "targets.tsv", results=results, log_dir=run_dir
            )
            loader.phase(n_orgs, {**env, "DB_POOL": "1"})
            write_json(run_dir / "results.json", results)
        results["sql"] = sql_counts(env, run_dir)
        write_json(run_dir / "results.json", results)
        results["provisioning"] = provisioning(opts, env, run_dir)
        write_json(run_dir / "results.json", results)
        results["fleet"] = fleet(opts, env, run_dir, opts.orgs)
    except (KeyboardInterrupt, Stop) as exc:
        log(f"interrupted ({exc.__class__.__name__}); partial results kept")
        results["interrupted"] = True
    finally:
        results["elapsed_s"] = round(time.monotonic() - started, 1)
        results["machine"]["loadavg_at_end"] = procstat.loadavg()
        try:
            flush_bench_redis()
        except Exception:
            pass
        write_json(run_dir / "results.json", results)
        for leftover in ("template.sql",):
            # 500+ KiB per run; keep it only for debugging runs.
            if not os.environ.get("BENCH_KEEP_TEMPLATE") and (run_dir / leftover).exists():
                (run_dir / leftover).unlink()
    print(report.render(results))
    shutil.copy(run_dir / "results.json", BENCH / "results" / "last-results.json")
    log(f"raw results: {run_dir / 'results.json'}  (elapsed {results['elapsed_s']} s)")
    return 130 if results.get("interrupted") else 0


if __name__ == "__main__":
    sys.exit(main())
