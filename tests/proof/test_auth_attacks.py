"""Attacks on authentication: forged, tampered and stale tokens; tokens of gone
users; tokens for the wrong host; brute force on `POST /auth/token`.

Every forged token is presented where each kind of auth runs: the root host
(`GET /me`, JWTAuth), an organization host (`GET /org`, MemberAuth; `POST
/invites/accept`, JWTAuth there) and the event stream's `?access_token=`
(StreamMemberAuth). A control token forged the same way with the right key
and the right claims is accepted, so a 401 below is the attack failing, not
the forging.

Rate limits (documented design, platform_core/throttle.py + accounts/services.py
LoginGuard): fixed windows in Redis. Per client IP every attempt counts; per
(normalised email, client IP) only failures count, and only from a client that
is not over its own per-IP limit. So nobody can lock anyone else out: a correct
password from a client that is not itself over its limits signs in (issue 11,
finding 4). The client IP is REMOTE_ADDR; X-Forwarded-For is believed only
when TRUSTED_PROXY_HEADER names it and the peer is in TRUSTED_PROXIES. The
Django admin's login goes through the same guard (finding 5).
"""

import base64
import json
import time
import uuid

import jwt
import pytest
from django.conf import settings

from tests.support import PASSWORD, ApiClient, add_member, make_user, unique_email

pytestmark = pytest.mark.django_db

KEY = settings.NINJA_JWT["SIGNING_KEY"]
ALG = settings.NINJA_JWT["ALGORITHM"]
DROP = object()


def claims(user, session_id, **changes) -> dict:
    now = int(time.time())
    base = {
        "token_type": "access",
        "exp": now + 300,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "user_id": str(user.id),
        "sid": str(session_id),
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not DROP}


def forge(payload: dict, key=KEY, alg=ALG) -> str:
    return jwt.encode(payload, key, algorithm=alg)


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def session_of(world, user):
    return world.sessions[user.id].id


def outcomes(world, token: str) -> dict:
    """Status of that token at each kind of auth."""
    board = uuid.uuid4()  # a missing board: a valid token gets 404 there, an invalid one 401
    root, org = ApiClient(world.root, token=token), ApiClient(world.a.host, token=token)
    return {
        "root /me": root.get("/me").status_code,
        "org /org": org.get("/org").status_code,
        "org /invites/accept": org.post("/invites/accept", {"token": "x"}).status_code,
        "org events ?access_token": ApiClient(world.a.host)
        .get(f"/boards/{board}/events", {"access_token": token})
        .status_code,
    }


VALID = {
    "root /me": 200,
    "org /org": 200,
    "org /invites/accept": 404,
    "org events ?access_token": 404,
}
UNAUTHORIZED = dict.fromkeys(VALID, 401)


def test_control_forged_token_with_right_key_and_claims_works(world):
    assert (
        outcomes(world, forge(claims(world.a.member, session_of(world, world.a.member)))) == VALID
    )


