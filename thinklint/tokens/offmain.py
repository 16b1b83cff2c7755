"""Tokenizer calls run on a thread of their own, never on the main thread.

glibc's malloc serves the main thread from the main arena, which by then holds the fragments of
everything the process has parsed: loading a tokenizer snapshot (`Tokenizer.from_file`) frees
hundreds of thousands of strings among the vocabulary it keeps. Every other thread gets an arena
of its own. A fast tokenizer allocates and frees a few small buffers per word, so where its calls
run shows: on one thread (`TOKENIZERS_PARALLELISM=false`, as in every worker), a snapshot's
tokenizer took 2.9-3.5 s of CPU for 2,000 rendered samples on the main thread and 2.3-2.5 s on a
thread of its own, the difference mostly in malloc's free-list walks (`perf`). Calls made with the
tokenizer's own Rust threads already run off the main thread; the hop costs microseconds a batch.

A bare thread and a queue rather than `concurrent.futures`, whose import (it imports logging) costs
a re-run after an edit some 14 ms.
"""

from __future__ import annotations

import os
import queue
import threading
from typing import Any, Callable

_LOCK = threading.Lock()
#: the thread, and the process it belongs to: a forked child inherits the object but not its thread
_WORKER: tuple[int, _Worker] | None = None


class _Worker:
    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # a daemon: it only ever waits between calls, and the caller waits for every call
        self.thread = threading.Thread(target=self._serve, name="thinklint-tokenizer", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            call, args, kwargs, answer, done = job
            try:
                answer.append((True, call(*args, **kwargs)))
            except BaseException as exc:  # handed to the caller, who raises it
                answer.append((False, exc))
            done.release()

    def run(self, call: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        answer: list[tuple[bool, Any]] = []
        done = threading.Lock()
        done.acquire()
        self.jobs.put((call, args, kwargs, answer, done))
        done.acquire()
        ok, value = answer[0]
        if not ok:
            raise value
        return value


def off_main(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`call(*args, **kwargs)`, run on the process's tokenizer thread when called from the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return call(*args, **kwargs)
    return _worker().run(call, args, kwargs)


def _worker() -> _Worker:
    global _WORKER
    with _LOCK:
        if _WORKER is None or _WORKER[0] != os.getpid():
            _WORKER = (os.getpid(), _Worker())
        return _WORKER[1]


def release() -> None:
    """Stop the tokenizer thread, waiting for it: a fork is about to happen, and no thread may run across
    one. The next call starts another."""
    global _WORKER
    with _LOCK:
        worker, _WORKER = _WORKER, None
    if worker is not None and worker[0] == os.getpid():
        worker[1].jobs.put(None)
        worker[1].thread.join()
