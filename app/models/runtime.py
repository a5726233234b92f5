"""The optional AI runtime (torch, diffusers …) of a packaged MapBrush: planned, installed, activated.

The packaged app ships without torch. On first use of an AI engine it installs the AI packages into a
managed folder under the user data dir (no admin rights), choosing the torch build for the detected
hardware, and tells the size before downloading. Until that finishes, the procedural engine works as
always; a failed or cancelled install leaves nothing half-done behind and can be retried.

Nothing here imports torch. `activate()` runs at start-up of the frozen app (packaging/_mapbrush_boot.py).
"""

from __future__ import annotations

import json
import os
import platform
import queue
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from app.errors import AppError, Cancelled
from app.jobs.cancel import NEVER
from app.jobs.progress import NULL_PROGRESS
from app.models.hardware import TORCH_INDEX, Hardware

MB = 1000**2
# The `ai` extra of pyproject.toml (a test keeps the two equal).
AI_PACKAGES = (
    "torch>=2.5",
    "diffusers>=0.42.1",
    "transformers>=4.56,<6",
    "accelerate>=1.0",
    "gguf>=0.10",
    "safetensors>=0.4",
    "peft>=0.17",  # diffusers' load_lora_weights needs the PEFT backend (LoRA styles)
    "huggingface_hub>=1.0",
    "psutil>=5.9",
    "nvidia-ml-py>=12.0",
)
PYPI = "https://pypi.org/simple"
MARKER = "installed.json"
# Approximate download sizes in MB: the torch wheels (with their CUDA libraries) and the rest together.
TORCH_DOWNLOAD_MB = {
    ("Linux", "cu128"): 3300,
    ("Linux", "cu126"): 3000,
    ("Linux", "cu118"): 2700,
    ("Linux", "cpu"): 190,
    ("Windows", "cu128"): 3200,
    ("Windows", "cu126"): 2700,
    ("Windows", "cu118"): 2800,
    ("Windows", "cpu"): 210,
    ("Darwin", "mps"): 80,
    ("Darwin", "cpu"): 80,
}
OTHER_DOWNLOAD_MB = 70  # diffusers, transformers, tokenizers, accelerate, hub, safetensors, gguf …


@dataclass(frozen=True)
class RuntimePlan:
    packages: tuple[str, ...]  # requirement strings for pip / uv
    index_url: str  # the main index (PyPI)
    extra_index_url: str | None  # the PyTorch index with the chosen build, or None (torch from PyPI)
    approx_size: int  # download size in bytes, roughly
    build: str  # cu128 | cu126 | cu118 | mps | cpu
    why: str  # one sentence for the person: which build and why

    @property
    def approx_size_text(self) -> str:
        return (
            f"about {self.approx_size / 1000**3:.1f} GB"
            if self.approx_size >= 1000**3
            else (f"about {self.approx_size // MB} MB")
        )


def plan_ai_runtime(hardware: Hardware, *, pins: tuple[str, ...] = ()) -> RuntimePlan:
    """Which packages to install for this machine, from where, and roughly how much to download.

    `pins` are extra requirements that keep the bundled libraries (numpy, pillow) at the bundle's versions."""
    system = hardware.system or platform.system()
    if system == "Darwin":
        build = "mps" if hardware.apple_silicon else "cpu"
        why = "Apple Silicon: PyTorch with Metal (MPS)" if build == "mps" else "Intel Mac: PyTorch for the CPU"
        extra = None  # the macOS wheels on PyPI carry MPS
    elif hardware.gpus:
        build = hardware.cuda_wheel_tag
        gpu = hardware.best_gpu
        driver = ".".join(map(str, hardware.driver_cuda)) if hardware.driver_cuda else "unknown"
        why = f"NVIDIA {gpu.name} ({gpu.total_gib:.0f} GB), driver supports CUDA {driver}: PyTorch {build}"
        extra = f"{TORCH_INDEX}{build}"
    else:
        build = "cpu"
        why = "no supported GPU found: PyTorch for the CPU (the AI engines will be slow)"
        extra = f"{TORCH_INDEX}cpu"
    mb = TORCH_DOWNLOAD_MB.get((system, build), TORCH_DOWNLOAD_MB.get(("Linux", build), 3300)) + OTHER_DOWNLOAD_MB
    return RuntimePlan(AI_PACKAGES + tuple(pins), PYPI, extra, mb * MB, build, why)


def bundle_pins() -> tuple[str, ...]:
    """numpy and pillow as bundled: the AI packages must use the same ones (the bundle's load first)."""
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for dist in ("numpy", "pillow"):
        try:
            pins.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            continue
    return tuple(pins)


