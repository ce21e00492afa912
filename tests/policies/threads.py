"""One torch thread for the policy tests (imported by each test module; a conftest.py here would
shadow tests/conftest.py): the tensors are tiny, and a second intra-op thread only adds contention
on a busy 2-core machine (a GRPO smoke test went from 0.75 s to 19 s with two)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
