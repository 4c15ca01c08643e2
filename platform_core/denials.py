"""The `detail` of a 403 from the permission matrix: a sentence for humans,
per action (platform_core.permissions.Action values), saying who may."""

MANAGERS_ONLY = "Only the organization's owners and admins can {}."

DENIALS: dict[str, str] = {
    "account.signup": "You cannot sign up.",
    "account.token": "You cannot sign in.",
    "account.logout": "Sign in first.",
    "account.read": "Sign in to see your profile.",
    "account.org_create": "Sign in to create an organization.",
    "account.org_list": "Sign in to see your organizations.",
    "platform.access": "Only operators can use the platform endpoints.",
    "platform.org_read": "Only operators can see all organizations.",
    "platform.org_create": "Only operators can provision organizations.",
    "platform.org_update": "Only operators can change organizations here.",
    "platform.org_suspend": "Only operators can suspend or resume organizations.",
    "platform.org_delete": "Only operators can delete organizations.",
    "org.read": "Only members can see this organization.",
    "org.update": MANAGERS_ONLY.format("rename the organization"),
    "member.read": "Only members can see the organization's members.",
    "member.change_role": MANAGERS_ONLY.format("change members' roles"),
    "member.remove": "Only the organization's owners and admins can remove other members; you can leave yourself.",
    "invite.read": MANAGERS_ONLY.format("see invites"),
    "invite.create": MANAGERS_ONLY.format("invite people"),
    "invite.revoke": MANAGERS_ONLY.format("revoke invites"),
    "invite.accept": "Sign in to accept an invite.",
    "board.read": "Only members can see boards.",
    "board.create": MANAGERS_ONLY.format("create boards"),
    "board.update": MANAGERS_ONLY.format("change boards"),
    "board.delete": MANAGERS_ONLY.format("delete boards"),
    "list.create": MANAGERS_ONLY.format("add lists"),
    "list.update": MANAGERS_ONLY.format("change lists"),
    "list.delete": MANAGERS_ONLY.format("delete lists"),
    "task.read": "Only members can see tasks.",
    "task.create": "Only members can create tasks.",
    "task.update": "Only the task's creator, its assignee, and the organization's owners and admins "
    "can change this task.",
    "task.delete": "Only the task's creator and the organization's owners and admins can delete this task.",
    "comment.read": "Only members can see comments.",
    "comment.create": "Only members can comment.",
    "comment.update": "Only the author can edit this comment.",
    "comment.delete": "Only the author and the organization's owners and admins can delete this comment.",
    "audit.read": MANAGERS_ONLY.format("read the audit log"),
    "token.read": "Only members can see their API tokens.",
    "token.read_all": MANAGERS_ONLY.format("see everyone's API tokens"),
    "token.create": "Only members can create API tokens.",
    "token.revoke": "Only the token's owner and the organization's owners and admins can revoke this API token.",
}
DEFAULT = "You do not have permission to do this."


def denied_message(action: str) -> str:
    return DENIALS.get(str(action), DEFAULT)
