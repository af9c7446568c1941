"""Jupyter notebooks read as Python: their code cells, joined, for the report-only rules.

`notebook_code` turns an nbformat 4 notebook into one Python text, a `# %% cell N`
marker line before each code cell, and keeps one line of text per line of cell code, so
a line of the text is a line of a cell. What IPython runs but Python cannot (`%magic`,
`!shell`, `name?`, `x = !ls`) becomes `pass` with the same indentation; a cell magic
other than a timing or capture one (`%%bash`, `%%sql`) makes the whole cell comments,
as does a cell that is still not Python. `place` maps a line of that text back to the
notebook: cell N counts every cell from the top, markdown ones included, from 1; the
line of the `.ipynb` file is the line holding that code where Jupyter writes one source
line per JSON line (checked, never assumed), else the line of the cell's `"source"`.

Notebooks are never rewritten: `apply` passes them over.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass

NOTEBOOK_SUFFIX = ".ipynb"
MARKER = re.compile(r"# %% cell (\d+) \(notebook line (\d+)(, one string)?\)")
# Cell magics whose body is Python: their first line goes, the rest is read.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "memit"})
IPYTHON_LINE = re.compile(
    r"\s*(?:[%!?]|[\w.]+\s*\?{1,2}\s*$|[\w.,\s]+=\s*[%!](?!=))"  # %ls !ls ?x x? a = !ls
)
SOURCE_KEY = re.compile(r'"source"\s*:')


@dataclass(frozen=True)
class Place:
    """Where a line of the joined code is in the notebook."""

    cell: int  # counting every cell from the top, from 1
    line: int  # in the cell, from 1
    file_line: int  # in the .ipynb file; 0 when the file's layout does not say

    def __str__(self) -> str:
        return f"cell {self.cell} line {self.line}"


def is_notebook(path: str) -> bool:
    return path.endswith(NOTEBOOK_SUFFIX)


def notebook_code(text: str) -> tuple[str, str]:
    """(the joined Python of the code cells, "") or ("", why the notebook is not read)."""
    try:
        document = json.loads(text)
    except ValueError as err:
        return "", f"not a readable notebook: invalid JSON ({err})"
    problem = _shape_problem(document)
    if problem:
        return "", problem
    cells = document["cells"]
    source_lines = _source_lines(text, len(cells))
    parts: list[str] = []
    for number, cell in enumerate(cells, 1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        lines = ("".join(source) if isinstance(source, list) else source).splitlines()
        first, one_string = _file_line(text, source, source_lines, number)
        tail = ", one string" if one_string else ""
        parts.append(f"# %% cell {number} (notebook line {first}{tail})")
        parts.extend(_python_lines(lines))
    return "\n".join(parts) + "\n" if parts else "", ""


def place(code: str, line: int) -> Place | None:
    """The notebook cell and line of line `line` (1-based) of `notebook_code`'s text."""
    lines = code.splitlines()
    for index in range(min(line, len(lines)) - 1, -1, -1):
        found = MARKER.fullmatch(lines[index])
        if found:
            offset = line - (index + 1)
            if offset < 1:
                return None  # the marker line itself
            first = int(found.group(2))
            file_line = first if found.group(3) or not first else first + offset - 1
            return Place(int(found.group(1)), offset, file_line)
    return None


def _shape_problem(document: object) -> str:
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        if isinstance(document, dict) and "worksheets" in document:
            return "an nbformat 3 notebook: only nbformat 4 is read (convert it with nbconvert)"
        return "not a Jupyter notebook: no list of cells"
    if not isinstance(document.get("nbformat"), int) or document["nbformat"] < 4:
        return f"nbformat {document.get('nbformat')!r}: only nbformat 4 notebooks are read"
    language = _language(document.get("metadata"))
    if language and language.lower() != "python":
        return f"a {language} notebook: only Python notebooks are read"
    for number, cell in enumerate(document["cells"], 1):
        source = cell.get("source", "") if isinstance(cell, dict) else None
        if not isinstance(source, (str, list)) or (
            isinstance(source, list) and not all(isinstance(part, str) for part in source)
        ):
            return f"not a readable notebook: cell {number} has no text source"
    return ""


def _language(metadata: object) -> str:
    if not isinstance(metadata, dict):
        return ""
    for key, field in (("language_info", "name"), ("kernelspec", "language")):
        value = metadata.get(key)
        if isinstance(value, dict) and isinstance(value.get(field), str):
            return str(value[field])
    return ""


def _python_lines(lines: list[str]) -> list[str]:
    """One line out per line in: IPython syntax made `pass`, a non-Python cell comments."""
    magic = lines[0].strip()[2:].split(maxsplit=1) if lines and lines[0].startswith("%%") else []
    if magic and magic[0] not in PYTHON_CELL_MAGICS:
        return [f"# cell magic %%{magic[0]}: not Python" for _ in lines]
    kept = [
        f"{line[: len(line) - len(line.lstrip())]}pass  # IPython, not Python"
        if IPYTHON_LINE.match(line) or (index == 0 and magic)
        else line
        for index, line in enumerate(lines)
    ]
    try:
        ast.parse("\n".join(kept))
    except (SyntaxError, ValueError) as err:
        why = getattr(err, "msg", str(err))
        return [f"# cell not read: not valid Python ({why})" for _ in lines]
    return kept


def _source_lines(text: str, cells: int) -> list[int]:
    """The file line of each cell's `"source"` key, in cell order; [] when the count of
    such keys is not the count of cells (a key of that name in some metadata)."""
    found = [text.count("\n", 0, match.start()) + 1 for match in SOURCE_KEY.finditer(text)]
    return found if len(found) == cells else []


def _file_line(
    text: str, source: str | list[str], source_lines: list[int], number: int
) -> tuple[int, bool]:
    """(file line of the cell's first code line, whether all its code is on that line)."""
    if not source_lines:
        return 0, True
    key_line = source_lines[number - 1]
    if isinstance(source, str) or not source or any("\n" in part[:-1] for part in source):
        return key_line, True
    file_lines = text.splitlines()
    for offset, part in enumerate(source, 1):
        index = key_line - 1 + offset
        written = file_lines[index].strip().rstrip(",") if index < len(file_lines) else ""
        try:
            if json.loads(written) != part:
                return key_line, True
        except ValueError:
            return key_line, True
    return key_line + 1, False
