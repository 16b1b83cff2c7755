"""The README stays true: its rule table, its commands and its profile list match the code."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
sys.path.insert(0, str(ROOT / "tools"))


def test_rule_table_is_current() -> None:
    from update_readme import END, START, rules_table

    current = README.split(START, 1)[1].split(END, 1)[0].strip()
    assert current == rules_table(), "run `python tools/update_readme.py`"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    blocks = re.findall(r"```bash\n(.*?)\n```", README, re.S)
    assert "python -m pytest -q" in blocks
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.rstrip().splitlines()[-1] == "python -m pytest -q"


def test_ci_installs_with_the_readme_install_command() -> None:
    install = next(b for b in re.findall(r"```bash\n(.*?)\n```", README, re.S) if b.startswith("pip install"))
    pip_part = install.split("&&")[0].strip()
    assert pip_part in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_profile_is_listed() -> None:
    from thinklint.profiles import builtin_profiles

    for name in builtin_profiles():
        assert f"`{name}`" in README, name