def hs256_empty_key(payload: dict) -> str:
    """PyJWT refuses an empty HMAC key; an attacker does not."""
    import hashlib
    import hmac

    signing_input = b64({"alg": "HS256", "typ": "JWT"}) + "." + b64(payload)
    signature = hmac.new(b"", signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


def _tampered(world, field: str, value) -> str:
    """A genuine token whose payload is edited, the signature kept."""
    header, payload, signature = world.token(world.a.member).split(".")
    edited = {**unb64(payload), field: value}
    return ".".join([header, b64(edited), signature])


ATTACKS = {
    "alg none (PyJWT)": lambda w, m, s: forge(claims(m, s), key=None, alg="none"),
    "alg none, hand-made, no signature": lambda w, m, s: ".".join(
        [b64({"alg": "none", "typ": "JWT"}), b64(claims(m, s)), ""]
    ),
    "alg None, signature of a real token kept": lambda w, m, s: ".".join(
        [b64({"alg": "None", "typ": "JWT"}), b64(claims(m, s)), w.token(m).split(".")[2]]
    ),
    "wrong signing key": lambda w, m, s: forge(claims(m, s), key="not-the-key-" + "x" * 40),
    "empty signing key": lambda w, m, s: hs256_empty_key(claims(m, s)),
    "HS512 with the right key": lambda w, m, s: forge(claims(m, s), alg="HS512"),
    "payload user_id swapped to the owner": lambda w, m, s: _tampered(
        w, "user_id", str(w.a.owner.id)
    ),
    "payload sid swapped": lambda w, m, s: _tampered(w, "sid", str(session_of(w, w.a.owner))),
    "payload exp extended": lambda w, m, s: _tampered(w, "exp", int(time.time()) + 10**6),
    "signature stripped": lambda w, m, s: w.token(m).rsplit(".", 1)[0] + ".",
    "no exp": lambda w, m, s: forge(claims(m, s, exp=DROP)),
    "exp in the past": lambda w, m, s: forge(claims(m, s, exp=int(time.time()) - 1)),
    "nbf in the future": lambda w, m, s: forge(claims(m, s, nbf=int(time.time()) + 3600)),
    "no sid": lambda w, m, s: forge(claims(m, s, sid=DROP)),
    "no user_id": lambda w, m, s: forge(claims(m, s, user_id=DROP)),
    "no token_type": lambda w, m, s: forge(claims(m, s, token_type=DROP)),
    "token_type refresh": lambda w, m, s: forge(claims(m, s, token_type="refresh")),
    "user_id not a uuid": lambda w, m, s: forge(claims(m, s, user_id="1 OR 1=1")),
    "user_id an object": lambda w, m, s: forge(claims(m, s, user_id={"$ne": None})),
    "sid not a uuid": lambda w, m, s: forge(claims(m, s, sid="not-a-session")),
    "unknown user": lambda w, m, s: forge(claims(m, s, user_id=str(uuid.uuid4()))),
    "unknown session": lambda w, m, s: forge(claims(m, s, sid=str(uuid.uuid4()))),
    "garbage": lambda w, m, s: "garbage",
    "three garbage parts": lambda w, m, s: "a.b.c",
    "huge token": lambda w, m, s: forge(claims(m, s, pad="x" * 20000), key="not-the-key-" + "x" * 40),
}


# Correctly signed tokens (only someone holding the key can make these) with
# claims that are not UUIDs must still answer 401, never 500 (fixed: the claims
# are parsed as UUIDs before any lookup).
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_forged_and_tampered_tokens_are_401(world, attack):
    token = ATTACKS[attack](world, world.a.member, session_of(world, world.a.member))
    got = outcomes(world, token)
    assert got == UNAUTHORIZED, got


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Token abc",
        "Basic b3duZXI6cHc=",
        "bearer",
        "Bearer a b",
        "Bearer \u00e9t\u00e9",
    ],
)
def test_malformed_authorization_headers_are_401(world, header):
    for host, path in ((world.root, "/me"), (world.a.host, "/org")):
        r = ApiClient(host).get(path, HTTP_AUTHORIZATION=header)
        assert r.status_code == 401, (host, header, r.content)
        assert r.json()["code"] in ("not_authenticated", "token_invalid")


# --- refresh and access tokens in each other's place ---------------------------------------


def login(email, password=PASSWORD, ip="127.0.0.1"):
    return ApiClient(settings.BASE_DOMAIN).post(
        "/auth/token", {"email": email, "password": password}, REMOTE_ADDR=ip
    )


def test_refresh_token_is_not_an_access_token_anywhere(world):
    pair = login(world.a.member.email).json()
    assert outcomes(world, pair["access"]) == VALID
    assert outcomes(world, pair["refresh"]) == UNAUTHORIZED


def test_access_token_is_not_a_refresh_token(world):
    pair = login(world.a.member.email).json()
    root = ApiClient(world.root, token=pair["access"])
    assert root.post("/auth/token/refresh", {"refresh": pair["access"]}).status_code == 401
    r = root.post("/auth/logout", {"refresh": pair["access"]})
    assert r.status_code == 401
    assert outcomes(world, pair["access"]) == VALID  # nothing was revoked by those
    assert root.post("/auth/token/refresh", {"refresh": pair["refresh"]}).status_code == 200


def test_refresh_reuse_revokes_the_family_only(world):
    """Theft: the rotated-out refresh token comes back. The whole session (newest
    refresh and access included) dies; the same user's other session lives."""
    user = world.a.member
    stolen = login(user.email).json()
    other = login(user.email).json()  # another device
    root = ApiClient(world.root)
    rotated = root.post("/auth/token/refresh", {"refresh": stolen["refresh"]}).json()
    assert outcomes(world, rotated["access"]) == VALID

    r = root.post("/auth/token/refresh", {"refresh": stolen["refresh"]})
    assert r.status_code == 401 and r.json()["code"] == "token_reused"

    assert outcomes(world, rotated["access"]) == UNAUTHORIZED
    assert outcomes(world, stolen["access"]) == UNAUTHORIZED
    assert root.post("/auth/token/refresh", {"refresh": rotated["refresh"]}).status_code == 401
    # the other session is untouched
    assert outcomes(world, other["access"]) == VALID
    again = root.post("/auth/token/refresh", {"refresh": other["refresh"]})
    assert again.status_code == 200
    assert outcomes(world, again.json()["access"]) == VALID


