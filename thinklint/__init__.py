"""thinklint: lint fine-tuning datasets for reasoning ("thinking") language models."""

from __future__ import annotations

__version__ = "0.1.0"
