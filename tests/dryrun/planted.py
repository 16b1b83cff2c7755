"""Defective loss functions, planted into the tiny model in place of its own (`model.loss_function`).

Each imitates what a remote-code model or a custom trainer does wrong; the rule examples name them
(`model: {loss: NAME}`) and the dry run must catch each one.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator


def unshifted(logits: Any, labels: Any, vocab_size: int, **kwargs: Any) -> Any:
    """A causal model wired to the masked-LM loss: every position learns to repeat its own token."""
    from transformers.loss.loss_utils import ForMaskedLMLoss

    return ForMaskedLMLoss(logits, labels, vocab_size, **kwargs)


def z_loss_everywhere(logits: Any, labels: Any, vocab_size: int, **kwargs: Any) -> Any:
    """Cross-entropy plus a z-loss over every position, the masked prompt included."""
    import torch
    from transformers.loss.loss_utils import ForCausalLMLoss

    z = torch.logsumexp(logits.float(), dim=-1) ** 2
    return ForCausalLMLoss(logits, labels, vocab_size, **kwargs) + 1e-4 * z.mean()


def z_loss_supervised(logits: Any, labels: Any, vocab_size: int, **kwargs: Any) -> Any:
    """The same z-loss restricted to positions whose shifted label is supervised: it leaks nothing."""
    import torch
    from transformers.loss.loss_utils import ForCausalLMLoss

    keep = torch.nn.functional.pad(labels, (0, 1), value=-100)[..., 1:] != -100
    z = torch.logsumexp(logits.float(), dim=-1) ** 2
    return ForCausalLMLoss(logits, labels, vocab_size, **kwargs) + 1e-4 * z[keep].mean()


PLANTED: dict[str, Callable[..., Any]] = {
    "unshifted": unshifted,
    "z_loss_everywhere": z_loss_everywhere,
    "z_loss_supervised": z_loss_supervised,
}


@contextmanager
def planted(model: Any, name: str | None) -> Iterator[Any]:
    """The model with the named loss in place of its own, restored afterwards."""
    if name is None:
        yield model
        return
    model.loss_function = PLANTED[name]
    try:
        yield model
    finally:
        del model._loss_function
