"""Tokenizer calls leave the main thread (where a fragmented main malloc arena slows them), give the
same ids, pass errors through, and still run in a forked child, which inherits the pool object but
not its thread."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from functools import partial
from typing import Any

import pytest

from thinklint.tokens.fast import SectionEncoder
from thinklint.tokens.offmain import off_main

pytestmark = pytest.mark.tokens


def _thread_of_call() -> threading.Thread:
    return threading.current_thread()


def test_a_call_from_the_main_thread_runs_on_another_thread() -> None:
    assert threading.current_thread() is threading.main_thread()
    ran_on = off_main(_thread_of_call)
    assert ran_on is not threading.main_thread()
    assert off_main(_thread_of_call) is ran_on  # one thread for the process, not one per call


def test_a_call_from_another_thread_runs_where_it_is_made() -> None:
    got: list[threading.Thread] = []
    worker = threading.Thread(target=lambda: got.append(off_main(_thread_of_call)))
    worker.start()
    worker.join()
    assert got == [worker]


def test_arguments_results_and_errors_pass_through() -> None:
    assert off_main(lambda a, *, b: (a, b), 1, b=2) == (1, 2)

    def fail() -> None:
        raise ValueError("from the tokenizer thread")

    with pytest.raises(ValueError, match="from the tokenizer thread"):
        off_main(fail)


def test_the_section_encoder_tokenizes_off_the_main_thread_with_the_tokenizers_ids(qwen3_tokenizer: Any) -> None:
    enc = SectionEncoder(qwen3_tokenizer)
    threads: list[threading.Thread] = []
    raw = enc._call.args[0]  # the backend's batch call that off_main runs

    def spy(texts: list[str], add_special_tokens: bool = False) -> Any:
        threads.append(threading.current_thread())
        return raw(texts, add_special_tokens=add_special_tokens)

    enc._call = partial(off_main, spy)
    texts = ["<|im_start|>user\nWhy?<|im_end|>\n", "数学 x² <think>\nso\n</think>\n\nyes", "plain words here"]
    enc.prefetch(texts)
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert [enc.encode(t) for t in texts] == [qwen3_tokenizer.encode(t, add_special_tokens=False) for t in texts]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_a_thread_of_its_own() -> None:
    # the parent's pool object survives the fork without its thread: reused, a call would wait forever
    script = textwrap.dedent("""
        import os, threading
        from thinklint.tokens.offmain import off_main
        parent = off_main(threading.get_ident)
        pid = os.fork()
        if pid == 0:
            child = off_main(threading.get_ident)
            os._exit(0 if child != threading.get_ident() else 3)
        _, status = os.waitpid(pid, 0)
        raise SystemExit(os.waitstatus_to_exitcode(status))
    """)
    done = subprocess.run([sys.executable, "-c", script], timeout=60, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_release_stops_the_thread_and_the_next_call_starts_another() -> None:
    # what a fork needs (`helper.Helper.start` forks only a process with no other thread)
    from thinklint.tokens.offmain import release

    first = off_main(_thread_of_call)
    release()
    first.join(timeout=10)
    assert not first.is_alive()
    second = off_main(_thread_of_call)
    assert second is not first and second.is_alive()