def test_access_after_logout_is_401_at_once_and_stays_401(world):
    from platform_core.cache import cache_clear_all

    user = world.a.admin
    pair = login(user.email).json()
    assert outcomes(world, pair["access"]) == VALID  # session state now cached
    client = ApiClient(world.root, token=pair["access"])
    assert client.post("/auth/logout", {"refresh": pair["refresh"]}).status_code == 204
    assert outcomes(world, pair["access"]) == UNAUTHORIZED  # within the access lifetime
    # the revocation is durable, not only a cache entry
    cache_clear_all()
    assert outcomes(world, pair["access"]) == UNAUTHORIZED
    # past the lifetime: the same claims, expired
    payload = unb64(pair["access"].split(".")[1])
    assert outcomes(world, forge({**payload, "exp": int(time.time()) - 1})) == UNAUTHORIZED
    # and the user's fresh login still works
    assert outcomes(world, login(user.email).json()["access"]) == VALID


# --- tokens of users who are gone --------------------------------------------------------------


def test_token_of_a_deleted_user_is_401(world):
    user = make_user(unique_email("deleted"))
    add_member(world.a.org, user, "admin")
    pair = login(user.email).json()
    assert outcomes(world, pair["access"]) == VALID  # user, session and role cached
    user_id = user.id
    user.delete()
    assert outcomes(world, pair["access"]) == UNAUTHORIZED
    assert (
        ApiClient(world.root).post("/auth/token/refresh", {"refresh": pair["refresh"]}).status_code
        == 401
    )
    # an access token made for the deleted id with a live-looking session id
    assert outcomes(world, forge(claims(user, uuid.uuid4(), user_id=str(user_id)))) == UNAUTHORIZED


@pytest.mark.parametrize("how", ["service", "save"])
def test_token_of_a_deactivated_user_is_401(world, how):
    from shared_apps.accounts.services import user_deactivate

    user = make_user(unique_email("inactive"))
    add_member(world.a.org, user, "owner")
    pair = login(user.email).json()
    assert outcomes(world, pair["access"]) == VALID
    if how == "service":
        user_deactivate(user=user)
    else:  # a raw save (admin, shell): the user cache is invalidated by signal
        user.is_active = False
        user.save()
    assert outcomes(world, pair["access"]) == UNAUTHORIZED
    assert (
        ApiClient(world.root).post("/auth/token/refresh", {"refresh": pair["refresh"]}).status_code
        == 401
    )
    assert login(user.email).status_code == 401


# --- the right token on the wrong host ---------------------------------------------------------


def test_token_of_another_user_on_a_host_where_only_they_are_members(world):
    """X's valid token on a host where only Y is a member: 403 not_a_member, whatever X's
    role elsewhere; X's token with Y's id pasted in (signature kept): 401."""
    for x, y_org in ((world.b.owner, world.a), (world.a.owner, world.b), (world.outsider, world.a)):
        token = world.token(x)
        org = ApiClient(y_org.host, token=token)
        for path in ("/org", "/members", "/boards", "/audit"):
            r = org.get(path)
            assert r.status_code == 403 and r.json()["code"] == "not_a_member", (
                x.email,
                y_org.host,
                path,
            )
        header, payload, signature = token.split(".")
        as_y = ".".join(
            [header, b64({**unb64(payload), "user_id": str(y_org.owner.id)}), signature]
        )
        assert ApiClient(y_org.host, token=as_y).get("/org").status_code == 401


def test_host_header_not_token_decides_the_org(world):
    """A's member token reaches A's data only on A's host: the token carries no org."""
    token = world.token(world.a.member)
    assert ApiClient(world.a.host, token=token).get("/org").json()["slug"] == "acme"
    r = ApiClient(world.b.host, token=token).get("/org", HTTP_X_FORWARDED_HOST=world.a.host)
    assert r.status_code == 403
    r = ApiClient(world.b.host, token=token).get("/org", {"org": "acme", "tenant": "acme"})
    assert r.status_code == 403


# --- brute force on POST /auth/token ------------------------------------------------------------


def assert_429(r, window: int):
    assert r.status_code == 429, r.content
    assert r.json()["code"] == "rate_limited"
    assert 1 <= int(r["Retry-After"]) <= window


