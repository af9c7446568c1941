"""Comment lines for generated Python files."""

from __future__ import annotations

import textwrap

WIDTH = 96


def comment(text: str, indent: str = "") -> list[str]:
    """`text` as `# ` lines at `indent`, wrapped to the page; `{{ ds }}` stays whole."""
    lines = textwrap.wrap(
        text.replace("{{ ds }}", "{{\0ds\0}}"),
        WIDTH - len(indent),
        initial_indent=f"{indent}# ",
        subsequent_indent=f"{indent}# ",
        break_on_hyphens=False,
        break_long_words=False,
    )
    return [line.replace("\0", " ") for line in lines]
