"""Tokenizer calls run on a thread of their own, never on the main thread.

glibc's malloc serves the main thread from the main arena, which by then holds the fragments of
everything the process has parsed: loading a tokenizer snapshot (`Tokenizer.from_file`) frees
hundreds of thousands of strings among the vocabulary it keeps. Every other thread gets an arena
of its own. A fast tokenizer allocates and frees a few small buffers per word, so where its calls
run shows: on one thread (`TOKENIZERS_PARALLELISM=false`, as in every worker), a snapshot's
tokenizer took 2.9-3.5 s of CPU for 2,000 rendered samples on the main thread and 2.3-2.5 s on a
thread of its own, the difference mostly in malloc's free-list walks (`perf`). Calls made with the
tokenizer's own Rust threads already run off the main thread; the hop costs microseconds a batch.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

_LOCK = threading.Lock()
#: the pool, and the process it belongs to: a forked child inherits the object but not its thread
_POOL: tuple[int, ThreadPoolExecutor] | None = None


def off_main(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`call(*args, **kwargs)`, run on the process's tokenizer thread when called from the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return call(*args, **kwargs)
    return _pool().submit(call, *args, **kwargs).result()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _LOCK:
        if _POOL is None or _POOL[0] != os.getpid():
            _POOL = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="thinklint-tokenizer"))
        return _POOL[1]


def release() -> None:
    """Stop the tokenizer thread, waiting for it: a fork is about to happen, and no thread may run across
    one. The next call starts another."""
    global _POOL
    with _LOCK:
        pool, _POOL = _POOL, None
    if pool is not None and pool[0] == os.getpid():
        pool[1].shutdown(wait=True)
