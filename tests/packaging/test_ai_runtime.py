"""The managed AI runtime of packaged builds: the plan per machine, and the install's all-or-nothing rule.

No torch is downloaded: the installer is a small stand-in script run as a real subprocess."""

from __future__ import annotations

import sys
import time
import tomllib
from pathlib import Path

import pytest

from app.errors import AppError, Cancelled
from app.jobs.cancel import CancelToken
from app.models import runtime
from app.models.hardware import GIB, Gpu, Hardware

ROOT = Path(__file__).resolve().parents[2]


def nvidia(name: str, gib: int, cc: tuple[int, int], driver: tuple[int, int] | None, system="Linux") -> Hardware:
    return Hardware(system=system, machine="x86_64", gpus=(Gpu(0, name, gib * GIB, None, cc),), driver_cuda=driver)


PLANS = [
    # hardware, build, index (None: PyPI only), download between (GB)
    (nvidia("RTX 4090", 24, (8, 9), (12, 8)), "cu128", "https://download.pytorch.org/whl/cu128", (2.0, 5.0)),
    (nvidia("RTX 3060", 12, (8, 6), (12, 6)), "cu126", "https://download.pytorch.org/whl/cu126", (2.0, 5.0)),
    (nvidia("GTX 1080", 8, (6, 1), (11, 8)), "cu118", "https://download.pytorch.org/whl/cu118", (2.0, 5.0)),
    (nvidia("RTX 5090", 32, (12, 0), (12, 6)), "cu128", "https://download.pytorch.org/whl/cu128", (2.0, 5.0)),
    (nvidia("RTX 4070", 12, (8, 9), (12, 8), "Windows"), "cu128", "https://download.pytorch.org/whl/cu128", (2.0, 5.0)),
    (Hardware(system="Linux", machine="x86_64"), "cpu", "https://download.pytorch.org/whl/cpu", (0.1, 0.5)),
    (Hardware(system="Windows", machine="AMD64"), "cpu", "https://download.pytorch.org/whl/cpu", (0.1, 0.5)),
    (Hardware(system="Darwin", machine="arm64"), "mps", None, (0.05, 0.3)),
    (Hardware(system="Darwin", machine="x86_64"), "cpu", None, (0.05, 0.3)),
]


@pytest.mark.parametrize(
    ("hw", "build", "index", "gb"), PLANS, ids=[f"{p[0].system}-{p[1]}-{i}" for i, p in enumerate(PLANS)]
)
def test_plan_per_machine(hw, build, index, gb):
    plan = runtime.plan_ai_runtime(hw, pins=("numpy==2.4.6",))
    assert plan.build == build
    assert plan.extra_index_url == index
    assert plan.index_url == "https://pypi.org/simple"
    assert gb[0] * 1e9 < plan.approx_size < gb[1] * 1e9
    assert plan.packages[0].startswith("torch") and plan.packages[-1] == "numpy==2.4.6"
    assert "GB" in plan.approx_size_text or "MB" in plan.approx_size_text


def test_packages_are_the_ai_extra_of_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert list(runtime.AI_PACKAGES) == pyproject["project"]["optional-dependencies"]["ai"]


def test_install_commands_for_pip_and_uv(tmp_path):
    plan = runtime.plan_ai_runtime(nvidia("RTX 4090", 24, (8, 9), (12, 8)))
    pip = runtime.install_command(plan, tmp_path, [sys.executable, "-m", "pip"])
    assert pip[3:6] == ["install", "--target", str(tmp_path)] and "--only-binary" in pip
    assert pip[pip.index("--extra-index-url") + 1].endswith("/cu128")
    uv = runtime.install_command(plan, tmp_path, ["/opt/uv", "pip"])
    assert uv[uv.index("--python-version") + 1] == f"{sys.version_info.major}.{sys.version_info.minor}"


FAKE = """
import sys, time, pathlib
args = sys.argv[1:]
site = pathlib.Path(args[args.index("--target") + 1])
mode = "{mode}"
print("Collecting torch", flush=True)
if mode == "fail":
    print("ERROR: No matching distribution found for torch", flush=True)
    sys.exit(1)
if mode == "slow":
    time.sleep(30)
site.mkdir(parents=True)
(site / "mapbrush_fake_ai.py").write_text("VALUE = 42\\n")
print("Successfully installed torch-9.9.9", flush=True)
"""


def fake_installer(tmp_path: Path, mode: str) -> list[str]:
    script = tmp_path / f"fake_{mode}.py"
    script.write_text(FAKE.format(mode=mode), encoding="utf-8")
    return [sys.executable, str(script)]


def test_install_then_activate(tmp_path, monkeypatch):
    target = tmp_path / "ai-runtime"
    events = []
    plan = runtime.plan_ai_runtime(Hardware(system="Linux", machine="x86_64"))
    runtime.install_ai_runtime(target, plan, installer=fake_installer(tmp_path, "ok"),
                               progress=lambda *a: events.append(a))  # fmt: skip
    assert runtime.installed(target)["plan"]["build"] == "cpu"
    assert not (tmp_path / "ai-runtime.partial").exists()
    assert any("Successfully installed" in e[3] for e in events)
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert runtime.activate(target)
    assert sys.path[-1] == str(target / "site-packages")
    import mapbrush_fake_ai

    assert mapbrush_fake_ai.VALUE == 42
    monkeypatch.delitem(sys.modules, "mapbrush_fake_ai")


def test_failed_install_leaves_nothing_and_can_be_retried(tmp_path):
    target = tmp_path / "ai-runtime"
    plan = runtime.plan_ai_runtime(Hardware(system="Linux", machine="x86_64"))
    with pytest.raises(AppError, match="No matching distribution"):
        runtime.install_ai_runtime(target, plan, installer=fake_installer(tmp_path, "fail"))
    assert not target.exists() and not (tmp_path / "ai-runtime.partial").exists()
    assert not runtime.activate(target)
    runtime.install_ai_runtime(target, plan, installer=fake_installer(tmp_path, "ok"))
    assert runtime.installed(target) is not None


def test_cancel_stops_the_installer_quickly(tmp_path):
    target = tmp_path / "ai-runtime"
    token = CancelToken()
    plan = runtime.plan_ai_runtime(Hardware(system="Linux", machine="x86_64"))

    def progress(stage, step, total, message=""):
        if "Collecting" in message:
            token.cancel()

    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        runtime.install_ai_runtime(target, plan, installer=fake_installer(tmp_path, "slow"), progress=progress,
                                   cancel=token)  # fmt: skip
    assert time.monotonic() - t0 < 10  # the 30 s installer was killed
    assert not target.exists() and not (tmp_path / "ai-runtime.partial").exists()
