"""Issue 11, findings 3-5, against a real server (granian with production
settings and real Argon2, its own PostgreSQL and Redis):

- sign-up as an anonymous denial of service: 12 clients signing up without a
  pause (the sign-up rate limits lifted, as for an attacker spread over many
  addresses) while a member of another organization reads `GET /org`; that
  reader's p90 stays under 100 ms and the server's memory stays bounded
  (hashing: Argon2id at OWASP's minimum, one hash at a time per worker,
  no database connection held while hashing);
- lock-out: an attacker's wrong passwords from one client do not keep the
  owner out (clients told apart by X-Forwarded-For from a configured trusted
  proxy, which this test plays);
- the Django admin's login: throttled like `POST /auth/token`.

Figures are printed (AUTH-FIGURES) for docs/PROOF.md; AUTH_ABUSE_ENV="NAME=value ..."
passes extra settings to the sign-up flood's server (to measure other parameters).
"""

import http.client
import json
import re
import statistics
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from proof.harness import PASSWORD, PY, ROOT, app_env, descendants, seed_orgs
from proof.harness import http as call

pytestmark = pytest.mark.slow

SIGNUP_CLIENTS = 12
LOAD_SECONDS = 12
WINDOWS = 3
P90_BUDGET_S = 0.100  # on a machine where GET /org's idle p90 is QUIET_REFERENCE_S or less
QUIET_REFERENCE_S = 0.020
EXTRA_ENV = dict(
    item.split("=", 1) for item in __import__("os").environ.get("AUTH_ABUSE_ENV", "").split() if "=" in item
)


