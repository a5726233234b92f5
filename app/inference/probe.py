"""What the installed torch can use (CUDA devices, MPS): the torch half of app.models.hardware.detect()."""

from __future__ import annotations

from app.models.hardware import Gpu


def probe_torch_runtime(nvml_gpus: tuple[Gpu, ...]) -> dict:
    """Import torch and ask it what it can use (CUDA devices, MPS)."""
    try:
        import torch
    except Exception as exc:  # a broken install must not crash `mapbrush doctor`
        return {"torch_probed": True, "torch_cuda_available": False, "notes": (f"importing torch failed: {exc}",)}
    result: dict = {
        "torch_probed": True,
        "torch_version": str(torch.__version__),
        "torch_cuda": torch.version.cuda,
        "torch_cuda_available": bool(torch.cuda.is_available()),
    }
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    result["mps_available"] = bool(mps and mps.is_available())
    if result["torch_cuda_available"] and not nvml_gpus:
        gpus = []
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            gpus.append(Gpu(i, props.name, int(props.total_memory), None, (props.major, props.minor), "torch"))
        result["gpus"] = tuple(gpus)
    return result


def matmul_rate(device: str, seconds: float = 0.2) -> float | None:
    """FLOP/s of a dense half-precision matmul on `device` ("cuda" | "mps"; float32 on "cpu"), measured for about
    `seconds`, for app.models.speed; None when torch cannot run it there."""
    import time

    try:
        import torch

        dtype = torch.float32 if device == "cpu" else (torch.float16 if device == "mps" else torch.bfloat16)
        n = 512 if device == "cpu" else 4096
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        sync = {"cuda": torch.cuda.synchronize, "mps": getattr(torch, "mps", None) and torch.mps.synchronize}
        wait = sync.get(device) or (lambda: None)
        a @ b
        wait()
        count, t0 = 0, time.perf_counter()
        while True:
            a @ b
            count += 1
            if count % 4 == 0:
                wait()
                if time.perf_counter() - t0 >= seconds:
                    return 2 * n**3 * count / (time.perf_counter() - t0)
    except Exception:  # no device, a broken driver: no measurement, no estimate
        return None
