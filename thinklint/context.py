"""What a rule sees besides the sample: the spec, the dataset, the profile, and the token layer.

A context is built once per dataset and per process; the token layer inside it (tokenizer,
templates, trainer model) is built lazily, only when a selected rule needs it, so that a
structural run never imports transformers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from thinklint.model import Sample, Violation
from thinklint.profiles import Profile
from thinklint.spec import DatasetSpec, Spec

if TYPE_CHECKING:
    from thinklint.dryrun.result import SampleLoss
    from thinklint.tokens.context import TokenContext


@dataclass(frozen=True)
class Context:
    spec: Spec
    dataset: DatasetSpec
    profile: Profile
    token_factory: Callable[[], TokenContext] | None = field(default=None, compare=False, repr=False)
    #: bos/eos strings from the tokenizer's files, for {bos_token}/{eos_token} in the turn format
    special_tokens: Mapping[str, str] = field(default_factory=dict)

    @property
    def tokens(self) -> TokenContext:
        """The token layer; only rules of the token categories may ask for it."""
        if self.token_factory is None:
            raise RuntimeError("this rule needs a tokenizer, but the spec has no model.tokenizer")
        return self.token_factory()


@dataclass(frozen=True)
class DatasetStats:
    """What the dataset-level rules see, accumulated over every sample of a dataset."""

    dataset: str
    path: str
    samples: int = 0
    thinking: int = 0
    non_thinking: int = 0


SampleCheck = Callable[[Sample, Context, Mapping[str, Any]], Iterable[Violation]]
DatasetCheck = Callable[[DatasetStats, Context, Mapping[str, Any]], Iterable[Violation]]
#: work a check can do for a whole batch of samples before it sees them one by one (see `Check.prepare`)
PrepareCheck = Callable[[Sequence[Sample], Context, Mapping[str, Any]], None]
#: reads what a forward pass measured for one sample (`thinklint dryrun`)
DryrunCheck = Callable[["SampleLoss", Context, Mapping[str, Any]], Iterable[Violation]]


@dataclass(frozen=True)
class Check:
    """The behaviour behind a rule: a per-sample function, a per-dataset function, or both.

    `structural` checks run on every record, including those that did not normalise (the format
    rules that report why); the others only see samples that normalised cleanly. `dryrun` reads
    the forward pass of `thinklint dryrun`: a mask rule can have both a static `sample` check and
    a `dryrun` confirmation; a rule of `stage: dryrun` has only the latter. `prepare`, when set, is
    called with a batch of samples before the check sees them one by one: it may do the batch's
    expensive work in one go (tokenizing TPL001's serving prompts), never decide a finding.
    """

    sample: SampleCheck | None = None
    dataset: DatasetCheck | None = None
    structural: bool = False
    dryrun: DryrunCheck | None = None
    prepare: PrepareCheck | None = None
