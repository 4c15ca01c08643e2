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
