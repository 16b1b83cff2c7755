"""The token layer's state, built once per process: tokenizer, serving template, trainer model.

`encode` turns a sample into what its trainer trains (an `Encoding`), or says why it cannot
(`Unencodable`); results are memoised for the handful of rules that ask about the same sample.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Union

from thinklint.jinja import ChatTemplate, TemplateError
from thinklint.model import Sample
from thinklint.profiles import Profile
from thinklint.spec import DatasetSpec, Spec
from thinklint.tokens.chat_template import SpanError, encode_text
from thinklint.tokens.encoding import Encoding
from thinklint.tokens.lf_convert import LlamaFactoryReject
from thinklint.tokens.lf_templates import llamafactory_template
from thinklint.tokens.llamafactory import encode_llamafactory
from thinklint.tokens.loader import load_tokenizer, serving_template
from thinklint.tokens.serving import Serving, tools_of
from thinklint.tokens.tokenized import LabelError, encode_tokenized
from thinklint.yamlsrc import SourceError

_NO_CUTOFF = 1 << 40


@dataclass(frozen=True)
class Unencodable:
    """Why a sample has no encoding: `kind` is rejected | fatal | labels | template | spans."""

    kind: str
    reason: str


Encoded = Union[Encoding, Unencodable]


class TokenContext:
    def __init__(self, spec: Spec, profile: Profile, tokenizer: Any, template_text: str) -> None:
        self.spec = spec
        self.profile = profile
        self.tokenizer = tokenizer
        specials = {k: v for k, v in getattr(tokenizer, "special_tokens_map", {}).items() if isinstance(v, str)}
        self.serving = Serving(ChatTemplate(template_text, "serving"), profile, spec.inference, specials)
        self.lf_template = None
        if spec.training.framework == "llamafactory":
            try:
                self.lf_template = llamafactory_template(spec.training.template)
            except (KeyError, ValueError) as exc:
                line = spec.located.line_of(("training", "template")) if spec.located else None
                raise SourceError(spec.display, line, "training.template", str(exc).strip("'\"")) from None
        self._cache: OrderedDict[tuple[Any, ...], Encoded] = OrderedDict()

    @classmethod
    def build(cls, spec: Spec, profile: Profile, trust_remote_code: bool = False) -> TokenContext:
        tokenizer = load_tokenizer(spec, trust_remote_code)
        return cls(spec, profile, tokenizer, serving_template(spec, tokenizer))

    # -- encoding -------------------------------------------------------------------------------
    def encode(self, sample: Sample, dataset: DatasetSpec, *, untruncated: bool = False) -> Encoded:
        key = (dataset.name, sample.location, sample.digest, untruncated)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        result = self._encode(sample, dataset, untruncated)
        self._cache[key] = result
        if len(self._cache) > 16:
            self._cache.popitem(last=False)
        return result

    def _encode(self, sample: Sample, dataset: DatasetSpec, untruncated: bool) -> Encoded:
        training = self.spec.training
        cutoff = None if untruncated else training.cutoff_len
        try:
            if sample.format == "tokenized":
                if sample.input_ids is None or sample.labels is None:
                    return Unencodable("labels", "no input_ids/labels")
                return encode_tokenized(sample.input_ids, sample.labels, self.profile, self.tokenizer)
            if sample.format == "text":
                return encode_text(sample.text or "", sample.messages, self.profile, self.tokenizer, cutoff)
            if training.framework == "llamafactory":
                assert self.lf_template is not None
                spec_training = replace(training, cutoff_len=_NO_CUTOFF) if untruncated else training
                formatting = dataset.formatting or ("alpaca" if dataset.format == "alpaca" else "sharegpt")
                return encode_llamafactory(sample.messages, sample.tools, spec_training, self.lf_template,
                                           self.tokenizer, formatting=formatting)
            text = self.serving.render(sample.messages, tools_of(sample), generation_prompt=False,
                                       thinking=training.enable_thinking)
            return encode_text(text, sample.messages, self.profile, self.tokenizer, cutoff)
        except LlamaFactoryReject as exc:
            return Unencodable("fatal" if exc.fatal else "rejected", str(exc))
        except LabelError as exc:
            return Unencodable("labels", str(exc))
        except TemplateError as exc:
            return Unencodable("template", f"the chat template failed: {exc}")
        except SpanError as exc:
            return Unencodable("spans", str(exc))

    # -- tokens ---------------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[int]:
        ids: list[int] = self.tokenizer.encode(text, add_special_tokens=False)
        return ids

    def decode(self, ids: Any) -> str:
        text: str = self.tokenizer.decode(list(ids), skip_special_tokens=False)
        return text

    def around(self, ids: Any, at: int, width: int = 4) -> str:
        """Tokens around position `at`, decoded, the token at `at` in brackets."""
        ids = list(ids)
        before = self.decode(ids[max(0, at - width):at])
        here = self.decode(ids[at:at + 1]) if at < len(ids) else "(end)"
        after = self.decode(ids[at + 1:at + 1 + width])
        return f"{before!r} [{here!r}] {after!r}"
