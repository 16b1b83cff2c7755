"""The token layer: trainer models that turn a conversation into (input_ids, labels) as the trainer would.

Only this package may import transformers or torch, and only lazily, so structural checks start fast.
"""
