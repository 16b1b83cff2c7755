"""`thinklint show`: plain-text snapshots, the view against the trainer's encoding, errors, the CLI."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.example_repo import (
    ROOT,
    example_repo,
    golden,
    needs_tokenizer,
    qwen3_tokenizer,
)
from thinklint.app import UsageError, run_lint
from thinklint.engine import build_contexts, check_sample
from thinklint.planning import plan
from thinklint.settings import Settings
from thinklint.show import SHOW_KEEP, ShowOptions, run_show, show_view
from thinklint.spec import load_spec
from thinklint.views import visible


def show(repo: Path, target: str, index: int | None = None, settings: Settings | None = None,
         **options: Any) -> str:
    out = io.StringIO()
    code = run_show(load_spec(repo / "thinklint.yaml"), settings or Settings(), target, index,
                    ShowOptions(**options), out)
    assert code == 0
    return out.getvalue()


@pytest.fixture
def structural(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = example_repo(tmp_path, tokenizer=False)
    monkeypatch.chdir(repo)
    return repo


@pytest.fixture
def tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    needs_tokenizer()
    repo = example_repo(tmp_path, tokenizer=True)
    monkeypatch.chdir(repo)
    return repo


SEPARATOR = "\n" + "=" * 40 + "\n"


@pytest.mark.tokens
def test_token_view_snapshot(tokens: Path) -> None:
    # a thinking sample, a supervised empty block before a near-miss, text before <think>, math with a system
    outputs = [show(tokens, t) for t in ("data/chat_mixed.jsonl:2", "data/chat_mixed.jsonl:4",
                                          "data/chat_mixed.jsonl:7")]
    outputs.append(show(tokens, "data/math_cot.jsonl", 1))
    golden("show_tokens.txt", SEPARATOR.join(outputs))


@pytest.mark.tokens
def test_token_ids_snapshot(tokens: Path) -> None:
    golden("show_ids.txt", show(tokens, "data/chat_mixed.jsonl:2", ids=True))


def test_structural_snapshot(structural: Path) -> None:
    # no tokenizer: turns and think blocks; a reasoning field; text before the block; an unreadable line
    outputs = [show(structural, f"data/chat_mixed.jsonl:{n}") for n in (5, 7, 8, 9)]
    golden("show_turns.txt", SEPARATOR.join(outputs))


def test_structural_view_says_what_is_missing(structural: Path) -> None:
    out = show(structural, "data/chat_mixed.jsonl:2")
    assert "token view needs model.tokenizer" in out
    assert "token-level rules (MSK, TPL, TRN) not run" in out
    assert "MOD002 [error]" in out


@pytest.mark.tokens
def test_view_is_the_trainers_encoding(tokens: Path) -> None:
    """Every token of every example sample appears once, in order, trained exactly where labels say."""
    from thinklint.app import load_profile
    from thinklint.render import iter_rendered
    from thinklint.show import Viewer

    spec = load_spec(tokens / "thinklint.yaml")
    viewer = Viewer(spec, Settings(), load_profile(spec))  # one tokenizer for every sample
    for file in ("data/chat_mixed.jsonl", "data/math_cot.jsonl"):
        for r in iter_rendered(spec, Settings(), file):
            enc = r.encoded
            if enc is None or not hasattr(enc, "input_ids"):
                continue
            view = viewer.view(r.sample, (), None)
            ids = [i for seg in view.segments for p in seg.pieces for i in p.ids]
            trained = [p.trained for seg in view.segments for p in seg.pieces for _ in p.ids]
            assert ids == list(enc.input_ids)
            assert trained == [label != -100 for label in enc.labels]
            assert [(s.kind, s.length) for s in view.segments] == [(s.kind, len(s)) for s in enc.segments]


@pytest.mark.tokens
def test_characters_split_over_tokens_are_joined() -> None:
    from thinklint.profiles import resolve_profile
    from thinklint.tokens.encoding import Encoding, Segment
    from thinklint.views import TokenNames, segment_views

    tokenizer = qwen3_tokenizer()
    text = "rare: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ꙮ 🧠 naïve"
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert any("\ufffd" in tokenizer.decode([i]) for i in ids), "the test needs a split character"
    enc = Encoding(tuple(ids), tuple(ids), (Segment("answer", 1, 0, len(ids)),), len(ids), False)
    names = TokenNames(tokenizer, resolve_profile("qwen3", ROOT))
    (seg,) = segment_views(enc, names, str)
    assert "".join(p.text for p in seg.pieces) == text
    assert not any("\ufffd" in p.text for p in seg.pieces)
    assert [i for p in seg.pieces for i in p.ids] == ids


def _long_sample(repo: Path) -> None:
    reasoning = " ".join(f"step {n}." for n in range(400))
    line = {"messages": [{"role": "user", "content": "Count."},
                         {"role": "assistant", "content": f"<think>\n{reasoning}\n</think>\n\nDone."}]}
    with (repo / "data" / "chat_mixed.jsonl").open("a", encoding="utf-8") as f:
        f.write("\n" + json.dumps(line) + "\n")


@pytest.mark.tokens
def test_long_segments_show_their_ends(tokens: Path) -> None:
    _long_sample(tokens)
    target = "data/chat_mixed.jsonl:11"
    short, full = show(tokens, target), show(tokens, target, full=True)
    view = show_view(load_spec(tokens / "thinklint.yaml"), Settings(), target, None, SHOW_KEEP)
    (reasoning,) = [s for s in view.segments if s.kind == "reasoning"]
    assert reasoning.elided == reasoning.length - 2 * SHOW_KEEP > 0
    assert f"⋯ {reasoning.elided:,} tokens not shown (--full shows them) ⋯" in short
    assert "not shown" not in full and "step 200." in full and "step 200." not in short


def test_control_characters_are_escaped(structural: Path) -> None:
    line = {"messages": [{"role": "user", "content": "red \x1b[31mALERT\x1b[0m\rover"},
                         {"role": "assistant", "content": "<think>\nok\n</think>\n\nfine"}]}
    (structural / "data" / "chat_mixed.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    out = show(structural, "data/chat_mixed.jsonl:1")
    assert "\x1b" not in out and "\r" not in out
    assert "red \\x1b[31mALERT\\x1b[0m\\x0dover" in out
    assert visible("a\tb\nc") == "a\tb\nc"
    assert visible("abc\u202edef\x85") == "abc\\u202edef\\x85"


@pytest.mark.parametrize("target, index, message", [
    ("data/chat_mixed.jsonl", None, "say which sample"),
    ("data/chat_mixed.jsonl:2", 1, "not both"),
    ("data/missing.jsonl:2", None, "data/missing.jsonl: no such file"),
    ("data/chat_mixed.jsonl:99", None, "has no line 99"),
    ("data/chat_mixed.jsonl", 99, "has no sample 99"),
    ("thinklint.yaml", 0, "belongs to no dataset"),
])
def test_usage_errors(structural: Path, target: str, index: int | None, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        show(structural, target, index)


def test_sample_index_and_line_pick_the_same_sample(structural: Path) -> None:
    assert show(structural, "data/chat_mixed.jsonl", 3) == show(structural, "data/chat_mixed.jsonl:4")


def test_selection_narrows_the_findings(structural: Path) -> None:
    out = show(structural, "data/chat_mixed.jsonl:4", settings=Settings(ignore=("THK",)))
    assert "THK007" not in out and "no findings" in out


def test_check_sample_agrees_with_lint(structural: Path) -> None:
    from thinklint.app import load_profile, prepare
    from thinklint.readers.files import read_records
    from thinklint.readers.formats import normalise

    spec = load_spec(structural / "thinklint.yaml")
    result, _, _ = run_lint(spec, Settings())
    _, selection = prepare(spec, Settings())
    profile = load_profile(spec)
    contexts = build_contexts(spec, profile, None)
    for item in plan(spec):
        assert item.path is not None
        for record in read_records(item.path, 1 << 20):
            if record.index is None:
                continue
            sample = normalise(record, item.dataset, item.display, profile)
            one = check_sample(sample, contexts[item.dataset.name], selection).findings
            assert one == [f for f in result.findings if f.path == item.display and f.sample == record.index]


@pytest.mark.tokens
def test_token_lengths_are_counted_only_when_token_rules_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    needs_tokenizer()
    repo = example_repo(tmp_path, tokenizer=True)
    monkeypatch.chdir(repo)
    spec = load_spec(repo / "thinklint.yaml")
    result, _, _ = run_lint(spec, Settings())
    # 17 samples: one is not JSON, one LLaMA-Factory rejects (role order): 15 are encoded
    assert sum(result.lengths.values()) == 15
    assert list(result.lengths) == sorted(result.lengths) and min(result.lengths) > 10
    structural_only, _, _ = run_lint(spec, Settings(select=("THK", "FMT", "MOD")))
    assert structural_only.lengths == {}


def test_rich_output_is_the_plain_text_in_colour(structural: Path) -> None:
    pytest.importorskip("rich")
    plain = show(structural, "data/chat_mixed.jsonl:7")
    coloured = show(structural, "data/chat_mixed.jsonl:7", plain=False)
    assert "\x1b[" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "thinklint", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_cli_prints_plain_text_through_a_pipe(structural: Path) -> None:
    done = _cli("show", "data/chat_mixed.jsonl:7", cwd=structural)
    assert done.returncode == 0, done.stderr
    assert done.stdout == show(structural, "data/chat_mixed.jsonl:7")
    failed = _cli("show", "data/chat_mixed.jsonl", cwd=structural)
    assert failed.returncode == 2 and "say which sample" in failed.stderr and "Traceback" not in failed.stderr


def test_importing_the_cli_stays_light() -> None:
    code = ("import sys, thinklint.cli; "
            "print(sorted(m for m in ('rich', 'transformers', 'torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == "[]", done.stderr


def test_without_rich_a_terminal_gets_plain_text(structural: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import thinklint.show

    monkeypatch.setattr(thinklint.show, "_has_rich", lambda: False)
    assert show(structural, "data/chat_mixed.jsonl:7", plain=False) == show(structural, "data/chat_mixed.jsonl:7")