def test_per_ip_limit_with_retry_after(world, settings):
    settings.LOGIN_RATE_PER_IP, settings.LOGIN_RATE_PER_EMAIL, settings.LOGIN_RATE_WINDOW = (
        3,
        100,
        60,
    )
    for i in range(3):  # spraying several accounts from one address
        assert login(f"nobody{i}@example.com", "guess", ip="203.0.113.7").status_code == 401
    assert_429(login(world.a.owner.email, ip="203.0.113.7"), 60)  # even the right password
    # X-Forwarded-For is not trusted: it cannot rotate the attacker's address
    r = ApiClient(world.root).post(
        "/auth/token",
        {"email": world.a.owner.email, "password": PASSWORD},
        REMOTE_ADDR="203.0.113.7",
        HTTP_X_FORWARDED_FOR="198.51.100.1",
    )
    assert_429(r, 60)
    # another address is not affected, nor is the account
    assert login(world.a.owner.email, ip="203.0.113.8").status_code == 200


def test_per_email_limit_counts_every_spelling_of_the_email(world, settings):
    settings.LOGIN_RATE_PER_IP, settings.LOGIN_RATE_PER_EMAIL, settings.LOGIN_RATE_WINDOW = (
        100,
        3,
        60,
    )
    email = world.b.admin.email
    for spelling in [email.upper(), f"  {email}  ", email.title()]:
        assert login(spelling, "guess", ip="198.51.100.7").status_code == 401
    assert_429(login(email, ip="198.51.100.7"), 60)  # this client is done guessing, even right
    # unknown emails are limited the same way (a 429 says nothing about existence)
    for _ in range(3):
        assert login("ghost@example.com", "guess").status_code == 401
    assert_429(login("ghost@example.com", "guess"), 60)


def test_attacker_cannot_lock_out_the_owner(world, settings):
    """Issue 11 finding 4: 11 wrong passwords per account every 5 minutes from one IP
    kept any account at 429 for everyone. Now the attacker's client is refused, the
    owner is not; and the attacker's refused attempts count for nothing."""
    settings.LOGIN_RATE_PER_IP, settings.LOGIN_RATE_PER_EMAIL, settings.LOGIN_RATE_WINDOW = (
        24,
        10,
        300,
    )
    attacker, owner_ip = "192.0.2.66", "192.0.2.1"
    victims = [world.b.member.email, world.a.admin.email]
    for victim in victims:
        statuses = [login(victim, "guess", ip=attacker).status_code for _ in range(11)]
        assert statuses == [401] * 10 + [429], statuses
        assert_429(login(victim, ip=attacker), 300)  # the attacker cannot guess on, even right
    # the owners, from their own clients, sign in with their passwords
    for victim in victims:
        r = login(victim, ip=owner_ip)
        assert r.status_code == 200, r.content
        assert outcomes(world, r.json()["access"])["root /me"] == 200
    # the attacker is now at its per-IP limit (24): everything it sends is refused
    # before any check, and none of it counts against an account
    for _ in range(5):
        assert login(world.a.owner.email, "guess", ip=attacker).status_code == 429
    for _ in range(9):  # the owner's own typos, from the owner's client: 9 < 10
        assert login(world.a.owner.email, "typo", ip=owner_ip).status_code == 401
    r = login(world.a.owner.email, ip=owner_ip)
    assert r.status_code == 200, r.content


def test_a_correct_password_never_counts_as_a_failure(world, settings):
    settings.LOGIN_RATE_PER_IP, settings.LOGIN_RATE_PER_EMAIL = 100, 2
    for _ in range(5):
        assert login(world.a.member.email, ip="198.51.100.20").status_code == 200
    assert login(world.a.member.email, "guess", ip="198.51.100.20").status_code == 401


def test_no_permanent_lockout(world, settings):
    """The attacker's own client is refused for one window; hammering does not
    extend it, and the right password from that client works when it ends."""
    window = 2
    settings.LOGIN_RATE_PER_IP, settings.LOGIN_RATE_PER_EMAIL, settings.LOGIN_RATE_WINDOW = (
        1000,
        3,
        window,
    )
    victim = world.b.member.email
    started = time.monotonic()
    for _ in range(3):
        assert login(victim, "guess", ip="192.0.2.66").status_code == 401
    assert_429(login(victim, "guess", ip="192.0.2.66"), window)
    assert login(victim, ip="192.0.2.1").status_code == 200  # the owner, elsewhere: never locked
    time.sleep(max(0.0, started + 1.0 - time.monotonic()))
    assert_429(login(victim, "guess", ip="192.0.2.66"), window)  # still hammering
    time.sleep(max(0.0, started + window + 0.2 - time.monotonic()))
    r = login(victim, ip="192.0.2.66")
    assert r.status_code == 200, r.content
    assert outcomes(world, r.json()["access"])["root /me"] == 200


# --- the client address behind a proxy ------------------------------------------------------


