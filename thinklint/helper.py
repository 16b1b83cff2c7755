"""A forked child that builds the token layer while the parent reads, then checks what the cache did not know.

After a small edit, a cached run hashes every line of a file (a fraction of a second) and re-checks
the few changed samples. Those need the token layer: imports, a chat template to compile, and a
tokenizer (partial, `tokens.partial`: its index loads in tens of milliseconds, where the whole
`tokenizer.json` takes half a second of Rust parsing, holding the GIL). A child forked before the
parent reads builds it on the other core while the parent hashes lines and places cached findings,
then the parent hands it the records the cache did not know and takes back their results (findings,
facts, counts), exactly what checking them in-process would have added.

The child is only a speed-up, never trusted for more than its answers: anything that goes wrong with
it (it died, its pipe broke, a token layer that cannot load) makes the parent check the file itself,
as it would without a helper. The fork happens while the parent has no other thread and has not
loaded a tokenizer (whose thread pool a fork would break, see `thinklint.parallel`). The child is
forked twice so that nobody has to wait for it (init reaps it), writes nothing the parent has not
asked for, and exits as soon as the parent's pipe closes.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
import threading
from typing import Any, Callable, Mapping

from thinklint.context import Context
from thinklint.engine import FileResult, check_records
from thinklint.filefacts import FileFacts
from thinklint.planning import WorkItem
from thinklint.readers.files import Record
from thinklint.selection import Selection

_HEAD = struct.Struct("<Q")
#: a pipe this large lets the parent hand over many changed samples before the child is ready to read
_PIPE_BYTES = 1 << 20


class HelperLost(Exception):
    """The child is gone or answered nonsense: the caller checks the file itself."""


class Helper:
    def __init__(self, to_child: int, from_child: int) -> None:
        self._out: int | None = to_child
        self._in: int | None = from_child
        self._items = 0
        self._sent: set[int] = set()
        self._intermediate: int | None = None

    @classmethod
    def start(cls, contexts: Mapping[str, Context], selection: Selection) -> Helper | None:
        """Fork the child, or None where forking is not safe (another thread runs) or not possible."""
        offmain = sys.modules.get("thinklint.tokens.offmain")  # imported: its thread may be idling
        if offmain is not None:
            offmain.release()
        if not hasattr(os, "fork") or threading.active_count() != 1:
            return None
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        _widen(down_w)
        pid = os.fork()
        if pid == 0:  # the intermediate child: fork the worker and leave at once, so that init reaps it
            try:
                if os.fork() == 0:
                    os.close(down_w)
                    os.close(up_r)
                    _serve(down_r, up_w, contexts, selection)
            finally:
                os._exit(0)
        os.close(down_r)
        os.close(up_w)
        helper = cls(down_w, up_r)
        helper._intermediate = pid  # reaped when closing: waiting for it here would wait for its fork
        return helper

    def sender(self, item: WorkItem) -> tuple[int, Callable[[list[Record]], None]]:
        """A key for `item`, and where `check_file` hands over its records that the cache did not know."""
        key = self._items = self._items + 1

        def send(records: list[Record]) -> None:
            self._sent.add(key)
            self._send(("batch", key, item, records))

        return key, send

    def collect(self, key: int) -> FileResult | None:
        """What the child found in the records handed over for `key`; None when none were (no waiting
        for a child still loading)."""
        if key not in self._sent:
            return None
        self._sent.discard(key)
        self._send(("end", key, None, None))
        data = self._read(_HEAD.size)
        result = pickle.loads(self._read(_HEAD.unpack(data)[0]))
        if not (isinstance(result, tuple) and len(result) == 2 and result[0] == key):
            raise HelperLost("an answer to another question")
        out = result[1]
        if out is not None and not isinstance(out, FileResult):
            raise HelperLost("not a result")
        return out

    def close(self) -> None:
        """Let the child go: it exits when it reads the end of its pipe (if it is loading, after that)."""
        for fd in (self._out, self._in):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._out = self._in = None
        if self._intermediate is not None:
            try:
                os.waitpid(self._intermediate, 0)
            except OSError:
                pass
            self._intermediate = None

    def _send(self, message: Any) -> None:
        if self._out is None:
            raise HelperLost("closed")
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            _write_all(self._out, _HEAD.pack(len(data)) + data)
        except OSError as exc:  # BrokenPipeError: the child is gone
            raise HelperLost(str(exc)) from None

    def _read(self, n: int) -> bytes:
        if self._in is None:
            raise HelperLost("closed")
        try:
            return _read_exactly(self._in, n)
        except OSError as exc:
            raise HelperLost(str(exc)) from None


def absorb(out: FileResult, extra: FileResult | None) -> None:
    """Add the child's share of a file to the parent's (findings are sorted when results merge)."""
    if extra is None:
        return
    out.findings.extend(extra.findings)
    out.errors.extend(extra.errors)
    out.samples += extra.samples
    out.thinking += extra.thinking
    out.non_thinking += extra.non_thinking
    out.fresh += extra.fresh
    for n, count in extra.lengths.items():
        out.lengths[n] = out.lengths.get(n, 0) + count
    if out.facts is not None:
        if extra.facts is None:
            out.facts = None  # the child did not keep facts for every sample: the file is not cached
        else:
            out.facts.extend(extra.facts)


def _widen(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_BYTES)
    except (ImportError, OSError):
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, n: int) -> bytes:
    parts = []
    while n:
        chunk = os.read(fd, min(n, 1 << 24))
        if not chunk:
            raise HelperLost("the child closed its pipe")
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _serve(down: int, up: int, contexts: Mapping[str, Context], selection: Selection) -> None:
    """The child: build the token layer, then check what the parent sends until its pipe closes."""
    try:
        # nothing of the child's may reach the parent's terminal, nor keep a pipe that a caller
        # (pre-commit) reads open after the parent exits
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        for ctx in contexts.values():
            if ctx.token_factory is not None:
                ctx.tokens  # noqa: B018 - built now, while the parent reads: the point of this child
                break
        pending: dict[int, FileResult] = {}
        while True:
            try:
                head = _read_exactly(down, _HEAD.size)
            except HelperLost:
                return
            kind, key, item, records = pickle.loads(_read_exactly(down, _HEAD.unpack(head)[0]))
            if kind == "batch":
                out = pending.get(key)
                if out is None:
                    out = pending[key] = FileResult(item.display, item.dataset.name, facts=FileFacts())
                check_records(records, item, contexts[item.dataset.name], selection, out)
            else:
                data = pickle.dumps((key, pending.pop(key, None)), protocol=pickle.HIGHEST_PROTOCOL)
                _write_all(up, _HEAD.pack(len(data)) + data)
    except BaseException:  # noqa: BLE001 - the parent sees a closed pipe and does the work itself
        return
