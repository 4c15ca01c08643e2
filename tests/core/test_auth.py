"""Sign-up, tokens, refresh rotation and reuse detection, logout, /me."""

import pytest

from tests.support import PASSWORD, unique_email

pytestmark = pytest.mark.django_db


def signup(api, email=None, password="a-Very-good-passphrase", name="Ann"):
    return api("root").post("/auth/signup", {"email": email or unique_email(), "password": password, "name": name})


def login(api, email, password="a-Very-good-passphrase"):
    return api("root").post("/auth/token", {"email": email, "password": password})


def test_signup_returns_user_without_secrets(api):
    email = unique_email()
    r = signup(api, email=email.upper())
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == {"id", "email", "name"}
    assert body["email"] == email  # stored lower-cased


def test_signup_duplicate_email_case_insensitive_is_409(api):
    email = unique_email()
    assert signup(api, email=email).status_code == 201
    r = signup(api, email=email.upper())
    assert r.status_code == 409
    assert r.json()["code"] == "email_taken"


@pytest.mark.parametrize("password", ["short", "password123456", "1234567890123"])
def test_weak_password_is_422(api, password):
    r = signup(api, password=password)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_error"
    assert body["errors"][0]["loc"] == ["body", "password"]


def test_signup_invalid_email_is_422(api):
    r = signup(api, email="not-an-email")
    assert r.status_code == 422
    assert r.json()["code"] == "validation_error"


def test_token_wrong_credentials_401(api, world):
    r = login(api, world.a.owner.email, "wrong-password")
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_credentials"
    r = login(api, "nobody@example.com")
    assert r.status_code == 401


def test_token_and_me(api, world):
    r = login(api, world.a.admin.email, PASSWORD)
    assert r.status_code == 200, r.content
    access = r.json()["access"]
    client = api("root")
    client.token = access
    me = client.get("/me").json()
    assert me["email"] == world.a.admin.email
    assert [(m["org"]["slug"], m["role"]) for m in me["memberships"]] == [("acme", "admin")]
    assert me["memberships"][0]["org"]["domain"] == world.a.host


def test_me_requires_token(api):
    r = api("root").get("/me")
    assert r.status_code == 401
    assert r.json()["code"] == "not_authenticated"


def test_refresh_rotates_and_old_refresh_stops_working(api, world):
    pair = login(api, world.a.member.email, PASSWORD).json()
    root = api("root")
    rotated = root.post("/auth/token/refresh", {"refresh": pair["refresh"]})
    assert rotated.status_code == 200
    new_pair = rotated.json()
    assert new_pair["refresh"] != pair["refresh"]
    # the rotated-out token is refused, and its reuse revokes the whole family
    reuse = root.post("/auth/token/refresh", {"refresh": pair["refresh"]})
    assert reuse.status_code == 401
    assert reuse.json()["code"] == "token_reused"
    assert root.post("/auth/token/refresh", {"refresh": new_pair["refresh"]}).status_code == 401
    root.token = new_pair["access"]
    assert root.get("/me").status_code == 401


def test_access_token_is_not_a_refresh_token(api, world):
    pair = login(api, world.a.member.email, PASSWORD).json()
    r = api("root").post("/auth/token/refresh", {"refresh": pair["access"]})
    assert r.status_code == 401
    client = api("root")
    client.token = pair["refresh"]
    assert client.get("/me").status_code == 401


def test_logout_revokes_refresh_and_access(api, world):
    pair = login(api, world.b.member.email, PASSWORD).json()
    client = api("root")
    client.token = pair["access"]
    assert client.post("/auth/logout", {"refresh": pair["refresh"]}).status_code == 204
    assert client.get("/me").status_code == 401
    assert api("root").post("/auth/token/refresh", {"refresh": pair["refresh"]}).status_code == 401


def test_logout_with_someone_elses_refresh_is_403(api, world):
    theirs = login(api, world.b.member.email, PASSWORD).json()
    mine = login(api, world.a.member.email, PASSWORD).json()
    client = api("root")
    client.token = mine["access"]
    assert client.post("/auth/logout", {"refresh": theirs["refresh"]}).status_code == 403
    assert api("root").post("/auth/token/refresh", {"refresh": theirs["refresh"]}).status_code == 200


def test_token_of_one_user_never_reaches_anothers_data(api, world):
    me = api("root", world.a.member).get("/me").json()
    assert me["email"] == world.a.member.email
    assert "globex" not in str(me)


def test_deactivated_user_token_stops_working(api, world):
    from shared_apps.accounts.services import user_deactivate
    from tests.support import make_user

    user = make_user(unique_email())
    pair = login(api, user.email, PASSWORD).json()
    client = api("root")
    client.token = pair["access"]
    assert client.get("/me").status_code == 200
    user_deactivate(user=user)
    assert client.get("/me").status_code == 401
    assert login(api, user.email, PASSWORD).status_code == 401


def test_login_is_rate_limited_per_email_with_retry_after(api, world, settings):
    settings.LOGIN_RATE_PER_EMAIL = 3
    for _ in range(3):
        assert login(api, world.b.admin.email, "nope").status_code == 401
    r = login(api, world.b.admin.email, PASSWORD)
    assert r.status_code == 429
    assert r.json()["code"] == "rate_limited"
    assert int(r["Retry-After"]) >= 1
    # another account from the same client is not locked out
    assert login(api, world.b.owner.email, PASSWORD).status_code == 200


# --- sign-up throttling (issue 11, finding 3) -----------------------------------------------


def signup_from(ip, email=None, password="a-Very-good-passphrase"):
    from django.conf import settings as django_settings

    from tests.support import ApiClient

    body = {"email": email or unique_email("su"), "password": password, "name": "Ann"}
    return ApiClient(django_settings.BASE_DOMAIN).post("/auth/signup", body, REMOTE_ADDR=ip)


def test_signup_is_limited_per_ip_whatever_the_outcome(world, settings):
    """Sign-ups, taken emails (409, the enumeration oracle) and weak passwords all
    count; past the limit: 429 with Retry-After, before any lookup or hash."""
    settings.SIGNUP_RATE_PER_IP, settings.SIGNUP_RATE_WINDOW = 3, 3600
    assert signup_from("198.51.100.60").status_code == 201
    assert signup_from("198.51.100.60", email=world.a.owner.email).status_code == 409
    assert signup_from("198.51.100.60", password="short").status_code == 422
    for email in (world.b.owner.email, unique_email("late")):
        r = signup_from("198.51.100.60", email=email)
        assert r.status_code == 429 and r.json()["code"] == "rate_limited", r.content
        assert 3500 <= int(r["Retry-After"]) <= 3600
    # another client is not affected
    assert signup_from("198.51.100.61").status_code == 201
    assert signup_from("198.51.100.61", email=world.b.owner.email).status_code == 409


def test_signup_is_limited_platform_wide(world, settings):
    settings.SIGNUP_RATE_PER_IP, settings.SIGNUP_RATE_GLOBAL, settings.SIGNUP_RATE_GLOBAL_WINDOW = 100, 4, 60
    assert [signup_from(f"198.51.100.{70 + i}").status_code for i in range(4)] == [201] * 4
    r = signup_from("198.51.100.99")
    assert r.status_code == 429 and 1 <= int(r["Retry-After"]) <= 60