def test_forwarded_for_is_believed_only_from_a_configured_proxy(world, settings):
    settings.LOGIN_RATE_PER_IP, settings.LOGIN_RATE_PER_EMAIL = 2, 100
    settings.TRUSTED_PROXY_HEADER, settings.TRUSTED_PROXIES = "X-Forwarded-For", ["10.0.0.0/8"]

    def via_proxy(xff, peer="10.1.2.3", password="guess"):
        return ApiClient(world.root).post(
            "/auth/token",
            {"email": world.a.member.email, "password": password},
            REMOTE_ADDR=peer,
            HTTP_X_FORWARDED_FOR=xff,
        )

    # the client is the rightmost address the proxies did not add; what the client
    # wrote to the left of it changes nothing
    assert via_proxy("1.1.1.1, 198.51.100.50").status_code == 401
    assert via_proxy("2.2.2.2, 198.51.100.50, 10.9.9.9").status_code == 401
    assert_429(via_proxy("3.3.3.3, 198.51.100.50", password=PASSWORD), 300)
    # a different client behind the same proxy is another bucket
    assert via_proxy("198.51.100.51", password=PASSWORD).status_code == 200
    # a peer that is not a trusted proxy: its header is ignored, the peer is the client
    for i in range(2):
        assert via_proxy(f"203.0.113.{i}", peer="192.0.2.200").status_code == 401
    assert_429(via_proxy("203.0.113.99", peer="192.0.2.200", password=PASSWORD), 300)


def test_off_by_default_forwarded_for_never_rotates_the_address(world, settings):
    settings.LOGIN_RATE_PER_IP = 2
    assert settings.TRUSTED_PROXY_HEADER == ""
    for i in range(2):
        r = ApiClient(world.root).post(
            "/auth/token", {"email": "x@example.com", "password": "guess"},
            REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        )
        assert r.status_code == 401
    assert_429(login(world.a.member.email, ip="10.1.2.3"), 300)


def test_an_ipv6_client_is_its_slash_64(world, settings):
    settings.LOGIN_RATE_PER_IP = 2
    for suffix in ("1", "2"):
        assert login("x@example.com", "guess", ip=f"2001:db8:1:2::{suffix}").status_code == 401
    assert_429(login(world.a.member.email, ip="2001:db8:1:2:ffff::9"), 300)
    assert login(world.a.member.email, ip="2001:db8:1:3::1").status_code == 200


# --- the Django admin's login (issue 11, finding 5) ---------------------------------------------


def admin_login(email, password, ip):
    from django.test import Client

    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    return client.post(
        "/admin/login/?next=/admin/", {"username": email, "password": password}, REMOTE_ADDR=ip
    )


def test_admin_login_has_the_token_throttle(world, settings):
    """Before: unlimited guesses at operator accounts, each costing a full hash."""
    settings.LOGIN_RATE_PER_IP, settings.LOGIN_RATE_PER_EMAIL, settings.LOGIN_RATE_WINDOW = (
        50,
        10,
        300,
    )
    operator = world.operator.email
    assert admin_login(operator, PASSWORD, "203.0.113.30").status_code == 302  # control
    statuses = [admin_login(operator, "guess", "203.0.113.31").status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429], statuses
    r = admin_login(operator, PASSWORD, "203.0.113.31")  # that client is done, even right
    assert r.status_code == 429 and 1 <= int(r["Retry-After"]) <= 300
    # the operator, from another client, signs in
    r = admin_login(operator, PASSWORD, "203.0.113.32")
    assert r.status_code == 302 and r["Location"] == "/admin/"
    # one counter per client with /auth/token: failures there count here too
    for _ in range(10):
        assert login(operator, "guess", ip="203.0.113.33").status_code == 401
    assert admin_login(operator, PASSWORD, "203.0.113.33").status_code == 429


def test_admin_login_per_ip_limit_covers_every_account(world, settings):
    settings.LOGIN_RATE_PER_IP, settings.LOGIN_RATE_PER_EMAIL = 3, 100
    for i in range(3):
        assert admin_login(f"op{i}@example.com", "guess", "203.0.113.40").status_code == 200
    assert admin_login(world.operator.email, PASSWORD, "203.0.113.40").status_code == 429
    # a non-operator's right password is a failure at the admin, not a sign-in
    settings.LOGIN_RATE_PER_IP, settings.LOGIN_RATE_PER_EMAIL = 100, 2
    for _ in range(2):
        assert admin_login(world.a.owner.email, PASSWORD, "203.0.113.41").status_code == 200
    assert admin_login(world.a.owner.email, PASSWORD, "203.0.113.41").status_code == 429
