"""Development defaults are safe (issue 11, findings 11 and 13).

Before: `ops/run` bound granian to 0.0.0.0, DEBUG defaulted to on outside
production (an organization host showed Django's debug 404 page listing the
URL patterns), SECRET_KEY fell back to a key published in settings.py, and
the default PostgreSQL port 54329 (Redis 63790) lay in Linux's ephemeral
port range, so PostgreSQL could fail to start at random.
"""

import ast
import os
import re
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EPHEMERAL = range(32768, 61000)


def _settings_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    for name in (
        "DJANGO_ENV",
        "DEBUG",
        "SECRET_KEY",
        "SECRET_KEY_FILE",
        "DATABASE_URL",
        "REDIS_URL",
        "CACHE_REDIS_URL",
    ):
        env.pop(name, None)
    env.update(DJANGO_SETTINGS_MODULE="platform_core.settings", PYTHONPATH=str(ROOT))
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _settings(code: str, **extra) -> str:
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings as s\n" + code],
        cwd=ROOT,
        env=_settings_env(**extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip()


# --- SECRET_KEY --------------------------------------------------------------------------


def test_settings_hold_no_secret_key():
    """No string literal in settings.py can become SECRET_KEY (the old public key is gone)."""
    source = (ROOT / "platform_core" / "settings.py").read_text()
    assert "dev-insecure" not in source
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", "") == "SECRET_KEY" for t in node.targets
        ):
            literals = [
                n.value
                for n in ast.walk(node.value)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            ]
            # only environment variable names, the empty default and the key file path
            assert set(literals) <= {"", "SECRET_KEY", "SECRET_KEY_FILE", ".data", "secret_key"}, literals


