"""Which shell commands run a Python step: `python x.py`, `python3 -m pkg.step`,
`"$PYTHON" "$HERE/x.py"` (an interpreter named by a *PYTHON* variable) and the like."""

from __future__ import annotations

import re

STEP = re.compile(
    r"(?:(?<![\w.$-])(?:[\w./-]*/)?python(?:\d(?:\.\d+)?)?|\$\{?[A-Z_]*PYTHON[A-Z0-9_]*\}?)"
    r"[\"']?\s+(?:-[A-Za-z]\s+)*"
    r"(?:-m\s+(?P<module>[\w.]+)|[\"']?(?P<script>[^\s\"';&|<>()]*\.py)\b)"
)


def step_name(command: str) -> str:
    """The name of the first Python step in `command`; "" when it runs none, or when the
    script's own name is computed (`${STEP}.py`)."""
    match = STEP.search(command)
    if match is None:
        return ""
    if match.group("module"):
        return match.group("module").rsplit(".", 1)[-1]
    name = match.group("script").rsplit("/", 1)[-1].removesuffix(".py")
    return "" if "$" in name or "{" in name else name


def shell_steps(text: str) -> list[tuple[int, str]]:
    """(line, step) for every Python invocation outside comments, in order."""
    steps = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split("#", 1)[0] if not line.lstrip().startswith("#!") else ""
        for match in STEP.finditer(code):
            steps.append((number, match.group("script") or f"-m {match.group('module')}"))
    return steps
