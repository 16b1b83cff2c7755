"""`thinklint dryrun`: a tokenized forward pass through the real model that confirms the masked loss.

Layout, so that importing this package stays free of torch: `result` (what was measured, plain
data the dryrun rules read), `settings`, `samples` (which samples, encoded by the token layer),
`batching` (memory estimate and batch plan; its tensor code imports torch lazily) and `report`
are pure; `model` (device, dtype, loading), `loss` (the model's own loss and the independent
recomputation) and `engine` (batches, out-of-memory handling, progress) import torch at the top
and are imported by `run` only inside a dry run.
"""
