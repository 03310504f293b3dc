"""Form-field rules shared by the publish operations: blanks, slugs, titles, refs."""

from __future__ import annotations

import re

from api.cloud.errors import CloudError

SLUG_MAX_LEN = 64
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
REF_RE = re.compile(r"^[^/\s]+/[^/\s]+$")
TITLE_MAX_LEN = 200
DESCRIPTION_MAX_LEN = 5000


def sentence(text: object) -> str:
    """``text`` on one line, ending with exactly one full stop (for error messages built from exceptions)."""
    line = " ".join(str(text).split())
    return line if line.endswith((".", "!", "?")) else line + "."


def blank_to_none(value: str | None) -> str | None:
    """Clients send ``""`` for unset optional fields: treat blank text as absent."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def slugify(text: str) -> str:
    """Lowercase letters, digits and single hyphens (``"My Scene!"`` -> ``"my-scene"``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-")
    return slug[:SLUG_MAX_LEN].rstrip("-")


def normalize_slug(value: str | None, default: str) -> str:
    """The slug to publish under: the user's (slugified) or ``default``; 400 when nothing is left."""
    raw = blank_to_none(value)
    if raw is None:
        return default
    slug = slugify(raw)
    if not slug or not SLUG_RE.match(slug):
        raise CloudError(400, f"slugPath {raw!r} is invalid: use lowercase letters, digits and hyphens.")
    return slug


def with_suffix(slug: str, n: int) -> str:
    """``slug`` for n == 1, else ``slug-n`` (kept within the length limit)."""
    if n == 1:
        return slug
    suffix = f"-{n}"
    return slug[: SLUG_MAX_LEN - len(suffix)].rstrip("-") + suffix


def text_field(value: str | None, name: str, default: str, max_len: int) -> str:
    """A free-text field with a default; 400 when longer than ``max_len``."""
    text = blank_to_none(value)
    if text is None:
        return default
    if len(text) > max_len:
        raise CloudError(400, f"{name} is too long ({len(text)} characters; at most {max_len}).")
    return text


def title_field(value: str | None, default: str) -> str:
    return text_field(value, "title", default, TITLE_MAX_LEN)


def description_field(value: str | None, default: str) -> str:
    return text_field(value, "description", default, DESCRIPTION_MAX_LEN)


def parse_ref(value: str, name: str) -> tuple[str, str]:
    """``"owner/slug"`` -> ``(owner, slug)``; 400 naming the field otherwise."""
    ref = value.strip()
    if not REF_RE.match(ref):
        raise CloudError(400, f"{name} {value!r} is invalid: expected 'owner/slug', e.g. 'chasebrignac/parkour'.")
    owner, _, slug = ref.partition("/")
    return owner, slug
