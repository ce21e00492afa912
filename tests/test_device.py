"""--device / --dtype: checked once, before any model loads, with errors that say what torch sees."""

from __future__ import annotations

import pytest
import torch

from framepick import device
from framepick.errors import InvalidArgumentError


@pytest.fixture(autouse=True)
def _restore(monkeypatch):
    monkeypatch.delenv(device.DEVICE_ENV, raising=False)
    yield
    device.use_device(None)


def test_auto_is_cpu_without_a_gpu_and_cuda_is_refused_in_one_line(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device.resolve_device("auto") == "cpu" and device.resolve_device(None) == "cpu"
    with pytest.raises(InvalidArgumentError, match=r"sees no GPU; use --device cpu or auto") as info:
        device.resolve_device("cuda:0")
    assert "\n" not in str(info.value)


def test_gpu_numbers_are_checked_against_what_torch_sees(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert device.resolve_device("auto") == "cuda"
    assert device.resolve_device("CUDA:1") == "cuda:1"
    with pytest.raises(InvalidArgumentError, match=r"sees 2 GPU\(s\), cuda:0..cuda:1"):
        device.resolve_device("cuda:2")


@pytest.mark.parametrize("bad", ["gpu", "cuda:", "cuda:x", "", "tpu"])
def test_bad_device_names(bad: str) -> None:
    with pytest.raises(InvalidArgumentError, match="device must be auto, cpu, cuda, cuda:N or mps"):
        device.resolve_device(bad)


def test_the_process_choice_and_the_environment(monkeypatch) -> None:
    monkeypatch.setenv(device.DEVICE_ENV, "cpu")
    assert device.resolve_device() == "cpu"
    assert device.use_device("cpu") == "cpu"
    monkeypatch.setenv(device.DEVICE_ENV, "cuda")  # the explicit choice wins over the environment
    assert device.resolve_device() == "cpu"


def test_dtypes() -> None:
    assert device.resolve_dtype("auto", "cpu") is torch.float32
    assert device.resolve_dtype("bfloat16", "cpu") is torch.bfloat16
    with pytest.raises(InvalidArgumentError, match="dtype must be one of auto, float32, float16, bfloat16"):
        device.resolve_dtype("fp8", "cpu")


def test_a_command_run_from_python_does_not_leave_its_device_behind(tmp_path) -> None:
    from framepick.cli.main import main

    assert device.chosen_device() is None
    assert main(["select", "--scores", str(_scores(tmp_path)), "-k", "2", "--device", "cpu"]) == 0
    assert device.chosen_device() is None


def _scores(tmp_path):
    path = tmp_path / "scores.json"
    path.write_text("[0.1, 0.9, 0.3, 0.7]")
    return path
