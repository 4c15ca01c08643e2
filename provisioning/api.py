"""Operator endpoints (`/api/v1/platform/...` on the root host)."""

from ninja import Router

from platform_core.auth import operator_auth

router = Router(tags=["platform"], auth=operator_auth)