def test_an_unset_secret_key_is_generated_once_per_installation(tmp_path):
    key_file = tmp_path / "data" / "secret_key"
    first = _settings("print(s.SECRET_KEY)", SECRET_KEY_FILE=key_file)
    again = _settings("print(s.SECRET_KEY)", SECRET_KEY_FILE=key_file)
    other = _settings("print(s.SECRET_KEY)", SECRET_KEY_FILE=tmp_path / "other" / "secret_key")
    assert first == again == key_file.read_text().strip()
    assert len(first) >= 50 and other != first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # An explicit SECRET_KEY wins, and production refuses to start without one.
    assert (
        _settings("print(s.SECRET_KEY)", SECRET_KEY="k" * 60, SECRET_KEY_FILE=key_file) == "k" * 60
    )
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings as s; s.SECRET_KEY"],
        cwd=ROOT,
        env=_settings_env(DJANGO_ENV="production"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0 and "SECRET_KEY must be set" in out.stderr


def test_ops_keeps_the_generated_key_in_the_data_dir(tmp_path):
    out = subprocess.run(
        ["bash", "-c", 'source ops/lib.sh; ensure_secret_key; export_env; echo "$SECRET_KEY_FILE"'],
        cwd=ROOT,
        env={**_settings_env(), "DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    path = Path(out.stdout.strip().splitlines()[-1])
    assert path == tmp_path.resolve() / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(path.read_text().strip()) >= 50


# --- DEBUG -------------------------------------------------------------------------------


def test_debug_is_off_unless_asked_for():
    assert _settings("print(s.DEBUG)") == "False"
    assert _settings("print(s.DEBUG)", DJANGO_ENV="development") == "False"
    assert _settings("print(s.DEBUG)", DEBUG="1") == "True"


@pytest.mark.django_db
def test_no_debug_page_on_any_host_of_a_server_with_default_settings(world, tmp_path):
    """granian with the development defaults (no DJANGO_ENV, DEBUG or SECRET_KEY set), as
    ops/run starts it: unknown paths on the root host and an organization host answer the
    JSON envelope or a plain page, never Django's debug page with the URL patterns."""
    from django.conf import settings

    from proof.harness import Server, app_env

    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = app_env(url, settings.REDIS_URL, SECRET_KEY_FILE=tmp_path / "secret_key", DB_POOL="0")
    for name in ("DJANGO_ENV", "DEBUG", "SECRET_KEY"):
        env.pop(name, None)
    server = Server(env).start()
    try:
        import urllib.error
        import urllib.request

        for host in (world.a.host, world.b.host, settings.BASE_DOMAIN):
            for path in ("/nope", "/api/v1/nope", "/admin/nope/", "/static/nope.js"):
                req = urllib.request.Request(server.url + path, headers={"Host": host})
                try:
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        status, body, ctype = (
                            resp.status,
                            resp.read().decode(errors="replace"),
                            resp.headers.get("Content-Type", ""),
                        )
                except urllib.error.HTTPError as err:
                    status, body, ctype = (
                        err.code,
                        err.read().decode(errors="replace"),
                        err.headers.get("Content-Type", ""),
                    )
                where = f"{host}{path}: {status} {body[:200]!r}"
                assert (
                    "URLconf" not in body
                    and "urlpatterns" not in body
                    and "DEBUG = True" not in body
                ), where
                assert "Traceback" not in body, where
                if path.startswith("/admin/") and host == settings.BASE_DOMAIN:
                    assert status in (200, 301, 302, 404), where  # the admin's own login redirect
                    continue
                assert status == 404, where
                if not path.startswith("/admin/"):
                    assert ctype.startswith("application/json") and '"code"' in body, where
        # The docs page still works (static assets through whitenoise's finders).
        req = urllib.request.Request(
            server.url + "/api/v1/docs", headers={"Host": settings.BASE_DOMAIN}
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            page = resp.read().decode()
        asset = re.search(r'(/static/[^"\']+\.js)', page)
        assert asset, page[:500]
        req = urllib.request.Request(
            server.url + asset.group(1), headers={"Host": settings.BASE_DOMAIN}
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 200
        assert (tmp_path / "secret_key").exists()
    finally:
        server.stop()


# --- ops/run binds loopback; ports outside the ephemeral range -------------------------------


def test_ops_run_binds_loopback_by_default():
    script = (ROOT / "ops" / "run").read_text()
    assert re.search(r'^BIND_HOST="\$\{BIND_HOST:-127\.0\.0\.1\}"$', script, re.M)
    # The public port (nginx) listens on BIND_HOST; the app servers behind it on loopback only.
    assert "s|@BIND@|$BIND_HOST|g" in (ROOT / "ops" / "lib.sh").read_text()
    assert "listen @BIND@:@PORT@" in (ROOT / "ops" / "nginx.conf.template").read_text()
    assert script.count("--host 127.0.0.1") == 2 and "0.0.0.0" not in script.replace("BIND_HOST=0.0.0.0", "")
    assert (
        "BIND_HOST=127.0.0.1"
        in subprocess.run(
            [str(ROOT / "ops" / "help")], capture_output=True, text=True, check=True
        ).stdout
    )


def _lib_defaults() -> dict:
    env = _settings_env()
    for name in ("PG_PORT", "REDIS_PORT", "DATA_DIR"):
        env.pop(name, None)
    out = subprocess.run(
        [
            "bash",
            "-c",
            'source ops/lib.sh; export_env; echo "$PG_PORT $REDIS_PORT $DATABASE_URL $REDIS_URL"',
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    pg, redis, db_url, redis_url = out.stdout.split()
    return {"pg": int(pg), "redis": int(redis), "db_url": db_url, "redis_url": redis_url}


def test_default_ports_are_below_the_ephemeral_range_everywhere():
    lib = _lib_defaults()
    low, high = (
        (int(p) for p in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        if Path("/proc/sys/net/ipv4/ip_local_port_range").exists()
        else (32768, 60999)
    )
    for port in (lib["pg"], lib["redis"]):
        assert port < 32768 and port not in EPHEMERAL and not low <= port <= high, port
    # The settings' own defaults (no DATABASE_URL/REDIS_URL) name the same servers.
    db = _settings(
        "d = s.DATABASES['default']; print(d['HOST'], d['PORT']); print(s.REDIS_URL)"
    ).splitlines()
    assert db[0] == f"127.0.0.1 {lib['pg']}"
    assert db[1] == lib["redis_url"] == f"redis://127.0.0.1:{lib['redis']}/0"
    for doc in (".env.example", "README.md", "ops/help"):
        text = (ROOT / doc).read_text()
        assert "54329" not in text and "63790" not in text, doc
        assert str(lib["pg"]) in text and str(lib["redis"]) in text, doc


@pytest.fixture
def squatter():
    """A program that is neither PostgreSQL nor Redis, listening on a loopback port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    stop = threading.Event()

    def serve():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join()
    sock.close()


@pytest.mark.parametrize("which", ["postgres", "redis"])
def test_a_port_taken_by_another_program_is_named(which, squatter, tmp_path):
    var = "PG_PORT" if which == "postgres" else "REDIS_PORT"
    env = {**_settings_env(), "DATA_DIR": str(tmp_path), var: str(squatter)}
    out = subprocess.run(
        ["bash", "-c", f"source ops/lib.sh; start_{which}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert f"port {squatter} ({var}) is taken by python" in out.stderr, out.stderr
    assert f"export {var}=" in out.stderr
    assert not (tmp_path / "postgres").exists() and not (tmp_path / "redis" / "redis.pid").exists()
