from ninja import Router

from platform_core.auth import member_auth

router = Router(tags=["invites"], auth=member_auth)