def runtime_dir() -> Path:
    """The managed AI environment of this Python version and machine (site-packages inside)."""
    from app.paths import user_data_dir

    tag = f"py{sys.version_info.major}{sys.version_info.minor}-{platform.system().lower()}-{platform.machine().lower()}"
    return user_data_dir() / "ai-runtime" / tag


def installed(target: Path | None = None) -> dict | None:
    """What the last finished install recorded (plan and time), or None when there is none."""
    target = target or runtime_dir()
    try:
        return json.loads((target / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def activate(target: Path | None = None) -> bool:
    """Make a finished AI runtime importable: its site-packages goes to the END of sys.path, so the
    bundle's own numpy, pillow … always win. True when activated."""
    target = target or runtime_dir()
    site = target / "site-packages"
    if installed(target) is None or not site.is_dir():
        return False
    if str(site) not in sys.path:
        sys.path.append(str(site))
    return True


def installer_command() -> list[str]:
    """uv (bundled next to the executable, or on PATH), else this Python's pip when not frozen."""
    exe = "uv.exe" if os.name == "nt" else "uv"
    for candidate in (Path(sys.executable).parent / exe, Path(getattr(sys, "_MEIPASS", "")) / exe):
        if candidate.is_file():
            return [str(candidate), "pip"]
    found = shutil.which("uv")
    if found:
        return [found, "pip"]
    if not getattr(sys, "frozen", False):
        return [sys.executable, "-m", "pip"]
    raise AppError("no package installer found to fetch the AI engines (uv is missing from this build)")


def install_command(plan: RuntimePlan, site: Path, installer: list[str]) -> list[str]:
    cmd = [*installer, "install", "--target", str(site), "--index-url", plan.index_url]
    if plan.extra_index_url:
        cmd += ["--extra-index-url", plan.extra_index_url]
    if Path(installer[0]).stem == "uv":
        cmd += ["--python-version", f"{sys.version_info.major}.{sys.version_info.minor}",
                "--index-strategy", "unsafe-best-match"]  # fmt: skip
    else:
        cmd += ["--only-binary", ":all:", "--no-input", "--disable-pip-version-check", "--progress-bar", "off"]
    return cmd + list(plan.packages)


def _run_logged(cmd: list[str], log: Path, *, progress, cancel) -> int:
    """Run `cmd`, copying its output to `log` and to progress; kill it when `cancel` fires."""
    lines: queue.Queue = queue.Queue()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def pump() -> None:
            for raw in proc.stdout:
                lines.put(raw)
            lines.put(None)

        threading.Thread(target=pump, daemon=True, name="ai-runtime-install").start()
        count = 0
        try:
            while True:
                cancel.check()
                try:
                    raw = lines.get(timeout=0.2)
                except queue.Empty:
                    continue
                if raw is None:
                    return proc.wait()
                out.write(raw)
                count += 1
                progress("install", count, 0, raw.decode("utf-8", "replace").strip()[:80])
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def install_ai_runtime(target_dir: Path, plan: RuntimePlan, *, installer: list[str] | None = None,
                       progress=NULL_PROGRESS, cancel=NEVER) -> Path:  # fmt: skip
    """Install `plan` into `target_dir` (site-packages inside) with pip or uv in a subprocess.

    Works in `<target_dir>.partial` and renames it only when the installer succeeded, so a failed or
    cancelled install leaves the previous state (usually: no AI runtime) and can simply be retried."""
    target_dir = Path(target_dir)
    work = target_dir.with_name(target_dir.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cmd = install_command(plan, work / "site-packages", installer or installer_command())
    progress("install", 0, 0, f"downloading the AI engines ({plan.approx_size_text})")
    log = work / "install.log"
    try:
        code = _run_logged(cmd, log, progress=progress, cancel=cancel)
        if code != 0:
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            raise AppError(f"installing the AI engines failed (exit {code}): {' / '.join(tail)}")
        cancel.check()
        record = {"plan": plan.__dict__ | {"packages": list(plan.packages)}, "installed_at": time.time()}
        (work / MARKER).write_text(json.dumps(record, indent=2), encoding="utf-8")
        old = target_dir.with_name(target_dir.name + ".old")
        if target_dir.exists():
            shutil.rmtree(old, ignore_errors=True)
            target_dir.rename(old)
        work.rename(target_dir)
        shutil.rmtree(old, ignore_errors=True)
    except (AppError, Cancelled, OSError):
        shutil.rmtree(work, ignore_errors=True)
        raise
    progress("install", 1, 1, "the AI engines are installed")
    return target_dir
