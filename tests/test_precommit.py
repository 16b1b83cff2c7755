"""The pre-commit manifest, and the hooks installed and run by pre-commit itself (offline)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD = {"messages": [{"role": "user", "content": "2+2?"},
                     {"role": "assistant", "content": "<think>\nadd\n</think>\n\n4"}]}
BAD = {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "<think>\nadd\n4"}]}


def _pre_commit(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


def test_manifest_is_valid() -> None:
    r = _pre_commit("validate-manifest", ".pre-commit-hooks.yaml", cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


def test_example_config_is_valid() -> None:
    r = _pre_commit("validate-config", "examples/.pre-commit-config.yaml", cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


def _wheelhouse() -> Path | None:
    where = os.environ.get("THINKLINT_WHEELHOUSE")
    path = Path(where) if where else ROOT / ".ci" / "wheelhouse"
    return path if path.is_dir() and any(path.glob("*.whl")) else None


@pytest.mark.slow
def test_try_repo_on_a_bad_and_a_clean_dataset(tmp_path: Path) -> None:
    wheels = _wheelhouse()
    if wheels is None:
        pytest.skip("no offline wheelhouse (set THINKLINT_WHEELHOUSE; .ci/run builds one): "
                    "installing the hook must not reach PyPI from a test")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("pre-commit try-repo needs git and a git checkout of thinklint")
    repo = tmp_path / "datasets"
    (repo / "data").mkdir(parents=True)
    (repo / "thinklint.yaml").write_text(
        "version: 1\ndatasets:\n  - {name: clean, path: data/clean.jsonl}\n  - {name: bad, path: data/bad.jsonl}\n")
    (repo / "data" / "clean.jsonl").write_text(json.dumps(GOOD) + "\n")
    (repo / "data" / "bad.jsonl").write_text(json.dumps(BAD) + "\n")
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels),
           "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)

    clean = _pre_commit("try-repo", str(ROOT), "thinklint", "--files", "data/clean.jsonl", cwd=repo, env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout

    bad = _pre_commit("try-repo", str(ROOT), "thinklint", "--files", "data/bad.jsonl", cwd=repo, env=env)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "data/bad.jsonl:1: THK001" in bad.stdout

    spec_ok = _pre_commit("try-repo", str(ROOT), "thinklint-spec", "--files", "thinklint.yaml", cwd=repo, env=env)
    assert spec_ok.returncode == 0, spec_ok.stdout + spec_ok.stderr
    (repo / "thinklint.yaml").write_text("version: 1\ndatasets: []\nunknown: 1\n")
    spec_bad = _pre_commit("try-repo", str(ROOT), "thinklint-spec", "--files", "thinklint.yaml", cwd=repo, env=env)
    assert spec_bad.returncode == 1
    assert "thinklint.yaml" in spec_bad.stdout and "Traceback" not in spec_bad.stdout
