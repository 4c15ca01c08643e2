"""Messages are written for humans: every 403 of the permission matrix says in a
sentence who may do it (issue 15: "Your role may not board delete."), and
422s carry our validators' sentences without pydantic's "Value error, "."""

import pytest

from platform_core.denials import DEFAULT, DENIALS, denied_message
from platform_core.permissions import Action


@pytest.mark.parametrize("action", list(Action))
def test_every_action_has_a_sentence(action):
    message = denied_message(action.value)
    assert action.value in DENIALS and message != DEFAULT
    assert message[0].isupper() and message.endswith(".")
    assert action.value not in message and "_" not in message and "may not" not in message


@pytest.mark.django_db
def test_forbidden_through_the_api(api, world):
    """A member of acme may not create a board; a member of globex neither, with
    the same sentence (nothing of acme in it)."""
    for org in (world.a, world.b):
        resp = api(org, org.member).post("/boards", {"name": "Nope"})
        assert resp.status_code == 403
        assert resp.json() == {
            "code": "forbidden", "detail": "Only the organization's owners and admins can create boards.",
        }


@pytest.mark.django_db
def test_validation_sentences_without_pydantic_prefix(api, world):
    for org in (world.a, world.b):
        resp = api(org, org.owner).get("/tasks", {"due_before": "0.5"})
        assert resp.status_code == 422
        (error,) = resp.json()["errors"]
        assert error["loc"] == ["query", "due_before"]
        assert error["msg"].startswith("Enter a date and time in RFC 3339 format")
