"""Schemathesis hooks for proof/fuzz.py (loaded through SCHEMATHESIS_HOOKS).

`cross_tenant_replay`: the tenant is chosen by the Host header, which
schemathesis' own object_level_authorization check never changes (it
replays as the other user on the *same* host, where that user is simply
not a member). This check replays every successful request that names an
object in its path on the *other* organization's host, signed in as that
organization's owner: the answer must be 403/404, never a 2xx, and must not
hold the object's id — or one organization reached another's data by id.

Configured by PROOF_PEER_HOST and PROOF_PEER_TOKEN (unset: the check does
nothing, as on the root host).

`before_call`: schema-valid (positive) cases meet the rules that depend on
data and that no schema can state, so positive_data_acceptance judges the
schema and not the luck of the draw: a made-up `cursor` is dropped (cursors
are opaque; only the server makes them; tests/proof/test_bad_input.py sends
bogus ones), an `assignee_id` names the fuzzing user (an assignee must be a
member: 422), and a sign-up's password is one Django's validators accept
(similarity to the email, the common-password list). Negative cases are
left as generated.
"""

import atexit
import json
import os
import threading
import uuid

import requests
import schemathesis
from schemathesis.specs.openapi import object_authorization

PEER_HOST = os.environ.get("PROOF_PEER_HOST", "")
PEER_TOKEN = os.environ.get("PROOF_PEER_TOKEN", "")
STATS_PATH = os.environ.get("PROOF_FUZZ_STATS", "")
SELF_ID = os.environ.get("PROOF_SELF_ID", "")
_session = requests.Session()
_stats = {"ola_probes": 0, "cross_tenant_replays": 0}
_lock = threading.Lock()


def _count(name: str) -> None:
    with _lock:
        _stats[name] += 1


# Count the requests object_level_authorization sends as the other user, so a
# run can show the check did probe (it passes silently when it finds nothing to probe).
_send_probe = object_authorization.send_probe


def _counting_send_probe(*args, **kwargs):
    _count("ola_probes")
    return _send_probe(*args, **kwargs)


object_authorization.send_probe = _counting_send_probe


@atexit.register
def _write_stats() -> None:
    if STATS_PATH:
        with open(STATS_PATH, "w") as fh:
            json.dump(_stats, fh)


@schemathesis.check
def cross_tenant_replay(ctx, response, case):
    """The same request by another organization's owner on that organization's host must not reach the object."""
    if not PEER_HOST or not case.path_parameters or not 200 <= response.status_code < 300:
        return None
    if case.path.endswith("/events"):  # a stream: never replayed
        return None
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in {"authorization", "host"}}
    headers.update({"Host": PEER_HOST, "Authorization": f"Bearer {PEER_TOKEN}"})
    url = response.request.url
    kwargs = {"headers": headers, "params": None, "timeout": 10, "allow_redirects": False}
    body = response.request.body
    if body is not None:
        kwargs["data"] = body
    peer = _session.request(case.method, url, **kwargs)
    _count("cross_tenant_replays")
    ids = {str(v) for v in case.path_parameters.values()}
    if 200 <= peer.status_code < 300:
        raise AssertionError(
            f"cross-tenant bypass: {case.method} {url} with Host {PEER_HOST} as its owner -> "
            f"{peer.status_code} (the object belongs to the fuzzed organization): {peer.text[:300]}"
        )
    if peer.status_code not in (403, 404, 405, 422):
        raise AssertionError(f"cross-tenant replay answered {peer.status_code}: {peer.text[:300]}")
    leaked = [i for i in ids if i in peer.text]
    if leaked and peer.status_code != 422:
        raise AssertionError(f"cross-tenant replay echoed the object id(s) {leaked}: {peer.text[:300]}")
    return None


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    if isinstance(case.query, dict):
        case.query.pop("cursor", None)
    body = case.body
    if not isinstance(body, dict):
        return
    if SELF_ID and body.get("assignee_id") is not None:
        body["assignee_id"] = SELF_ID
    if case.path.endswith("/auth/signup") and "password" in body:
        body["password"] = f"Fuzz-{uuid.uuid4().hex}"
