"""The one atomic writer: all of the new content or all of the old, never a temp file left."""

from __future__ import annotations

import json
import os
import stat

import pytest

from infragap import atomic
from infragap.atomic import write_atomically, write_json_atomically


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_bytes_and_text_creating_the_folder(tmp_path):
    path = tmp_path / "new" / "folder" / "out.bin"
    write_atomically(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    write_atomically(path, "µs\n")
    assert path.read_bytes() == "µs\n".encode()
    assert os.listdir(path.parent) == ["out.bin"]


def test_a_new_file_is_readable_by_everyone(tmp_path):
    path = tmp_path / "results.json"
    write_atomically(path, "{}\n")
    assert _mode(path) == atomic.NEW_FILE_MODE == 0o644


def test_an_existing_file_keeps_its_mode(tmp_path):
    path = tmp_path / "tool.py"
    path.write_text("old\n")
    path.chmod(0o750)
    write_atomically(path, b"new\n")
    assert path.read_bytes() == b"new\n"
    assert _mode(path) == 0o750
    assert os.listdir(tmp_path) == ["tool.py"]


def test_an_explicit_mode_wins(tmp_path):
    path = tmp_path / "tool.py"
    path.write_text("old\n")
    path.chmod(0o750)
    write_atomically(path, b"new\n", 0o600)
    assert _mode(path) == 0o600


def test_the_file_and_its_folder_are_fsynced(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    write_atomically(tmp_path / "out.txt", "x")
    assert synced == [False, True]  # the temp file before the rename, the folder after


def test_json_round_trip(tmp_path):
    path = tmp_path / "doc.json"
    write_json_atomically(path, {"a": [1, 2.5], "b": None})
    assert json.loads(path.read_text()) == {"a": [1, 2.5], "b": None}
    assert path.read_text().endswith("}\n")


@pytest.mark.parametrize("bad", [float("nan"), object()])
def test_an_unserialisable_doc_leaves_the_old_file_alone(tmp_path, bad):
    path = tmp_path / "doc.json"
    write_json_atomically(path, {"ok": 1})
    before = path.read_bytes()
    with pytest.raises((ValueError, TypeError)):
        write_json_atomically(path, {"bad": bad})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["doc.json"]


def test_a_failing_rename_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "out.txt"
    path.write_text("old\n")

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, "new\n")
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_a_failing_write_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "out.txt"

    def fail(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(atomic.os, "fsync", fail)
    with pytest.raises(OSError, match="I/O error"):
        write_atomically(path, "new\n")
    assert os.listdir(tmp_path) == []
