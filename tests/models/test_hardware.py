import sys

import pytest

from app.models.hardware import GIB, Gpu, Hardware, detect, read_ram, read_torch_build


def test_detect_runs_on_this_machine_without_importing_torch():
    before = "torch" in sys.modules
    hw = detect()
    assert ("torch" in sys.modules) == before
    assert hw.cpu_count >= 1 and hw.ram_total and hw.ram_total > 256 * 1024**2
    if not hw.gpus:
        assert hw.nvml_error  # says why there is no GPU


def test_read_ram_total_above_available():
    total, available = read_ram()
    assert total and (available is None or available <= total)


def _fake_torch(root, cuda, available=False):
    pkg = root / "torch"
    pkg.mkdir(parents=True, exist_ok=True)
    cuda_text = "None" if cuda is None else repr(cuda)
    (pkg / "version.py").write_text(f"__version__ = '2.9.0+x'\ncuda: Optional[str] = {cuda_text}\n")
    (pkg / "__init__.py").write_text(
        "import types\n"
        "__version__ = '2.9.0+x'\n"
        f"version = types.SimpleNamespace(cuda={cuda_text})\n"
        f"cuda = types.SimpleNamespace(is_available=lambda: {available}, device_count=lambda: 0)\n"
        "backends = types.SimpleNamespace(mps=types.SimpleNamespace(is_available=lambda: False))\n"
    )


@pytest.fixture
def fake_torch_path(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    saved = sys.modules.pop("torch", None)
    yield tmp_path
    sys.modules.pop("torch", None)
    if saved is not None:
        sys.modules["torch"] = saved


def test_cpu_only_torch_read_from_version_file(fake_torch_path):
    _fake_torch(fake_torch_path, None)
    assert read_torch_build() == (True, "2.9.0+x", None)
    assert "torch" not in sys.modules


def test_cuda_torch_read_from_version_file(fake_torch_path):
    _fake_torch(fake_torch_path, "12.8")
    assert read_torch_build() == (True, "2.9.0+x", "12.8")


def test_probe_torch_imports_it_only_when_asked(fake_torch_path):
    _fake_torch(fake_torch_path, None)
    from app.inference.probe import probe_torch_runtime

    hw = detect(torch_probe=probe_torch_runtime)
    assert hw.torch_probed and hw.torch_cuda_available is False and hw.mps_available is False
    assert hw.torch_cuda is None


def gpu(cc=(8, 6), gb=12):
    return Gpu(0, "GeForce RTX 3060", int(gb * GIB), None, cc)


def test_gpu_with_cpu_only_torch_says_exactly_that():
    hw = Hardware(system="Windows", gpus=(gpu(),), driver_cuda=(12, 9), torch_installed=True,
                  torch_version="2.9.0+cpu", torch_cuda=None)  # fmt: skip
    (problem,) = hw.diagnosis()
    assert "CPU-only build" in problem and "torch.version.cuda is None" in problem
    assert "--index-url https://download.pytorch.org/whl/cu128" in problem
    assert not hw.cuda_usable


def test_wheel_tag_follows_driver_and_blackwell():
    old_driver = Hardware(gpus=(gpu(),), driver_cuda=(12, 6))
    assert old_driver.cuda_wheel_tag == "cu126"
    blackwell = Hardware(gpus=(gpu(cc=(12, 0)),), driver_cuda=(12, 6))
    assert blackwell.cuda_wheel_tag == "cu128"
    assert Hardware(gpus=(gpu(),), driver_cuda=(12, 2)).cuda_wheel_tag == "cu118"


def test_bf16_from_compute_capability():
    assert Hardware(gpus=(gpu(cc=(8, 0)),)).bf16
    assert not Hardware(gpus=(gpu(cc=(7, 5)),)).bf16
    assert Gpu(0, "x", 1, None, None).bf16 is None
    assert any("no bf16" in p for p in Hardware(gpus=(gpu(cc=(7, 5)),), torch_installed=True,
                                               torch_cuda="12.8").diagnosis())  # fmt: skip


def test_no_torch_and_no_gpu_is_quietly_fine():
    assert Hardware(system="Linux").diagnosis() == ()
    assert "not installed" in Hardware(gpus=(gpu(),)).diagnosis()[0]
