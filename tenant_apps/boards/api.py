from ninja import Router

from platform_core.auth import member_auth

router = Router(tags=["boards"], auth=member_auth)
