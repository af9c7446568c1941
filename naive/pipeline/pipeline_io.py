"""What the four steps share: arguments, file locations, careful reads, atomic writes.

A step computes its outputs, then commits them: each is written under a temporary name
and renamed into place, so a step that fails never leaves a file that looks finished.
A problem with an input ends the step with exit code EXIT_BAD_INPUT and one line on
stderr naming the file, what is wrong with it and what to do.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import injected_faults
import pandas as pd

EXIT_BAD_INPUT = 1

Writer = Callable[[Path], None]
Output = tuple[Path, Writer]


class StepError(Exception):
    """A problem with an input: the message names the file, the cause and the fix."""


@dataclass(frozen=True)
class StepArgs:
    day: str
    work_dir: Path
    raw_dir: Path | None = None

    def partition(self, kind: str, filename: str) -> Path:
        return self.work_dir / kind / f"date={self.day}" / filename


def parse_args(step: str, argv: list[str] | None, needs_raw: bool) -> StepArgs:
    parser = argparse.ArgumentParser(prog=f"{step}.py")
    parser.add_argument("--date", required=True, help="the day to process, YYYY-MM-DD")
    parser.add_argument("--work-dir", required=True, type=Path, help="pipeline outputs")
    if needs_raw:
        parser.add_argument("--raw-dir", required=True, type=Path, help="raw daily exports")
    args = parser.parse_args(argv)
    try:
        date.fromisoformat(args.date)
    except ValueError:
        parser.error(f"--date {args.date!r} is not a date: give YYYY-MM-DD")
    return StepArgs(args.date, args.work_dir, getattr(args, "raw_dir", None))


def read_parquet(path: Path, what: str, fix: str, columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a Parquet input or raise StepError naming it; `fix` says how to get it back."""
    import pyarrow

    if not path.is_file():
        raise StepError(f"{what} {path} is missing: {fix}")
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError, pyarrow.ArrowException) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise StepError(f"{what} {path} is corrupt ({reason}): delete it, then {fix}") from None
    absent = [column for column in columns if column not in frame.columns]
    if absent:
        raise StepError(f"{what} {path} lacks the columns {', '.join(absent)}: {fix}")
    return frame


def read_pickle(path: Path, what: str, fix: str) -> Any:
    if not path.is_file():
        raise StepError(f"{what} {path} is missing: {fix}")
    try:
        with open(path, "rb") as source:
            return pickle.load(source)
    except Exception as error:  # any failure to unpickle means the file is damaged
        raise StepError(
            f"{what} {path} is corrupt ({type(error).__name__}): delete it, then {fix}"
        ) from None


def parquet_writer(frame: pd.DataFrame) -> Writer:
    return lambda path: frame.to_parquet(path, index=False)


def pickle_writer(value: Any) -> Writer:
    def write(path: Path) -> None:
        with open(path, "wb") as out:
            pickle.dump(value, out)

    return write


def json_writer(value: Any) -> Writer:
    def write(path: Path) -> None:
        path.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n", encoding="utf-8")

    return write


def write_atomically(path: Path, write: Writer) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as done:
            os.fsync(done.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def main(
    step: str,
    work: Callable[[StepArgs], list[Output]],
    argv: list[str] | None = None,
    needs_raw: bool = False,
) -> int:
    """Parse arguments, run `work`, commit its outputs; the process exit code."""
    args = parse_args(step, argv, needs_raw)
    try:
        outputs = work(args)
    except StepError as error:
        print(f"{step}: error: {error}", file=sys.stderr, flush=True)
        return EXIT_BAD_INPUT
    injected_faults.checkpoint(step, args.day)
    for path, write in outputs:
        write_atomically(path, write)
    print(f"{step} {args.day}: wrote {', '.join(str(path) for path, _ in outputs)}", flush=True)
    return 0
