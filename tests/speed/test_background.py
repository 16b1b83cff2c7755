"""Background writes (`thinklint.background`): a large cache entry is written by a forked child while the
parent prints its report, and is written by the time the command returns.

Each case runs in a fresh interpreter: thinklint forks only a process with no other thread and no
tokenizer loaded, and a test session has both.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.util import run_python

from .corpus import GOOD

#: a write that waits until the parent says go (a file appears), then records the process that wrote
_WRITER = """
import os, threading, time
from pathlib import Path
from thinklint.background import deferring, later
out, go = Path({out!r}), Path({go!r})
def write(path, text, wait=False):
    deadline = time.monotonic() + 20
    while wait and not go.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    path.write_text(f"{{text}} {{os.getpid()}}")
"""


def _run(tmp: Path, body: str) -> list[str]:
    code = _WRITER.format(out=str(tmp / "out"), go=str(tmp / "go")) + body
    done = run_python(code, cwd=tmp)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # nothing of a child's reaches the terminal
    return done.stdout.split()


def test_a_write_within_deferring_runs_in_a_child_and_is_done_when_the_block_ends(tmp_path: Path) -> None:
    said = _run(tmp_path, """
with deferring():
    later(write, out, "a", True)
    print(out.exists())  # the child waits for go: not written yet, and the parent went on
    go.touch()
text, pid = out.read_text().split()
print(text, pid != str(os.getpid()))
""")
    assert said == ["False", "a", "True"]


def test_writes_land_in_the_order_they_were_asked_for(tmp_path: Path) -> None:
    # the first write waits for go, which only comes after the second was asked for: had the second
    # not waited for the first, the first would land last
    said = _run(tmp_path, """
with deferring():
    later(write, out, "first", True)
    threading.Timer(0.3, go.touch).start()  # a thread now: the second write is done in place
    later(write, out, "second")
print(out.read_text().split()[0])
""")
    assert said == ["second"]


def test_outside_deferring_or_beside_another_thread_a_write_is_done_at_once(tmp_path: Path) -> None:
    said = _run(tmp_path, """
later(write, out, "outside")
print(out.read_text().split()[1] == str(os.getpid()))
stop = threading.Event()
threading.Thread(target=stop.wait).start()
with deferring():
    later(write, out, "threaded")
    print(out.read_text().split() == ["threaded", str(os.getpid())])
stop.set()
""")
    assert said == ["True", "True"]


def test_a_child_that_fails_costs_only_its_write(tmp_path: Path) -> None:
    said = _run(tmp_path, """
def fail(path):
    raise RuntimeError("disk on fire")
with deferring():
    later(fail, out)
print("went on", out.exists())
""")
    assert said == ["went", "on", "False"]  # and no traceback (`_run` checks stderr)


def test_an_edited_run_writes_its_entry_in_a_child_and_returns_with_it_written(tmp_path: Path) -> None:
    """`thinklint check` after a one-line edit of a 2,100-sample file: the entry is rewritten by a forked
    child, and the command returns with it on disk (a fourth run reads nothing but the entry)."""
    from thinklint.cache import BACKGROUND_SAMPLES

    rows = [{**GOOD, "id": i} for i in range(BACKGROUND_SAMPLES + 100)]
    rows[7] = {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "<think>open"}]}
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "thinklint.yaml").write_text("version: 1\ndatasets:\n  - {name: d, path: data.jsonl}\n",
                                             encoding="utf-8")
    code = """
import os, sys, json
from pathlib import Path
from thinklint.cli import main
from thinklint.entries import load_entry
forks = []
real_fork = os.fork
def fork():
    pid = real_fork()
    if pid:
        forks.append(sys._getframe(1).f_code.co_filename.endswith("background.py"))
    return pid
os.fork = fork
def check():
    try:
        main(["check", "--exit-zero", "data.jsonl"])
    except SystemExit:
        pass
check()  # cold
lines = Path("data.jsonl").read_text().splitlines()
lines[1000] = lines[1000].replace('"id": 1000', '"id": "edited"')
Path("data.jsonl").write_text("\\n".join(lines) + "\\n")
forks.clear()
check()  # edited: the entry rewritten in a child, waited for
entry = load_entry(next(Path(".thinklint_cache").glob("v*/*/*.entry")))
print("FORKS", json.dumps(forks), "SAMPLES", len(entry) if entry else None, file=sys.stderr)
"""
    done = run_python(code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    said = done.stderr.split()
    assert said[said.index("FORKS"):] == ["FORKS", "[true]", "SAMPLES", str(len(rows))]
    assert done.stdout.count("data.jsonl:8: THK001") == 2  # in the cold run and in the edited one
    # the edited sample's key is in the entry the child wrote: nothing is checked again
    counted = run_python("""
from thinklint import engine
from thinklint.cli import main
calls = []
real = engine.normalise
engine.normalise = lambda *a, **k: calls.append(1) or real(*a, **k)
try:
    main(["check", "--exit-zero", "data.jsonl"])
except SystemExit:
    pass
print("NORMALISED", len(calls))
""", cwd=tmp_path)
    assert "data.jsonl:8: THK001" in counted.stdout and "NORMALISED 0" in counted.stdout, counted.stderr
