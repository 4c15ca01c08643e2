import re

from platform_core.errors import InvalidInput

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
RESERVED_SLUGS = frozenset(
    """
    www api admin public static media assets cdn app apps auth login logout signup register
    account accounts billing docs help support status mail email smtp imap pop ftp ns ns1 ns2
    root system platform internal dashboard console blog dev staging test demo
    """.split()
)


def validate_slug(slug: str) -> str:
    if not SLUG_RE.match(slug or ""):
        raise InvalidInput(
            "Slug must be 3-40 characters: lower-case letters, digits and hyphens, "
            "starting with a letter and not ending with a hyphen.",
            loc=["body", "slug"],
        )
    if slug in RESERVED_SLUGS or slug.startswith("xn--"):
        raise InvalidInput("This slug is reserved.", loc=["body", "slug"])
    return slug


# Characters an organization name may not hold: C0 and C1 controls (tab, CR, LF,
# ESC...), DEL, the Unicode line and paragraph separators, and bidirectional
# embeddings/overrides/isolates (which can make a name read backwards). Names
# go into email subjects and bodies; platform_core.emails quotes them anyway.
ORG_NAME_FORBIDDEN = "\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069"
ORG_NAME_PATTERN = f"^[^{ORG_NAME_FORBIDDEN}]*$"  # for the OpenAPI schema (ECMA 262 and Python agree)
_ORG_NAME_FORBIDDEN_RE = re.compile(f"[{ORG_NAME_FORBIDDEN}]")
ORG_NAME_MESSAGE = "The name must not contain control characters or line breaks."


def org_name_is_clean(name: str) -> bool:
    return _ORG_NAME_FORBIDDEN_RE.search(name or "") is None


def validate_org_name(name: str) -> str:
    """Service-level check of an organization name (the API schema checks the same)."""
    if not org_name_is_clean(name):
        raise InvalidInput(ORG_NAME_MESSAGE, loc=["body", "name"])
    return name
