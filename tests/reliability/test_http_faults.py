"""A misbehaving server: every fault kind of tests/backends/fault_proxy.py in front of the real llama.cpp server.

Each request is retried or the run stops with one error line; nothing malformed is recorded;
the (re)run's records equal a fault-free run's. Needs ``xllamacpp`` (the server fixture of
tests/backends/test_http_server.py).
"""

from __future__ import annotations

import pytest

from labeldist.backends.base import PromptIds
from tests.backends.fault_proxy import FAULT_KINDS, FaultProxy
from tests.backends.test_http_server import server_url  # noqa: F401 - the real llama.cpp server, module-scoped

from .http_faults import HTTP_TOLERANCE, fault_campaign

pytestmark = pytest.mark.slow

STOPS = {  # kind -> what the one error line says; every other kind is retried and the run finishes
    "server_down_long": r"cannot reach http://127\.0\.0\.1:\d+/v1/completions .*gave up after 6 attempts; start the server",
    "missing_logprobs": r"the server returned no logprobs; use a server whose /v1/completions supports logprobs",
    "wrong_token_ids": r"token id \d+ is .* in the local vocabulary, but the server sent it with the bytes",
    "out_of_vocab_ids": r"token id 1000000000 is outside the vocabulary of 49152 tokens",
}


def test_every_fault_kind_is_retried_or_stops_with_one_line(server_url, tmp_path):  # noqa: F811
    import re

    from labeldist.cli.main import main

    outcomes, baseline = fault_campaign(main, server_url, tmp_path, FAULT_KINDS)
    assert baseline < HTTP_TOLERANCE  # two fault-free runs through the proxy (llama.cpp is not bit-reproducible)
    assert [o.kind for o in outcomes] == list(FAULT_KINDS)
    for o in outcomes:
        assert o.injected, o
        if o.kind in STOPS:
            assert o.ended == "stopped" and re.search(STOPS[o.kind], o.message), o
        else:
            assert o.ended == "retried", o
        assert o.written_ok, o  # what the faulty run wrote equals the fault-free run's
        assert o.resumed_ok and o.worst_diff < HTTP_TOLERANCE, o


@pytest.mark.parametrize("kind, waited_at_least", [("http_429_retry_after", 1.0), ("http_429", 0.0)])
def test_retry_after_is_honoured(server_url, kind, waited_at_least):  # noqa: F811
    from labeldist.backends.http import HTTPBackend

    proxy = FaultProxy(server_url)
    try:
        b = HTTPBackend("smollm2-135m", base_url=proxy.url, concurrency=1, backoff=0.05, top_logprobs=3, missing="bound")
        proxy.plan({1: kind})
        before = b.stats["waited_seconds"]
        b.score_next([PromptIds(((1, 2, 3),))], candidate_ids=[28])
        waited = b.stats["waited_seconds"] - before
        assert proxy.faults_done() == [kind] and b.stats["retries"] == 1
        assert waited >= waited_at_least and (waited_at_least or waited < 1.0), waited
        b.close()
    finally:
        proxy.close()
