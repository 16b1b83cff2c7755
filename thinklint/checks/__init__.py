"""The explicit registry: rule code -> the check behind its YAML declaration.

Pattern rules (a `pattern:` in their YAML) need no entry here. A `dryrun` function reads the
forward pass of `thinklint dryrun` (plain data: importing it imports no torch). Token-level checks are listed
too, but the modules they live in import transformers only inside the token layer, lazily.
"""

from __future__ import annotations

from typing import Mapping

from thinklint.checks import foreign, markers, mask, mode, rendering, template, think, trainer, truncation
from thinklint.checks import format as fmt
from thinklint.checks import dryrun
from thinklint.checks.tokens_common import prepare_encodings as encodings
from thinklint.context import Check

__all__ = ["REGISTRY", "Check"]

REGISTRY: Mapping[str, Check] = {
    "FMT001": fmt.problem_check("invalid_json"),
    "FMT002": fmt.problem_check("not_object"),
    "FMT003": fmt.problem_check("missing_field"),
    "FMT004": fmt.problem_check("wrong_type"),
    "FMT005": fmt.problem_check("unknown_role"),
    "FMT006": Check(sample=fmt.role_order),
    "FMT007": Check(sample=fmt.no_assistant),
    "FMT008": Check(sample=fmt.empty_assistant),
    "FMT009": fmt.problem_check("unreadable"),
    "FMT010": fmt.problem_check("no_files", "empty_file"),
    "FMT011": fmt.problem_check("unmapped_column"),
    "FMT012": fmt.problem_check("bom"),
    "FMT013": fmt.problem_check("line_too_long"),
    "FMT014": fmt.problem_check("text_format"),
    "THK001": Check(sample=think.unclosed),
    "THK002": Check(sample=think.stray_close),
    "THK003": Check(sample=think.multiple_blocks),
    "THK004": Check(sample=markers.outside_assistant),
    "THK005": Check(sample=think.text_before_block),
    "THK006": Check(sample=think.duplicate_reasoning),
    "THK007": Check(sample=markers.near_miss),
    "THK008": Check(sample=think.non_canonical),
    "THK009": Check(sample=markers.ignored_key),
    "THK010": Check(sample=markers.markers_in_field),
    "THK011": Check(sample=think.prefilled_opener),
    "THK012": Check(sample=foreign.foreign_markers),
    "THK013": Check(sample=markers.doubled_by_template),
    "THK014": Check(sample=foreign.channel_markup),
    "MOD001": Check(sample=mode.declared_mode),
    "MOD002": Check(sample=mode.no_think_with_reasoning),
    "MOD003": Check(sample=mode.think_without_reasoning),
    "MOD004": Check(sample=mode.missing_empty_block),
    "MOD005": Check(sample=mode.unsupported_mode),
    "MOD006": Check(dataset=mode.thinking_ratio),
    "MOD007": Check(sample=rendering.trainer_drops_reasoning),
    "MOD008": Check(sample=trainer.reasoning_field_ignored),
    "MOD009": Check(sample=trainer.openai_thinking_off),
    "MOD010": Check(sample=rendering.template_drops_reasoning),
    "MOD011": Check(sample=mode.switch_not_read),
    "MSK001": Check(sample=mask.supervised_prompt, dryrun=dryrun.supervised_prompt, prepare=encodings),
    "MSK002": Check(sample=mask.no_supervised, dryrun=dryrun.no_supervised, prepare=encodings),
    "MSK003": Check(sample=mask.eot_unsupervised, prepare=encodings),
    "MSK004": Check(sample=mask.labels_misaligned),
    "MSK005": Check(sample=mask.empty_think_policy, dryrun=dryrun.empty_think_policy, prepare=encodings),
    "MSK006": Check(sample=mask.history_reasoning_policy, prepare=encodings),
    "MSK007": Check(dryrun=dryrun.loss_mismatch),
    "MSK008": Check(dryrun=dryrun.masked_label_leak),
    "TPL001": Check(sample=template.prefix_invariant, prepare=template.prepare_prompts),
    "TPL002": Check(sample=template.text_mismatch),
    "TPL003": Check(sample=template.reasoning_dropped),
    "TRN001": Check(sample=truncation.over_cutoff, prepare=encodings),
}
