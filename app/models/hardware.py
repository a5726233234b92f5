"""What the machine has: NVIDIA GPUs (NVML), the installed PyTorch build, Apple MPS, RAM.

Nothing here imports torch (`detect(torch_probe=...)` lets app/inference do that); without probing, the torch
build is read from torch/version.py as text. No driver, no torch and a CPU-only torch all work.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

GIB = 1024**3
TORCH_INDEX = "https://download.pytorch.org/whl/"


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    total_vram: int  # bytes
    free_vram: int | None = None  # bytes
    compute_capability: tuple[int, int] | None = None
    source: str = "nvml"  # nvml | torch

    @property
    def total_gib(self) -> float:
        return self.total_vram / GIB

    @property
    def bf16(self) -> bool | None:
        """bf16 needs compute capability 8.0 (Ampere) or newer; None when unknown."""
        return None if self.compute_capability is None else self.compute_capability >= (8, 0)


@dataclass(frozen=True)
class Hardware:
    system: str = ""  # Linux | Windows | Darwin
    machine: str = ""  # x86_64 | arm64 ...
    cpu_count: int = 1
    ram_total: int | None = None  # bytes
    ram_available: int | None = None
    gpus: tuple[Gpu, ...] = ()
    nvidia_driver: str | None = None
    driver_cuda: tuple[int, int] | None = None  # newest CUDA the driver supports
    nvml_error: str | None = None
    torch_installed: bool = False
    torch_version: str | None = None
    torch_cuda: str | None = None  # torch.version.cuda: None on a CPU-only build
    torch_probed: bool = False
    torch_cuda_available: bool | None = None  # None: not probed
    mps_available: bool | None = None  # None: not probed / not a Mac
    notes: tuple[str, ...] = field(default=())

    @property
    def best_gpu(self) -> Gpu | None:
        return max(self.gpus, key=lambda g: g.total_vram, default=None)

    @property
    def vram_gib(self) -> float:
        gpu = self.best_gpu
        return gpu.total_gib if gpu else 0.0

    @property
    def bf16(self) -> bool:
        gpu = self.best_gpu
        return bool(gpu and gpu.bf16)

    @property
    def apple_silicon(self) -> bool:
        return self.system == "Darwin" and self.machine in ("arm64", "aarch64")

    @property
    def torch_is_cpu_only(self) -> bool:
        return self.torch_installed and self.torch_cuda is None and self.system != "Darwin"

    @property
    def cuda_usable(self) -> bool:
        """An NVIDIA GPU that the installed torch can use (or will, once torch is installed)."""
        if not self.gpus:
            return False
        if self.torch_probed and self.torch_installed:
            return bool(self.torch_cuda_available)
        return not self.torch_is_cpu_only

    @property
    def torch_install_command(self) -> str:
        """The pip command that installs a CUDA build of torch suited to this driver and GPU."""
        return f"python -m pip install --upgrade --force-reinstall torch --index-url {TORCH_INDEX}{self.cuda_wheel_tag}"

    @property
    def cuda_wheel_tag(self) -> str:
        newest_cc = max((g.compute_capability or (0, 0) for g in self.gpus), default=(0, 0))
        if newest_cc >= (12, 0) or self.driver_cuda is None or self.driver_cuda >= (12, 8):
            return "cu128"  # Blackwell (RTX 50xx) needs CUDA 12.8 builds
        if self.driver_cuda >= (12, 6):
            return "cu126"
        return "cu118"

    def diagnosis(self) -> tuple[str, ...]:
        """Problems a person can fix, each with what to do; empty when all is well."""
        out: list[str] = []
        if self.gpus and self.torch_is_cpu_only:
            out.append(
                f"An NVIDIA GPU ({self.best_gpu.name}) is present, but the installed PyTorch "
                f"{self.torch_version or ''} is a CPU-only build (torch.version.cuda is None), so the GPU is unused. "
                f"Install the CUDA build: {self.torch_install_command}"
            )
        elif self.gpus and self.torch_probed and self.torch_installed and not self.torch_cuda_available:
            out.append(
                f"PyTorch {self.torch_version} is built for CUDA {self.torch_cuda} but cannot use the GPU; "
                f"the NVIDIA driver ({self.nvidia_driver or 'unknown'}) may be too old for it. "
                "Update the driver, or install a matching build: " + self.torch_install_command
            )
        if self.gpus and not self.torch_installed:
            out.append(f"PyTorch is not installed; the AI engines need it. Install: {self.torch_install_command}")
        if self.gpus and not self.bf16 and self.best_gpu.compute_capability is not None:
            cc = ".".join(map(str, self.best_gpu.compute_capability))
            out.append(f"{self.best_gpu.name} (compute capability {cc}) has no bf16; models run in fp32 (slower).")
        if self.apple_silicon and self.torch_probed and self.torch_installed and not self.mps_available:
            out.append("This Mac's PyTorch cannot use Metal (MPS); update macOS to 12.3+ and PyTorch.")
        return tuple(out)


def detect(*, torch_probe: Callable[[tuple[Gpu, ...]], dict] | None = None) -> Hardware:
    """Look at this machine without importing torch.

    `torch_probe` (app.inference.probe.probe_torch_runtime, passed in by the layers above: only
    app/inference imports torch) also asks the installed torch what it can use.
    """
    total, available = read_ram()
    gpus, driver, driver_cuda, nvml_error = read_nvml()
    torch_installed, torch_version, torch_cuda = read_torch_build()
    info = {
        "system": platform.system(),
        "machine": platform.machine().lower(),
        "cpu_count": os.cpu_count() or 1,
        "ram_total": total,
        "ram_available": available,
        "gpus": gpus,
        "nvidia_driver": driver,
        "driver_cuda": driver_cuda,
        "nvml_error": nvml_error,
        "torch_installed": torch_installed,
        "torch_version": torch_version,
        "torch_cuda": torch_cuda,
    }
    if torch_probe is not None and torch_installed:
        info.update(torch_probe(gpus))
    return Hardware(**info)


def read_nvml() -> tuple[tuple[Gpu, ...], str | None, tuple[int, int] | None, str | None]:
    """(gpus, driver version, newest CUDA the driver supports, error) from nvidia-ml-py."""
    try:
        import pynvml  # nvidia-ml-py
    except ImportError:
        return (), None, None, "nvidia-ml-py is not installed"
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return (), None, None, f"no NVIDIA driver found ({exc})"
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
        try:
            v = pynvml.nvmlSystemGetCudaDriverVersion_v2()
            driver_cuda = (v // 1000, (v % 1000) // 10)
        except Exception:
            driver_cuda = None
        gpus = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
            try:
                cc = tuple(pynvml.nvmlDeviceGetCudaComputeCapability(handle))
            except Exception:
                cc = None
            gpus.append(Gpu(i, _text(pynvml.nvmlDeviceGetName(handle)), int(mem.total), int(mem.free), cc))
        return tuple(gpus), driver, driver_cuda, None
    except Exception as exc:
        return (), None, None, f"NVML error: {exc}"
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


_VERSION_RE = re.compile(r"^__version__\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.M)
_CUDA_RE = re.compile(r"^cuda\s*(?::[^=]*)?=\s*(?:['\"]([^'\"]+)['\"]|None)", re.M)


def read_torch_build() -> tuple[bool, str | None, str | None]:
    """(installed, version, CUDA version or None) read from torch/version.py without importing torch."""
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return False, None, None
    version_file = Path(next(iter(spec.submodule_search_locations))) / "version.py"
    try:
        text = version_file.read_text(encoding="utf-8")
    except OSError:
        return True, None, None
    version = _VERSION_RE.search(text)
    cuda = _CUDA_RE.search(text)
    return True, version.group(1) if version else None, cuda.group(1) if cuda else None


def read_ram() -> tuple[int | None, int | None]:
    """(total, available) bytes of system memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            fields = dict(line.split(":", 1) for line in fh if ":" in line)
        total = int(fields["MemTotal"].split()[0]) * 1024
        available = fields.get("MemAvailable")
        return total, int(available.split()[0]) * 1024 if available else None
    except (OSError, KeyError, ValueError):
        pass
    if sys.platform == "win32":
        return _windows_ram()
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None, None
    try:
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        available = None
    return total, available


