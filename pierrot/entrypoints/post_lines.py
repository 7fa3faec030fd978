"""What a dry run says a post carries besides its text and image: its language, its warning, its hashtags."""

from __future__ import annotations

from typing import Any


def post_extras(result: Any) -> list[str]:
    """A network result's lines for language, warning and hashtags (none when the post carries none)."""
    lines = [f"language:  {result.language}"] if result.language else []
    if result.sensitive:
        how = {"spoiler": f"{result.warning} (shown first; the image marked sensitive)",
               "label": f"a self-label hides the image ({result.warning!r} is not shown)",
               "media": f"the image is blurred until tapped ({result.warning!r} is not shown)"}
        lines.append(f"warning:   {how.get(result.warning_kind, f'none: {result.display} has no such field')}")
    return lines + ([f"hashtags:  {result.hashtags}"] if result.hashtags else [])