def rss_mb(pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


FLOOD = r"""
import json, sys, threading, time, uuid
from proof.harness import http
url, clients, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
password = sys.argv[4] if len(sys.argv) > 4 else "a-Very-good-passphrase"
statuses, took = [], []
deadline = time.monotonic() + seconds

def sign_up(i):
    n = 0
    while time.monotonic() < deadline:
        n += 1
        body = {"email": f"flood{i}-{n}-{uuid.uuid4().hex[:6]}@example.com",
                "password": password, "name": "Flood"}
        t0 = time.monotonic()
        try:
            status = http(url, "POST", "/auth/signup", host="localhost", body=body, timeout=60)[0]
        except OSError:
            status = 0
        statuses.append(status)
        took.append(time.monotonic() - t0)

threads = [threading.Thread(target=sign_up, args=(i,)) for i in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps([statuses, took]))
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def test_concurrent_signups_leave_other_tenants_fast(pg, redis_server, servers):
    env = app_env(pg.url(), redis_server.url(), SIGNUP_RATE_PER_IP=10**6, SIGNUP_RATE_GLOBAL=10**6,
                  API_ROOT_RATE_LIMIT=10**9,
                  **EXTRA_ENV)
    (org,) = seed_orgs(env, ["calm"], extra_users=1, roles=["member"])
    reader = org["users"][1]["token"]
    server = servers(env, workers=2)

    def read_org() -> float:
        t0 = time.monotonic()
        status, _, body = call(server.url, "GET", "/org", host=org["host"], token=reader)
        assert status == 200 and body["slug"] == "calm", (status, body)
        return time.monotonic() - t0

    for _ in range(20):  # warm both workers' pools and caches
        read_org()
    quiet = [read_org() for _ in range(40)]
    idle_rss = rss_mb([server.proc.pid, *descendants(server.proc.pid)])

    # the flood runs in a process of its own, so its client threads never hold the
    # reader's GIL (the reader's figures are the server's, not the test's)
    flood = subprocess.Popen([PY, "-c", FLOOD, server.url, str(SIGNUP_CLIENTS), str(LOAD_SECONDS + 1.5)],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT)
    pids = [server.proc.pid, *descendants(server.proc.pid)]
    peak = idle_rss
    time.sleep(1.0)  # the flood is on
    windows: list[list[float]] = []  # three windows; the median window's p90 is judged
    next_sample = 0.0
    for _ in range(WINDOWS):
        window: list[float] = []
        deadline = time.monotonic() + LOAD_SECONDS / WINDOWS
        while time.monotonic() < deadline:
            window.append(read_org())
            if time.monotonic() >= next_sample:
                peak, next_sample = max(peak, rss_mb(pids)), time.monotonic() + 0.5
            time.sleep(0.02)
        windows.append(window)
    loaded = [x for w in windows for x in w]
    p90s = sorted(percentile(w, 0.9) for w in windows)
    out, _ = flood.communicate(timeout=120)
    statuses, signup_seconds = json.loads(out.strip().splitlines()[-1])

    figures = {
        "signup_clients": SIGNUP_CLIENTS,
        "signups": len(statuses),
        "signup_statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
        "signup_p50_s": round(statistics.median(signup_seconds), 3) if signup_seconds else None,
        "get_org_quiet_p50_ms": round(statistics.median(quiet) * 1000, 1),
        "get_org_quiet_p90_ms": round(percentile(quiet, 0.9) * 1000, 1),
        "get_org_under_signups_n": len(loaded),
        "get_org_under_signups_p50_ms": round(statistics.median(loaded) * 1000, 1),
        "get_org_under_signups_p90_ms": round(percentile(loaded, 0.9) * 1000, 1),
        "get_org_p90_per_window_ms": [round(p * 1000, 1) for p in p90s],
        "get_org_under_signups_max_ms": round(max(loaded) * 1000, 1),
        "server_rss_idle_mb": round(idle_rss),
        "server_rss_peak_mb": round(peak),
    }
    print("AUTH-FIGURES", figures)
    assert statuses and set(statuses) <= {201, 503}, figures  # 503: no hashing slot in time
    assert statuses.count(201) >= SIGNUP_CLIENTS, figures  # sign-up still works
    # The machine is shared (2 cores): one window can catch another process's burst, so
    # the median window is judged; and when the machine is busy before the flood
    # starts (idle p90 over 20 ms), the budget scales with that idle p90.
    budget = P90_BUDGET_S * max(1.0, percentile(quiet, 0.9) / QUIET_REFERENCE_S)
    figures["p90_budget_ms"] = round(budget * 1000, 1)
    print("AUTH-FIGURES budget", figures["p90_budget_ms"])
    assert p90s[len(p90s) // 2] < budget, figures
    assert peak - idle_rss < 150, figures  # 2 workers x 1 hash x 19 MiB, plus slack
    assert "ERROR" not in server.log_tail(20000)


# --- lock-out and the admin login, clients told apart by a trusted proxy ---------------------


def post_json(base: str, path: str, body: dict, client_ip: str) -> int:
    conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=30)
    try:
        conn.request("POST", "/api/v1" + path, body=json.dumps(body),
                     headers={"Host": "localhost", "Content-Type": "application/json",
                              "X-Forwarded-For": f"6.6.6.6, {client_ip}"})
        return conn.getresponse().status
    finally:
        conn.close()


def admin_login(base: str, email: str, password: str, client_ip: str) -> tuple[int, dict]:
    """GET the form (CSRF cookie + token), POST it; no redirect is followed."""
    hostport = base.removeprefix("http://")
    headers = {"Host": "localhost", "X-Forwarded-For": client_ip}
    conn = http.client.HTTPConnection(hostport, timeout=30)
    conn.request("GET", "/admin/login/", headers=headers)
    resp = conn.getresponse()
    page = resp.read().decode()
    cookie = re.search(r"csrftoken=([^;]+)", resp.getheader("Set-Cookie") or "")
    form_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    conn.close()
    assert cookie and form_token, page[:500]
    body = urllib.parse.urlencode({"username": email, "password": password,
                                   "csrfmiddlewaretoken": form_token.group(1), "next": "/admin/"})
    conn = http.client.HTTPConnection(hostport, timeout=30)
    conn.request("POST", "/admin/login/?next=/admin/", body=body, headers={
        **headers, "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={cookie.group(1)}"})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status, {k.title(): v for k, v in resp.getheaders()}


def test_lockout_and_admin_guessing_against_a_real_server(pg, redis_server, servers):
    # default limits (10 failures per email and client, 50 attempts per client, 5 min);
    # the test stands in for the reverse proxy at 127.0.0.1
    env = app_env(pg.url(), redis_server.url(), TRUSTED_PROXY_HEADER="X-Forwarded-For",
                  TRUSTED_PROXIES="127.0.0.1/32")
    (org,) = seed_orgs(env, ["lockout"], extra_users=1, roles=["member"])
    owner, member = org["users"][0]["email"], org["users"][1]["email"]
    from proof.harness import django_run

    django_run(f"from shared_apps.accounts.models import User\n"
               f"User.objects.filter(email={owner!r}).update(is_staff=True)", env)
    server = servers(env, workers=1)
    attacker, home = "198.51.100.66", "192.0.2.10"

    # finding 4: 11 wrong passwords per account from one client
    for victim in (owner, member):
        got = [post_json(server.url, "/auth/token", {"email": victim, "password": "guess"}, attacker)
               for _ in range(11)]
        assert got == [401] * 10 + [429], got
        assert post_json(server.url, "/auth/token", {"email": victim, "password": PASSWORD}, attacker) == 429
        # before the fix: 429 here too, for everyone, for as long as the attacker kept on
        assert post_json(server.url, "/auth/token", {"email": victim, "password": PASSWORD}, home) == 200

    # finding 5: the admin login of an operator, guessed at from another client
    admin_attacker = "198.51.100.67"
    got = [admin_login(server.url, owner, "guess", admin_attacker)[0] for _ in range(11)]
    assert got == [200] * 10 + [429], got  # before the fix: 200 x 11, a full hash each
    status, headers = admin_login(server.url, owner, PASSWORD, admin_attacker)
    assert status == 429 and int(headers["Retry-After"]) >= 1
    status, headers = admin_login(server.url, owner, PASSWORD, home)
    assert status == 302 and headers["Location"] == "/admin/", (status, headers)
    print("AUTH-FIGURES lockout+admin: attacker 429 after 10 failures; owner 200 from another client")
    assert "ERROR" not in server.log_tail(20000)