def _windows_ram() -> tuple[int | None, int | None]:  # pragma: no cover - Windows only
    import ctypes

    class MemoryStatus(ctypes.Structure):
        _fields_ = [
            ("dwLength", ctypes.c_ulong),
            ("dwMemoryLoad", ctypes.c_ulong),
            ("ullTotalPhys", ctypes.c_ulonglong),
            ("ullAvailPhys", ctypes.c_ulonglong),
            ("ullTotalPageFile", ctypes.c_ulonglong),
            ("ullAvailPageFile", ctypes.c_ulonglong),
            ("ullTotalVirtual", ctypes.c_ulonglong),
            ("ullAvailVirtual", ctypes.c_ulonglong),
            ("sullAvailExtendedVirtual", ctypes.c_ulonglong),
        ]

    status = MemoryStatus()
    status.dwLength = ctypes.sizeof(MemoryStatus)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
        return None, None
    return int(status.ullTotalPhys), int(status.ullAvailPhys)


GB = 10**9  # decimal, as sizes are shown everywhere in the app


def cache_budget_bytes(
    ram_bytes: int | None, vram_bytes: int | None = None, *, weights_on_gpu: bool = False, setting_gb: float = 0
) -> int:
    """How many bytes of weights may stay resident. `setting_gb` > 0 (settings' model_cache_gb) wins.

    CPU and every offload mode keep each resident weight in RAM (the GPU holds only what runs), so
    the budget is the RAM less room for the OS and the app: 4 GB, or an eighth of a big machine.
    With no offload on a GPU (`weights_on_gpu`) the weights live in VRAM: its size less room for
    activations and the VAE decode (2 GB, or a sixth of a big card). Never under 1 GB.
    """
    if setting_gb and setting_gb > 0:
        return int(setting_gb * GB)
    if weights_on_gpu and vram_bytes:
        room = vram_bytes - max(2 * GB, vram_bytes // 6)
    else:
        ram = ram_bytes or 8 * GB
        room = ram - max(4 * GB, ram // 8)
    return max(int(room), GB)
