"""Throwaway real processes for the proof runs (fuzz, faults, load).

Everything here starts its own servers on free loopback ports and removes
them when done; nothing touches the development PostgreSQL or Redis:

- `Postgres`: a cluster of its own (ops/lib.sh's start_postgres/_pg_init, so
  root runs it as `postgres` exactly like ops/run), in a data folder under
  /var/tmp. `golden_cluster()` builds one migrated cluster (`setup_platform`)
  once; `Postgres.clone()` copies its data folder, which is far faster than
  migrating again (a copy + start is about a second).
- `Redis`: redis-server with its own folder (AOF on, like ops/lib.sh), that a
  test may stop, kill and start again on the same port.
- `Server`: granian serving platform_core.asgi as ops/run does.
- `Smtp`: an aiosmtpd sink recording every message.
- `django_run()`: Python code with Django set up against those servers, in a
  subprocess (the caller's own Django, if any, keeps its settings).

Used by tests/faults, tests/proof/test_fuzz.py and the proof/ scripts.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PY = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
BASE_DOMAIN = "localhost"
PG_USER = PG_PASSWORD = "taskhub"
PASSWORD = "correct-horse-battery-staple"


def log(msg: str) -> None:
    print(f"[proof] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (from /proc), whatever its session or process group."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _is_root() -> bool:
    return os.geteuid() == 0


def _scratch_dir(prefix: str) -> Path:
    """A folder the `postgres` user can reach when we are root (/var/tmp, mode 755)."""
    base = Path(os.environ.get("PROOF_TMP", "/var/tmp"))
    base.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    path.chmod(0o755)
    return path


def _lib(script: str, **env) -> subprocess.CompletedProcess:
    """Run bash with ops/lib.sh sourced (PG_PORT, DATA_DIR... from `env`)."""
    full_env = {**os.environ, **{k: str(v) for k, v in env.items()}}
    out = subprocess.run(
        ["bash", "-c", f'set -euo pipefail; source "{ROOT}/ops/lib.sh"; {script}'],
        env=full_env, capture_output=True, text=True, timeout=180,
    )
    if out.returncode != 0:
        raise RuntimeError(f"ops/lib.sh `{script}` failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return out


# --- PostgreSQL ---------------------------------------------------------------------------


class Postgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1:<port> with superuser taskhub."""

    def __init__(self, data_dir: Path | None = None, port: int | None = None):
        self.data_dir = data_dir or _scratch_dir("taskhub-proof-pg-")
        self.port = port or free_port()

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    def url(self, db: str = "taskhub") -> str:
        return f"postgres://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{self.port}/{db}"

    def _env(self) -> dict:
        return {"PG_PORT": self.port, "DATA_DIR": self.data_dir}

    def start(self) -> Postgres:
        """initdb on first use, (re)write the port into taskhub.conf, start, create db `taskhub`."""
        _lib("start_postgres", **self._env())
        return self

    def pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        _lib_out = _lib("PG_BIN=\"$(find_pg_bindir)\"; echo \"$PG_BIN\"")
        pg_ctl = str(Path(_lib_out.stdout.strip()) / "pg_ctl")
        cmd = [pg_ctl, "-D", str(self.pgdata), *args]
        if _is_root():
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        out = subprocess.run(cmd, cwd="/", capture_output=True, text=True, timeout=120)
        if check and out.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(args)} failed: {out.stderr}")
        return out

    def stop(self, mode: str = "fast") -> None:
        if (self.pgdata / "postmaster.pid").exists():
            self.pg_ctl("-m", mode, "-w", "-s", "stop", check=False)

    def running(self) -> bool:
        return self.pg_ctl("status", check=False).returncode == 0

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def clone(self) -> Postgres:
        """A stopped copy of this (stopped) cluster in a new folder, with a new port."""
        other = Postgres()
        subprocess.run(["cp", "-a", str(self.pgdata), str(other.pgdata)], check=True)
        return other

    def sql(self, query: str, db: str = "taskhub", params=None) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url(db), autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []


# --- Redis --------------------------------------------------------------------------------


