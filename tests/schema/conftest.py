"""A real stack for the schema tests: a clone of the proof harness' migrated
cluster, its own Redis and granian (production settings), with organizations
`schema-a` and `schema-b` seeded (an owner and a member each)."""

from types import SimpleNamespace

import pytest

from proof.harness import Redis, Server, app_env, golden_cluster, seed_orgs


@pytest.fixture(scope="package")
def stack():
    golden = golden_cluster()
    pg, redis, server = golden.clone(), Redis(appendonly=False), None
    try:
        pg.start()
        redis.start()
        env = app_env(pg.url(), redis.url())
        orgs = seed_orgs(env, ["schema-a", "schema-b"], roles=["member"])
        server = Server(env, workers=1).start()
        yield SimpleNamespace(url=server.url, port=server.port, orgs=orgs, env=env)
    finally:
        if server is not None:
            server.stop()
        redis.destroy()
        pg.destroy()
        golden.destroy()


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's headless Chromium, installed by ops/lib.sh's ensure_chromium if missing."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        ["bash", "-c", 'source ops/lib.sh && ensure_chromium'],
        cwd=root, capture_output=True, text=True, timeout=900,
    )
    assert out.returncode == 0, f"could not install chromium:\n{out.stderr[-3000:]}"
    return out.stdout.strip().splitlines()[-1]
