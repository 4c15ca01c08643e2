"""Idle live subscribers on one live-server worker (granian ASGI, 1 process).

    python bench/live_idle.py --targets bench/results/latest/targets.tsv --streams 1000

Uses the database and Redis of a bench run (bench/run leaves them until the
next run; DATABASE_URL and REDIS_URL as bench/run exports them, or the
defaults below) and the (organization, user, board) rows of its targets.tsv:
stream i follows the board of pair i (round-robin over the pairs). Tokens
are minted here with this script's own signing key, which the server shares.

Prints: time to open the streams, the worker's memory (RSS) before and with
them open, its CPU while they sit idle (the per-stream re-check every
LIVE_RECHECK_SECONDS and the heartbeats), and the delivery latency of one
event published to every followed board (a PATCH per board would measure the
API instead: this publishes the way boards_changed does).
"""

import argparse
import asyncio
import base64
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, log, percentile

PY = sys.executable


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def _token(raw: str, key: str) -> str:
    import jwt

    claims = json.loads(base64.urlsafe_b64decode(raw.split(".")[1] + "=="))
    now = int(time.time())
    payload = {"token_type": "access", "exp": now + 3600, "iat": now, "jti": secrets.token_hex(16),
               "user_id": claims["user_id"], "sid": claims["sid"]}
    return jwt.encode(payload, key, algorithm="HS256")


async def _open(port: int, host: str, board: str, token: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /api/v1/boards/{board}/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    seen = b""
    while b": connected" not in seen:
        chunk = await asyncio.wait_for(reader.read(4096), 30)
        if not chunk:
            raise RuntimeError(f"stream closed: {seen[:300]!r}")
        seen += chunk
    return reader, writer


async def _wait_event(reader: asyncio.StreamReader, marker: bytes) -> float:
    seen = b""
    while marker not in seen:
        seen += await asyncio.wait_for(reader.read(65536), 30)
    return time.monotonic()


async def main_async(opts, pairs, port: int, key: str, worker: int) -> dict:
    import redis

    rss_before = _rss_kb(worker)
    started = time.monotonic()
    streams = []
    batch = 50
    for i in range(0, opts.streams, batch):
        chunk = [pairs[j % len(pairs)] for j in range(i, min(opts.streams, i + batch))]
        streams += await asyncio.gather(*(_open(port, h, b, _token(t, key)) for h, t, b in chunk))
    open_s = time.monotonic() - started
    await asyncio.sleep(3)
    rss_open = _rss_kb(worker)
    cpu0, t0 = _cpu_s(worker), time.monotonic()
    await asyncio.sleep(opts.idle)
    idle_cores = (_cpu_s(worker) - cpu0) / (time.monotonic() - t0)

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    boards = {}
    for j, (reader, _) in enumerate(streams):
        host, _, board = pairs[j % len(pairs)]
        boards.setdefault((host, board), []).append(reader)
    from platform_core.tenancy import resolve_host  # the schema of each host, as the app resolves it

    schemas = {}
    for host, _ in boards:
        schemas[host] = resolve_host(host).schema_name
    marker = f"bench-{secrets.token_hex(4)}"
    sent = time.monotonic()
    waits = [asyncio.create_task(_wait_event(r, marker.encode())) for readers in boards.values() for r in readers]
    for host, board in boards:
        payload = {"id": marker, "action": "bench.ping", "target_id": board}
        client.publish(f"live:{schemas[host]}:board:{board}", json.dumps(payload))
    arrived = await asyncio.gather(*waits)
    latencies = [a - sent for a in arrived]
    for _, writer in streams:
        writer.close()
    return {
        "streams": len(streams),
        "open_s": round(open_s, 2),
        "rss_before_mib": round(rss_before / 1024, 1),
        "rss_open_mib": round(rss_open / 1024, 1),
        "kib_per_stream": round((rss_open - rss_before) / max(1, len(streams)), 1),
        "idle_cpu_cores": round(idle_cores, 3),
        "idle_seconds": opts.idle,
        "delivery_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "delivery_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "delivery_max_ms": round(max(latencies) * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", default=str(ROOT / "bench/results/latest/targets.tsv"))
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle measurement")
    parser.add_argument("--port", type=int, default=28902)
    opts = parser.parse_args()

    pairs = []
    for line in Path(opts.targets).read_text().splitlines():
        cols = line.split("\t")
        pairs.append((cols[0], cols[2], cols[3]))  # host, token, board
    key = secrets.token_urlsafe(48)
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://taskhub:taskhub@127.0.0.1:25432/taskhub_bench"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:25379/14"),
        "DJANGO_ENV": "production", "SECRET_KEY": key, "JWT_SIGNING_KEY": key, "SECURE_SSL_REDIRECT": "0",
        "ACCESS_LOG": "0", "LOG_LEVEL": "WARNING", "LIVE_MAX_STREAMS_PER_USER": str(opts.streams),
        "DB_POOL_MAX": "20",
    }
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_ENV")})
    server = subprocess.Popen(
        [str(Path(PY).parent / "granian"), "--interface", "asgi", "--host", "127.0.0.1", "--port", str(opts.port),
         "--workers", "1", "platform_core.asgi:application"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        from proof.harness import wait_healthy

        problem = wait_healthy(f"http://127.0.0.1:{opts.port}", server, 60)
        if problem:
            raise SystemExit(f"live server {problem}")
        workers = _children(server.pid)
        worker = workers[0] if workers else server.pid
        from _common import django_setup

        django_setup()
        result = asyncio.run(main_async(opts, pairs, opts.port, key, worker))
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    log(f"live idle: {json.dumps(result)}")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
