"""``labeldist`` on a tiny random Llama (SmolLM2's real tokenizer), in-process or as a child process.

The crash, signal and disk tests need a real run that writes records quickly; the model is
the same 2-layer random Llama as ``tests/conftest.py``'s ``tiny_backend``. As a script
(``python -m tests.reliability.tiny ARGV...``) it runs ``labeldist ARGV`` with
``api.load_backend`` returning the tiny model, and with faults set by environment variables:

* ``LD_SLOW=SECONDS``: every batch sleeps that long first (a run that lasts long enough to be
  signalled or killed);
* ``LD_SIGNAL_IN_WRITE=TERM:K`` (or ``INT:K``): the K-th write to ``records.jsonl`` writes half
  its bytes, sends the signal to its own process, then writes the rest — a signal that
  arrives in the middle of a record write;
* ``LD_FAIL_WRITE=ENOSPC:K`` (or ``EROFS:K``, ``EIO:K``): the K-th write to ``records.jsonl``
  writes half its bytes, then fails with that error — a disk that fills up mid-line;
* ``LD_READY=PATH``: the file is created once the first batch starts (the run directory exists).
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import time


def tiny_backend(batch_size: int = 4):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from labeldist.backends.hf import HFBackend
    from tests.conftest import _tokenizer

    tok = _tokenizer("smollm2-135m")
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(40.0)
    return HFBackend.from_pretrained_objects(model, tok, name="tiny-random-llama", batch_size=batch_size)


def is_records_fd(fd: int) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}").endswith("records.jsonl")
    except OSError:
        return False


def records_write_fault(kind: str, k: int, action):
    """Patch ``os.write`` so the k-th write to records.jsonl writes half, then runs ``action()``."""
    real = os.write
    count = [0]

    def write(fd, data):
        if not is_records_fd(fd):
            return real(fd, data)
        count[0] += 1
        if count[0] != k:
            return real(fd, data)
        half = max(1, len(data) // 2)
        n = real(fd, bytes(data[:half]))
        action()
        return n  # a short write: the caller writes the rest (or has been stopped)

    os.write = write


def main(argv: list[str]) -> int:
    from labeldist import api
    from labeldist.cli.main import main as cli_main

    backend = tiny_backend()
    slow = float(os.environ.get("LD_SLOW", "0") or 0)
    ready = os.environ.get("LD_READY")
    real_generate = backend.generate

    def generate(*a, **k):
        if ready:
            open(ready, "a").close()
        if slow:
            time.sleep(slow)
        return real_generate(*a, **k)

    backend.generate = generate
    api.load_backend = lambda *a, **k: backend
    if os.environ.get("LD_SIGNAL_IN_WRITE"):
        name, k = os.environ["LD_SIGNAL_IN_WRITE"].split(":")
        signum = getattr(signal, f"SIG{name}")
        records_write_fault(name, int(k), lambda: os.kill(os.getpid(), signum))
    if os.environ.get("LD_FAIL_WRITE"):
        name, k = os.environ["LD_FAIL_WRITE"].split(":")
        code = getattr(errno, name)

        def fail():
            raise OSError(code, os.strerror(code))

        records_write_fault(name, int(k), fail)
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
