"""Exceptions shared across layers, kept here so that importing them costs nothing."""

from __future__ import annotations


class TemplateError(Exception):
    """A template failed to compile or render (its own ``raise_exception`` message included)."""


class TemplateLimitError(TemplateError):
    """A render exceeded its output-size or wall-clock budget."""


class TemplateTimeoutError(TemplateLimitError):
    """A render exceeded its wall-clock budget."""
