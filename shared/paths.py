"""A request path to another service built from ids a page was given: each id is one
segment, percent-encoded, so an id holding `?`, `#` or `/` (Flask decodes them from the
page's own URL) cannot change which resource, or which query, the call reaches."""
from urllib.parse import quote


def path(*parts) -> str:
    """`path("funds", fund_id, "ballot")` is "/funds/<fund_id, encoded>/ballot"."""
    return "".join("/" + quote(str(part), safe="") for part in parts)
