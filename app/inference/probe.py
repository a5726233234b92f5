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
