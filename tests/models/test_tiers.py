import pytest

from app.errors import InputError
from app.models.catalog import load_catalog
from app.models.hardware import GIB, Gpu, Hardware
from app.models.tiers import choose_tier

CATALOG = load_catalog()


def cuda(gb: float, cc=(8, 9), **kw) -> Hardware:
    gpu = Gpu(0, f"Test GPU {gb} GB", int(gb * GIB), None, cc)
    base = {"system": "Linux", "machine": "x86_64", "ram_total": 32 * GIB, "gpus": (gpu,), "torch_installed": True,
            "torch_version": "2.9.0+cu128", "torch_cuda": "12.8"}  # fmt: skip
    base.update(kw)
    return Hardware(**base)


CPU = Hardware(system="Linux", machine="x86_64", ram_total=32 * GIB)
MAC = Hardware(system="Darwin", machine="arm64", ram_total=32 * GIB, torch_installed=True, torch_version="2.9.0")


@pytest.mark.parametrize(
    ("hardware", "tier"),
    [
        (CPU, "cpu"),
        (MAC, "mps"),
        (cuda(4), "cpu"),
        (cuda(6), "cuda-6gb"),
        (cuda(7.6), "cuda-8gb"),  # an "8 GB" card reports a little less
        (cuda(8), "cuda-8gb"),
        (cuda(12), "cuda-12gb"),
        (cuda(16), "cuda-16gb"),
        (cuda(24), "cuda-24gb"),
        (cuda(48), "cuda-48gb"),
        (cuda(80), "cuda-48gb"),
        (cuda(24, torch_cuda=None, torch_version="2.9.0+cpu"), "cpu"),  # GPU, but CPU-only torch
    ],
)
def test_auto_choice(hardware, tier):
    assert choose_tier(hardware, CATALOG).name == tier


def test_8gb_runs_both_stages_quantized_with_offload():
    tier = choose_tier(cuda(8), CATALOG)
    for stage in (tier.preview, tier.final):
        assert stage.enabled and stage.variant == "q4_k_m" and stage.offload in ("group", "sequential")
        assert stage.dtype == "bf16"


def test_gpu_without_bf16_gets_fp32():
    tier = choose_tier(cuda(11.0, cc=(7, 5)), CATALOG)
    assert tier.name == "cuda-12gb"
    assert tier.preview.dtype == tier.final.dtype == "fp32"
    assert any("fp32" in note for note in tier.notes)
    # fp32 weights are twice bf16's: the 12 GB tier's model offload becomes group offload
    assert CATALOG.tiers["cuda-12gb"].preview.offload == "model"
    assert tier.preview.offload == tier.final.offload == "group"
    t4 = choose_tier(cuda(16, cc=(7, 5)), CATALOG)  # a Tesla T4 lands in the 16 GB tier
    assert t4.name == "cuda-16gb" and t4.preview.offload == "group"
    assert choose_tier(cuda(80, cc=(7, 0)), CATALOG).final.offload == "model"  # V100-class: none -> model


def test_cpu_tier_runs_both_stages_small():
    tier = choose_tier(CPU, CATALOG)
    assert tier.device == "cpu" and tier.preview.enabled and tier.final.enabled
    assert tier.final.resolution <= 512 and tier.final.variant == "q4_k_m"


def test_small_ram_disables_cpu_final_with_reason():
    tier = choose_tier(Hardware(system="Linux", ram_total=8 * GIB), CATALOG)
    assert not tier.final.enabled and "RAM" in tier.final.reason


def test_cpu_only_torch_note_gives_install_command():
    tier = choose_tier(cuda(12, torch_cuda=None, torch_version="2.9.0+cpu"), CATALOG)
    assert any("download.pytorch.org/whl/cu" in note for note in tier.notes)


def test_small_ram_disables_cpu_preview():
    tier = choose_tier(Hardware(system="Linux", ram_total=8 * GIB), CATALOG)
    assert not tier.preview.enabled and "RAM" in tier.preview.reason


def test_override_by_name_and_cuda_tier_without_gpu():
    tier = choose_tier(cuda(8), CATALOG, override="cuda-24gb")
    assert tier.name == "cuda-24gb" and tier.chosen_by == "override" and tier.final.enabled
    on_cpu = choose_tier(CPU, CATALOG, override="cuda-8gb")
    assert not on_cpu.preview.enabled and "NVIDIA" in on_cpu.preview.reason


def test_unknown_override_lists_names():
    with pytest.raises(InputError) as info:
        choose_tier(CPU, CATALOG, override="cuda-3gb")
    assert "cuda-3gb" in info.value.message and "cuda-8gb" in info.value.message and "mps" in info.value.message


def test_accepts_plain_mapping_of_presets():
    assert choose_tier(cuda(16), CATALOG.tiers).name == "cuda-16gb"
