"""The speed truth (issue 13, finding 6): seconds per image from FLOPs and this machine's measured matmul rate."""

import json

import pytest

from app.cli import main
from app.models.catalog import load_catalog
from app.models.doctor import diagnose
from app.models.hardware import GIB, Gpu, Hardware
from app.models.speed import SLOW_SECONDS, cpu_matmul_rate, estimate, human_seconds, measure, stage_flops
from app.models.store import ModelStore
from app.models.tiers import choose_tier

CPU_ONLY = Hardware(system="Linux", machine="x86_64", cpu_count=2, ram_total=16 * GIB)
RTX_4070 = Hardware(system="Linux", machine="x86_64", cpu_count=8, ram_total=32 * GIB,
                    gpus=(Gpu(0, "NVIDIA GeForce RTX 4070", 12 * GIB, 11 * GIB, (8, 9)),),
                    nvidia_driver="560.35", driver_cuda=(12, 6))  # fmt: skip


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_flops_follow_the_documented_formula():
    # Z-Image-Turbo at 512², 8 passes: (32·32 + 256) tokens through 6.15 B parameters, the 4 B text encoder once,
    # and the VAE's 5 TFLOP per megapixel.
    tokens = 32 * 32 + 256
    want = 2 * 6.15e9 * tokens * 8 + 2 * 4.0e9 * 256 + 5e12 * 512 * 512 / 1e6
    assert stage_flops("z-image-turbo", "z-image", 512, 512, 8) == pytest.approx(want)
    # the final stage attends to the reference image's tokens too: about twice the transformer work
    one = stage_flops("flux2-klein-4b", "flux2-klein", 1024, 1024, 4)
    two = stage_flops("flux2-klein-4b", "flux2-klein", 1024, 1024, 4, references=1)
    assert 1.8 < two / one < 2.0
    assert human_seconds(30) == "30 s" and human_seconds(600) == "10 min" and human_seconds(3 * 3600) == "3.0 h"


def test_this_cpu_takes_minutes_for_an_ai_image(catalog):
    rate = cpu_matmul_rate()
    assert 1e8 < rate < 1e14  # a real measurement, FLOP/s
    tier = choose_tier(CPU_ONLY, catalog)
    speed = measure(tier, catalog)
    assert speed.device == "cpu" and speed.rate == rate
    assert {s.stage for s in speed.stages} == {"preview", "final"}
    preview = speed.stage("preview")
    assert preview.seconds > SLOW_SECONDS and speed.slow
    text = speed.warning(21.4)
    assert ("min" in text or " h:" in text) and "procedural engine" in text and "21.4 GB" in text


def test_doctor_says_so_before_offering_the_download(catalog, tmp_path):
    store = ModelStore(catalog, tmp_path / "models")
    tier = choose_tier(CPU_ONLY, catalog)
    speed = estimate(tier, catalog, 50e9)  # 50 GFLOP/s: a laptop CPU
    report = diagnose(CPU_ONLY, catalog, store, tier, speed)
    steps = list(report.next_steps)
    warn = next(i for i, s in enumerate(steps) if "would take about" in s)
    downloads = [i for i, s in enumerate(steps) if "mapbrush models download" in s]
    assert downloads and warn < min(downloads)
    assert "procedural engine" in steps[warn] and "stays the recommendation" in steps[warn]
    assert all(steps[i].startswith("Only if you can wait that long") for i in downloads)
    assert "GB)" in steps[downloads[0]]
    facts = dict(report.facts)
    assert "50 GFLOP/s measured" in facts["Speed (estimate)"]


def test_doctor_on_a_fast_gpu_offers_the_download_plainly(catalog, tmp_path):
    store = ModelStore(catalog, tmp_path / "models")
    tier = choose_tier(RTX_4070, catalog)
    speed = estimate(tier, catalog, 150e12)  # a 12 GB card's bf16 tensor rate
    assert not speed.slow and speed.warning() == ""
    steps = diagnose(RTX_4070, catalog, store, tier, speed).next_steps
    assert any(s.startswith("Download the preview model") for s in steps)
    assert not any("would take about" in s for s in steps)


def test_cli_doctor_json_carries_the_estimate(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("app.models.hardware.read_nvml", lambda: ((), None, None, "no NVIDIA driver found"))
    assert main(["doctor", "--tier", "cpu", "--models-dir", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "GFLOP/s measured" in report["facts"]["Speed (estimate)"]
    steps = report["next_steps"]
    warn = next(i for i, s in enumerate(steps) if "would take about" in s)
    assert warn < min(i for i, s in enumerate(steps) if "mapbrush models download" in s)