class Redis:
    """redis-server on its own port and folder; AOF everysec like ops/lib.sh's."""

    def __init__(self, port: int | None = None, appendonly: bool = True):
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="taskhub-proof-redis-"))
        self.appendonly = appendonly
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> Redis:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.dir), "--save", "", "--appendonly", "yes" if self.appendonly else "no",
             "--appendfsync", "everysec", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        import redis

        client = redis.Redis.from_url(self.url(), socket_connect_timeout=0.2)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return self
            except redis.exceptions.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def destroy(self) -> None:
        self.stop(signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the application ----------------------------------------------------------------------


def app_env(database_url: str, redis_url: str, **extra) -> dict:
    """Environment of an API server, worker or script against throwaway servers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_SETTINGS"))}
    for name in ("CACHE_REDIS_URL", "TESTING", "DB_POOL", "JWT_SIGNING_KEY", "EMAIL_BACKEND"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        BASE_DOMAIN=BASE_DOMAIN,
        DJANGO_SETTINGS_MODULE="platform_core.settings",
        DJANGO_ENV="production",
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",
        SECRET_KEY=os.environ.get("PROOF_SECRET_KEY") or "proof-" + secrets.token_urlsafe(40),
        ACCESS_TOKEN_SECONDS="86400",
        SPARE_SCHEMA_POOL_SIZE="0",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def django_run(code: str, env: dict, timeout: float = 300) -> object:
    """Run `code` (Django set up) in a subprocess; it sets `result`, returned as JSON."""
    wrapper = (
        "import json, sys, django\n"
        "django.setup()\n"
        "result = None\n"
        f"{code}\n"
        "sys.stdout.write('\\n@@RESULT@@' + json.dumps(result, default=str) + '\\n')\n"
    )
    out = subprocess.run([PY, "-c", wrapper], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"django_run failed ({out.returncode}):\n{out.stderr[-4000:]}")
    marker = out.stdout.rsplit("@@RESULT@@", 1)
    return json.loads(marker[1]) if len(marker) == 2 else None


def manage(*args: str, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    out = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({out.returncode}):\n{out.stderr[-4000:]}")
    return out


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> str | None:
    """None once `url` answers /healthz with 200; otherwise what went wrong."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return "exited"
        try:
            req = urllib.request.Request(f"{url}/healthz", headers={"Host": BASE_DOMAIN})
            with urllib.request.urlopen(req, timeout=2) as resp:
                if resp.status == 200:
                    return None
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    return f"did not answer /healthz in {timeout} s"


# granian's threads per WSGI worker (ops/run's API_THREADS).
WSGI_THREADS = {"wsgi": ["--blocking-threads", "4"], "asgi": []}


class Server:
    """granian on a free loopback port, as ops/run starts it: `interface="wsgi"`
    serves the API (platform_core.wsgi), `"asgi"` the live endpoints (and every
    other route too: platform_core.asgi)."""

    def __init__(self, env: dict, workers: int = 1, log_path: Path | None = None, interface: str = "wsgi"):
        assert interface in ("wsgi", "asgi")
        self.env, self.workers, self.interface = env, workers, interface
        self.port = free_port()
        self._own_log = log_path is None  # a temporary log, removed by stop()
        self.log_path = log_path or Path(tempfile.mkstemp(prefix="taskhub-proof-server-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Server:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(Path(PY).parent / "granian"), "--interface", self.interface, "--host", "127.0.0.1", "--port",
             str(self.port), "--workers", str(self.workers), *WSGI_THREADS[self.interface],
             f"platform_core.{self.interface}:application"],
            cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        problem = wait_healthy(self.url, self.proc, timeout)
        if problem is None:
            return self
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"granian {problem}:\n{tail}")

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # stragglers of its group
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self._log.close()
        self.proc = None
        if self._own_log:
            self.log_path.unlink(missing_ok=True)


def find_nginx() -> str | None:
    """nginx as ops/lib.sh finds it (Debian keeps it in /usr/sbin)."""
    for candidate in (os.environ.get("NGINX"), shutil.which("nginx"), "/usr/sbin/nginx",
                      "/opt/homebrew/bin/nginx", "/usr/local/bin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class Site:
    """The public port as ops/run serves it: nginx (ops/nginx.conf.template) in
    front of granian WSGI (the API) and granian ASGI (live endpoints)."""

    def __init__(self, env: dict, workers: int = 1):
        env = {**env, "TRUSTED_PROXY_HEADER": "X-Real-IP", "TRUSTED_PROXIES": "127.0.0.1/32"}
        self.api = Server(env, workers=workers, interface="wsgi")
        self.live = Server(env, workers=1, interface="asgi")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="taskhub-proof-nginx-"))
        self.max_body = int(env.get("MAX_REQUEST_BYTES", 1024 * 1024))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Site:
        nginx = find_nginx()
        if nginx is None:
            raise RuntimeError("nginx not found (ops/lib.sh installs it)")
        self.api.start(timeout)
        self.live.start(timeout)
        fields = {"RUN_DIR": str(self.dir), "BIND": "127.0.0.1", "PORT": str(self.port),
                  "API_ADDR": f"127.0.0.1:{self.api.port}", "LIVE_ADDR": f"127.0.0.1:{self.live.port}",
                  "MAX_BODY": str(self.max_body), "CONN_PER_CLIENT": "256"}
        conf = (ROOT / "ops" / "nginx.conf.template").read_text()
        for name, value in fields.items():
            conf = conf.replace(f"@{name}@", value)
        (self.dir / "nginx.conf").write_text(conf)
        self.proc = subprocess.Popen(
            [nginx, "-c", str(self.dir / "nginx.conf"), "-p", str(self.dir), "-e", str(self.dir / "error.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        )
        problem = wait_healthy(self.url, self.proc, timeout)
        if problem is None:
            return self
        log = (self.dir / "error.log").read_text(errors="replace") if (self.dir / "error.log").exists() else ""
        self.stop()
        raise RuntimeError(f"nginx {problem}:\n{log}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.api.stop()
        self.live.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Smtp:
    """An SMTP sink (aiosmtpd) on a free loopback port; `messages` holds (rcpt, raw bytes)."""

    port: int = field(default_factory=free_port)
    messages: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def start(self) -> Smtp:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def env(self) -> dict:
        return {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(self.port), "EMAIL_USE_TLS": "0",
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_TIMEOUT": "5"}

    def to(self, address: str) -> list:
        return [raw for rcpt, raw in self.messages if address.lower() in (r.lower() for r in rcpt)]


# --- the golden cluster and seeding ----------------------------------------------------------


def golden_cluster() -> Postgres:
    """A stopped cluster whose database `taskhub` is migrated (setup_platform). Callers
    clone() it and destroy() it when done."""
    t0 = time.monotonic()
    pg = Postgres()
    redis = Redis(appendonly=False)
    try:
        pg.start()
        redis.start()
        manage("setup_platform", "-v", "0", env=app_env(pg.url(), redis.url(), DB_POOL="0"))
    except BaseException:
        pg.destroy()
        raise
    finally:
        redis.destroy()
        pg.stop()
    log(f"golden cluster migrated in {time.monotonic() - t0:.1f} s ({pg.pgdata})")
    return pg


SEED_CODE = r"""
import uuid
from django.conf import settings
from ninja_jwt.tokens import AccessToken
from provisioning.services import org_provision
from shared_apps.accounts.models import AuthSession, User
from shared_apps.orgs.models import Membership

def token(user):
    session = AuthSession.objects.create(user=user)
    t = AccessToken()
    t["user_id"] = str(user.id)
    t["sid"] = str(session.id)
    return str(t)

orgs = []
for slug in SLUGS:
    owner = User.objects.create_user(email=f"owner@{slug}.test", password=PASSWORD, name=f"Owner of {slug}")
    org = org_provision(owner=owner, name=f"Org {slug}", slug=slug)
    users = [{"role": "owner", "id": str(owner.id), "email": owner.email, "token": token(owner)}]
    for i, role in enumerate(ROLES):
        u = User.objects.create_user(email=f"{role}{i}@{slug}.test", password=PASSWORD, name=f"{role} {i} of {slug}")
        Membership.objects.create(organization=org, user=u, role=role)
        users.append({"role": role, "id": str(u.id), "email": u.email, "token": token(u)})
    orgs.append({"slug": slug, "id": str(org.id), "schema": org.schema_name,
                 "host": f"{slug}.{settings.BASE_DOMAIN}", "users": users})
result = orgs
"""


def seed_orgs(env: dict, slugs: list[str], extra_users: int = 1, roles: list[str] | None = None) -> list[dict]:
    """Organizations (an owner, then `roles`, by default `extra_users` admins and
    members alternately) with access tokens signed by env's SECRET_KEY; done
    in-process with the app's own services (org_provision)."""
    roles = roles if roles is not None else [("admin", "member")[i % 2] for i in range(extra_users)]
    code = f"SLUGS = {slugs!r}\nROLES = {roles!r}\nPASSWORD = {PASSWORD!r}\n" + SEED_CODE
    return django_run(code, env)


# --- HTTP -----------------------------------------------------------------------------------


def http(base: str, method: str, path: str, *, host: str, token: str | None = None, body=None,
         request_id: str | None = None, timeout: float = 30) -> tuple[int, dict, object]:
    """One request; (status, headers, parsed JSON or raw text). Network errors raise."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Host": host, "Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if request_id:
        headers["X-Request-ID"] = request_id
    url = base + (path if path.startswith("/api/") or path.startswith("/healthz") or path.startswith("/readyz")
                  else "/api/v1" + path)
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw, hdrs = resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as err:
        status, raw, hdrs = err.code, err.read(), dict(err.headers)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return status, hdrs, parsed
