"""Sample shapes (thinklint.shapes): samples of one shape get one verdict from the structural rules.

The fast path counts a sample of a shape already seen clean as clean, with that sample's thinking
mode, without running a rule. That is sound only if the structural rules cannot tell two samples of
one shape apart: these tests generate samples (words, whitespace, markers, near misses, switches,
fields) and, for each one that has a shape, a twin whose words are all different but whose shape is
the same, under every builtin family and the spec settings rules read, and require the same verdict.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from thinklint.app import build_run, load_profile
from thinklint.catalog import builtin_rules
from thinklint.context import Context
from thinklint.engine import check_file, check_sample
from thinklint.model import TOKEN_CATEGORIES
from thinklint.planning import plan
from thinklint.profiles import builtin_profiles
from thinklint.readers.files import Record
from thinklint.readers.formats import normalise
from thinklint.selection import Selection
from thinklint.settings import Settings
from thinklint.shapes import COVERED, Shapes
from thinklint.spec import load_spec
from thinklint.think import is_thinking

from .fuzz.strategies import budget

ROOT = Path(__file__).resolve().parent.parent

# -- what samples are made of -----------------------------------------------------------------------
WORD_CHARS = list("abcxyzXYZ0189.,;:!?()[]{}=+-*^'\"_|>\\%$#@~`") + ["数", "学", "é", "ß", "🙂", "\u200b", "ｔ"]
SPACES = [" ", "\n", "\t", "\r", "\u3000", "\xa0", "\u2028", "\x0b", "\n\n", "  ", "\r\n"]
SPECIAL = ["<think>", "</think>", "<thinking>", "</ think>", "<Think>", "&lt;think&gt;", "<think/>", "/think",
           "/no_think", "/nothink", "detailed thinking off", "detailed thinking on", "<|channel|>analysis<|message|>",
           "<|end|>", "<seed:think>", "</seed:think>", "<response>", "</response>", "<|im_end|>", "<", "&", "/",
           "Here are my reasoning steps:\n", "[BEGIN FINAL RESPONSE]", "a < b", "x/think", "/think_more",
           " <think> ", " </think>"]
#: switches as words of their own, as every family that reads them reads them
SWITCHES = [" /think", " /no_think ", "\n/nothink", " /no_think", "/think ", " detailed thinking off"]
word = st.text(alphabet=st.sampled_from(WORD_CHARS), min_size=1, max_size=5)
space = st.sampled_from(SPACES)
words = st.lists(word, min_size=1, max_size=4).map(" ".join)
plain = st.lists(st.one_of(words, words, words, space), max_size=4).map("".join)
#: now and then a text with switches or marker-like strings among its words
spiced = st.lists(st.one_of(words, space, st.sampled_from(SWITCHES), st.sampled_from(SPECIAL)), max_size=5).map("".join)
text = st.one_of(*[plain] * 6, spiced)
edge = st.one_of(st.just(""), st.just(""), st.just("\n"), st.lists(space, max_size=2).map("".join))


@st.composite
def assistant_text(draw: Any) -> str:
    kind = draw(st.integers(0, 5))
    if kind <= 3:  # the family's block, canonical or not, with or without reasoning
        reasoning = draw(st.one_of(words, text, st.just("")))
        lead, trail = (("\n", "\n") if kind <= 1 else (draw(edge), draw(edge)))
        after = "\n\n" if kind <= 1 else draw(edge)
        return draw(edge) + "<think>" + lead + reasoning + trail + "</think>" + after + draw(st.one_of(words, text))
    return draw(st.one_of(words, text))


def _value() -> st.SearchStrategy[Any]:
    return st.one_of(words, text, st.just(""), st.none(), st.booleans(), st.just([]), st.just({}),
                     st.just([{"type": "function"}]), st.integers(-1, 2))


@st.composite
def _roles(draw: Any, user: str, assistant: str, system: str, tool: str) -> list[str]:
    roles = [system] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(1, 3))):
        roles += [user, assistant]
    if draw(st.integers(0, 9)) == 0:  # now and then out of order, or a tool turn
        roles.insert(draw(st.integers(0, len(roles))), draw(st.sampled_from([user, assistant, system, tool])))
    return roles


@st.composite
def openai_sample(draw: Any) -> dict[str, Any]:
    messages = []
    for role in draw(_roles("user", "assistant", "system", "tool")):
        m: dict[str, Any] = {"role": role, "content": draw(assistant_text() if role == "assistant" else text)}
        _sometimes_add(draw, m, ["reasoning_content", "thinking", "reasoning", "name", "tool_calls"], min_size=1)
        messages.append(m)
    sample: dict[str, Any] = {"messages": messages}
    _sometimes_add(draw, sample, ["tools", "id", "system"])
    return sample


def _sometimes_add(draw: Any, into: dict[str, Any], keys: list[str], min_size: int = 0) -> None:
    """One time in five, up to two of `keys` with generated values."""
    if draw(st.integers(0, 4)) == 0:
        for key in draw(st.lists(st.sampled_from(keys), min_size=min_size, max_size=2, unique=True)):
            into[key] = draw(_value())


@st.composite
def sharegpt_sample(draw: Any) -> dict[str, Any]:
    turns = []
    for tag in draw(_roles("human", "gpt", "system", draw(st.sampled_from(["observation", "function_call"])))):
        turns.append({"from": tag, "value": draw(assistant_text() if tag in ("gpt", "function_call") else text)})
    sample: dict[str, Any] = {"conversations": turns}
    _sometimes_add(draw, sample, ["system", "tools", "id"])
    return sample


@st.composite
def alpaca_sample(draw: Any) -> dict[str, Any]:
    sample: dict[str, Any] = {"instruction": draw(text), "output": draw(assistant_text())}
    if draw(st.booleans()):
        sample["input"] = draw(st.one_of(text, st.none()))
    if draw(st.integers(0, 2)) == 0:
        sample["history"] = draw(st.lists(st.tuples(text, assistant_text()).map(list), max_size=2))
    if draw(st.integers(0, 3)) == 0:
        for key in draw(st.lists(st.sampled_from(["system", "tools", "id"]), max_size=2, unique=True)):
            sample[key] = draw(_value())
    return sample


# -- the twin: other words, the same shape ----------------------------------------------------------
CORE_CHARS = list("abcxyz0189.,;:!?()[]{}=+-*^'\"_|>\\%") + ["数", "é", "🙂", " ", "\n", "\t"]
core = st.text(alphabet=st.sampled_from(CORE_CHARS), min_size=1, max_size=12).filter(
    lambda s: not s[0].isspace() and not s[-1].isspace())
MARKERS = ("<think>", "</think>")


def _retext(draw: Any, value: str) -> str:
    """`value` with what lies between its markers written anew: mostly other words between the same
    whitespace edges, sometimes anything at all (the test keeps a twin only when its shape is the
    original's, so a shape that missed a difference rules can see would be caught)."""
    out, rest = [], value
    while rest:
        at = min((i for i in (rest.find(mk) for mk in MARKERS) if i >= 0), default=len(rest))
        segment, rest = rest[:at], rest[at:]
        if draw(st.integers(0, 2)) == 0:
            segment = draw(text)
        elif segment.strip():
            lead = segment[:len(segment) - len(segment.lstrip())]
            trail = segment[len(segment.rstrip()):]
            segment = lead + draw(core) + trail
        out.append(segment)
        marker = next((mk for mk in MARKERS if rest.startswith(mk)), "")
        out.append(marker)
        rest = rest[len(marker):]
    return "".join(out)


def _twin(draw: Any, value: Any) -> Any:
    if isinstance(value, str):
        return _retext(draw, value)
    if isinstance(value, list):
        return [_twin(draw, v) for v in value]
    if isinstance(value, dict):
        return {k: (v if k in ("role", "from") else _twin(draw, v)) for k, v in value.items()}
    return value


# -- the configurations rules read --------------------------------------------------------------------
@lru_cache(maxsize=1)
def _base(tmp: str) -> tuple[Any, Selection]:
    folder = Path(tmp)
    (folder / "thinklint.yaml").write_text(
        "version: 1\nmodel: {profile: qwen3}\npolicy: {min_thinking_ratio: 0.5}\n"
        "datasets:\n  - {name: d, path: d.jsonl}\nrules: {select: [FMT, THK, MOD]}\n", encoding="utf-8")
    spec = load_spec(folder / "thinklint.yaml")
    selection, _contexts = build_run(spec, Settings(), load_profile(spec))
    return spec, selection


TRAININGS = [{"framework": "llamafactory", "template": "qwen3", "enable_thinking": True},
             {"framework": "llamafactory", "template": "qwen3", "enable_thinking": False},
             {"framework": "llamafactory", "template": "qwen3_nothink", "enable_thinking": None},
             {"framework": "chat_template", "template": "qwen3", "enable_thinking": False}]
DATASETS = [{"format": "openai", "mode": "mixed"}, {"format": "openai", "mode": "thinking"},
            {"format": "openai", "mode": "non-thinking"},
            {"format": "sharegpt", "mode": None, "formatting": "openai", "columns": {"messages": "conversations"}},
            {"format": "sharegpt", "mode": "thinking"},
            {"format": "alpaca", "mode": "mixed", "columns": {"system": "system", "history": "history"}},
            {"format": "alpaca", "mode": "thinking"}]


def _context(tmp: str, profile: str, training: int, dataset: int) -> tuple[Context, Selection]:
    spec, selection = _base(tmp)
    spec = replace(spec, training=replace(spec.training, **TRAININGS[training]))
    ds = replace(spec.datasets[0], **DATASETS[dataset])
    return Context(spec, ds, builtin_profiles()[profile]), selection


def _verdict(value: Any, ctx: Context, selection: Selection) -> tuple[bool, int | None, list[str]]:
    sample = normalise(Record(1, 0, value, "d"), ctx.dataset, "d.jsonl", ctx.profile)
    found = check_sample(sample, ctx, selection).findings
    thinking = is_thinking(sample, ctx.profile) if sample.ok and sample.messages else None
    clean = not found and sample.ok and not sample.problems
    return clean, None if thinking is None else int(thinking), [f"{f.rule}: {f.message}" for f in found]


@pytest.fixture(scope="module")
def tmp_spec(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("shapes"))


@budget(500)
@given(data=st.data(), profile=st.one_of(st.just("qwen3"), st.sampled_from(sorted(builtin_profiles()))),
       training=st.integers(0, len(TRAININGS) - 1), dataset=st.integers(0, len(DATASETS) - 1))
def test_samples_of_one_shape_get_one_verdict(tmp_spec: str, data: Any, profile: str, training: int,
                                              dataset: int) -> None:
    ctx, selection = _context(tmp_spec, profile, training, dataset)
    shapes = Shapes.build(ctx, selection)
    if shapes is None:
        assert ctx.profile.style == "text"  # plain-text markers: no shapes
        return
    sample = data.draw({"openai": openai_sample, "sharegpt": sharegpt_sample, "alpaca": alpaca_sample}[
        ctx.dataset.format]())
    key = shapes.key(json.loads(json.dumps(sample)))
    assume(key is not None)
    twin = _twin(data.draw, sample)
    assume(shapes.key(twin) == key)  # almost always: the twin's words hold no marker or switch
    first, second = _verdict(sample, ctx, selection), _verdict(twin, ctx, selection)
    assert first[:2] == second[:2], (first, second, sample, twin)


def test_every_structural_rule_is_covered() -> None:
    """A new structural rule is not trusted with shapes until it is audited and added to COVERED."""
    structural = {code for code, r in builtin_rules().items() if r.category not in TOKEN_CATEGORIES}
    assert structural == COVERED


def test_where_there_are_no_shapes(tmp_spec: str) -> None:
    ctx, selection = _context(tmp_spec, "qwen3", 0, 0)
    assert Shapes.build(ctx, selection) is not None
    assert Shapes.build(replace(ctx, profile=builtin_profiles()["apriel-1.6-thinker"]), selection) is None
    assert Shapes.build(replace(ctx, dataset=replace(ctx.dataset, format="text")), selection) is None
    custom = replace(selection.rules[0], rule=replace(selection.rules[0].rule, origin="spec"))
    assert Shapes.build(ctx, replace(selection, rules=(custom, *selection.rules[1:]))) is None


def test_what_has_no_shape(tmp_spec: str) -> None:
    ctx, selection = _context(tmp_spec, "qwen3", 0, 0)
    shapes = Shapes.build(ctx, selection)
    assert shapes is not None

    def key(*messages: dict[str, Any], **top: Any) -> Any:
        return shapes.key({"messages": list(messages), **top})

    user = {"role": "user", "content": "2+2?"}
    good = {"role": "assistant", "content": "<think>\nadd\n</think>\n\n4"}
    assert key(user, good) is not None
    assert key(user, good) == key({"role": "user", "content": "what is 3+5, exactly?"},
                                  {"role": "assistant", "content": "<think>\nadd them up\n</think>\n\n8, as 3+5=8"})
    assert key(user, good) != key(user, {**good, "content": "<think>\nadd\n</think>\n4"})  # the edges differ
    for content in ("<think>\na < b\n</think>\n\n4", "<think>\nx\n</think>\n\n4 &", "<thinking>x</thinking>4",
                    "</think>4", "<think>\nx\n</think>\n\n<think>y</think>4", "<think>\nunclosed"):
        assert key(user, {**good, "content": content}) is None, content
    for content in ("2+2? /no_think", "<think>", "say </think>"):
        assert key({"role": "user", "content": content}, good) is None, content
    assert key({"role": "system", "content": "detailed thinking off"}, user, good) is None
    assert key(user, good, tools=[{"type": "function"}]) is None
    assert key(user, {**good, "tool_calls": [{"id": 1}]}) is None
    assert key(user, good, meta=json.loads("[" * 120 + "]" * 120)) is None  # too deep: FMT001 says so
    assert key(user, good, id=7) is not None and key(user, good, tools=[]) is not None


def test_what_has_no_shape_in_alpaca(tmp_spec: str) -> None:
    ctx, selection = _context(tmp_spec, "qwen3", 0, 5)  # system and history mapped
    shapes = Shapes.build(ctx, selection)
    assert shapes is not None
    good = {"instruction": "2+2?", "output": "<think>\nadd\n</think>\n\n4"}
    assert shapes.key(good) is not None
    assert shapes.key(good) == shapes.key({"instruction": "3+5?", "output": "<think>\nsum\n</think>\n\n8"})
    assert shapes.key(good) == shapes.key({**good, "input": "exactly"})  # joined into one user turn
    assert shapes.key(good) != shapes.key({**good, "input": "exactly "})  # whose edges differ
    for bad in ({"input": "/no_think"}, {"input": 3}, {"instruction": None}, {"output": "<think>x"},
                {"system": "detailed thinking off"}, {"system": 5}, {"history": [["/think", "a"]]},
                {"history": [["q", "<thinking>a</thinking>"]]}, {"history": "q"}, {"history": [["q"]]},
                {"tools": "[]x"}):
        assert shapes.key({**good, **bad}) is None, bad
    assert shapes.key({**good, "history": [["q", "a"]]}) != shapes.key(good)
    assert shapes.key({**good, "system": ""}) is not None and shapes.key({**good, "history": []}) is not None
    ctx, selection = _context(tmp_spec, "qwen3", 0, 6)  # default columns: system and history unmapped
    shapes = Shapes.build(ctx, selection)
    assert shapes is not None
    assert shapes.key({**good, "system": "Be brief."}) is None  # FMT011: present but not mapped
    assert shapes.key({**good, "system": ""}) is not None


def _corpus_results(spec_path: Path, use_shapes: bool) -> list[Any]:
    spec = load_spec(spec_path)
    selection, contexts = build_run(spec, Settings(select=("FMT", "THK", "MOD")), load_profile(spec))
    out = []
    for item in plan(spec):
        r = check_file(item, contexts[item.dataset.name], selection, use_shapes=use_shapes, batch=16)
        out.append(([(f, f.fix, f.digest) for f in r.findings], r.samples, r.thinking, r.non_thinking))
    return out


@pytest.mark.parametrize("spec", ["examples/thinklint.yaml", "corpus", "bench", "bench-alpaca"])
def test_the_fast_path_gives_what_checking_every_sample_gives(spec: str, tmp_path: Path) -> None:
    if spec == "corpus":
        from tests.speed.corpus import make_project

        path = make_project(tmp_path, tokens=False, repeat=20)
    elif spec.startswith("bench"):
        import sys

        sys.path.insert(0, str(ROOT / "benchmarks"))
        from generate import generate, write_spec  # type: ignore[import-not-found]

        generate(tmp_path / "data.jsonl", 600, 3)
        write_spec(tmp_path, "data.jsonl")
        text = (tmp_path / "thinklint.yaml").read_text(encoding="utf-8").replace("  tokenizer:", "  # tokenizer:")
        if spec == "bench-alpaca":  # the same conversations as LLaMA-Factory's alpaca, with history
            rows = [json.loads(line)["messages"] for line in (tmp_path / "data.jsonl").open(encoding="utf-8")]
            (tmp_path / "data.jsonl").write_text("".join(json.dumps(_alpaca(r), ensure_ascii=False) + "\n"
                                                         for r in rows), encoding="utf-8")
            text = text.replace("format: openai", "format: alpaca\n    columns: {system: system, history: history}")
        (tmp_path / "thinklint.yaml").write_text(text, encoding="utf-8")
        path = tmp_path / "thinklint.yaml"
    else:
        path = ROOT / spec
    import thinklint.engine as engine

    normalised: list[int] = []
    real = engine._normalise

    def counting(*args: Any) -> Any:
        normalised.append(1)
        return real(*args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine, "_normalise", counting)
        fast = _corpus_results(path, True)
        samples = sum(r[1] for r in fast)
        checked, normalised[:] = len(normalised), []
        full = _corpus_results(path, False)
    assert fast == full
    assert any(findings for findings, *_ in full)
    assert len(normalised) >= samples
    if spec.startswith("bench"):  # realistic data: most samples are of a shape known clean
        assert checked < samples / 3, (checked, samples)


def _alpaca(messages: list[dict[str, Any]]) -> dict[str, Any]:
    system = [m["content"] for m in messages if m["role"] == "system"]
    turns = [m["content"] for m in messages if m["role"] != "system"]
    pairs = [turns[i:i + 2] for i in range(0, len(turns) - 2, 2)]
    return {"instruction": turns[-2], "output": turns[-1], **({"system": system[0]} if system else {}),
            **({"history": pairs} if pairs else {})}


def test_the_memo_of_clean_shapes_is_bounded(tmp_spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file of ever new shapes (a new column name each sample) keeps memory flat: past the bound,
    a new shape is checked in full every time, and the verdicts stay those of a full check."""
    from thinklint import shapes

    monkeypatch.setattr(shapes, "MAX_SHAPES", 3)
    ctx, selection = _context(tmp_spec, "qwen3", 0, 0)
    memo = Shapes.build(ctx, selection)
    assert memo is not None
    for i in range(10):
        key = memo.key({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
                        f"extra{i}": 1})
        assert key is not None
        memo.learn(key, 0)
    assert len(memo._memo) == 3
