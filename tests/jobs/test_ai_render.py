"""The AI engines through the one render chain and the CLI, with tiny random-weight packs on disk."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")

from app.cli import example_inputs
from app.errors import ModelUnavailable
from app.jobs.ai import AIOptions, Engines, stage_size, strength_for
from app.jobs.render import RenderRequest, render

ROOT = Path(__file__).resolve().parents[2]
SIZE = (128, 96)


@pytest.fixture(scope="module")
def packs(tmp_path_factory):
    from app.inference.packs import build_all

    return build_all(tmp_path_factory.mktemp("packs"))


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory, packs):
    """A models folder with the tiny packs imported exactly as a user imports real downloads."""
    root = tmp_path_factory.mktemp("models")
    engines = Engines(root)
    for name in ("z_image", "klein", "controlnet"):
        engines.store.import_path(packs[name])
    return root


def cli(*args, models_dir=None):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    if models_dir is not None:
        env["MAPBRUSH_MODELS_DIR"] = str(models_dir)
    return subprocess.run(
        [sys.executable, "-m", "app", *map(str, args)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600
    )


def test_stage_size_keeps_aspect_and_never_upscales():
    assert stage_size(1024, (3000, 2000)) == (1248, 832)
    assert stage_size(1024, (128, 96)) == (128, 96)
    assert strength_for(0) < strength_for(0.5) < strength_for(1) <= 1


def test_preview_then_final_in_process_without_reloading(models_dir):
    engines = Engines(models_dir)
    req = RenderRequest(inputs=example_inputs(), style="ink", size=SIZE, engine="preview", seed=3)
    first = render(req, engines=engines)
    assert first.engine == "preview" and first.image.shape == (96, 128, 3)
    assert set(first.stages) == {"sketch", "preview"}
    meta = first.metadata
    assert meta["engine"] == "preview" and meta["models"] == ["z-image-turbo:bf16"]
    assert 0.0 <= meta["fidelity"] <= 1.0 and meta["tier"] == engines.tier.name
    assert "ink" in meta["prompt"] or "pen" in meta["prompt"]
    builds = engines.manager.stats["pipeline_builds"]
    loads = engines.manager.stats["component_loads"]

    again = render(req, data=first.data, engines=engines)
    assert engines.manager.stats["pipeline_builds"] == builds  # the second image never reloads weights
    assert engines.manager.stats["component_loads"] == loads
    assert (again.image == first.image).all()  # fixed seed → same picture

    def final_from(ai):
        req = RenderRequest(inputs=example_inputs(), style="ink", size=SIZE, engine="final", seed=3, ai=ai)
        return render(req, data=first.data, engines=engines)

    final = final_from(AIOptions(reference=first.stages["preview"]))
    assert final.engine == "final" and final.metadata["models"] == ["flux2-klein-4b:bf16"]
    assert final.image.shape == (96, 128, 3)

    # The finished preview PNG (labels and all) as reference: its overlay comes off before FLUX.2 sees it.
    labelled = final_from(AIOptions(reference=first.image, reference_metadata=first.metadata))
    overlay = (first.image != first.stages["preview"]).any(axis=-1)
    taken_off = (labelled.stages["reference"] != first.image).any(axis=-1)
    assert overlay.any() and taken_off[overlay].mean() > 0.95
    assert not any("stay in the reference" in w for w in labelled.warnings)


def test_controlnet_guide_is_recorded(models_dir):
    engines = Engines(models_dir)
    req = RenderRequest(inputs=example_inputs(), size=SIZE, engine="preview", seed=1, ai=AIOptions(guide="controlnet"))
    res = render(req, engines=engines)
    assert res.metadata["stages"]["preview"]["guide"] == "controlnet"


def test_missing_model_raises_model_unavailable_naming_the_command(tmp_path):
    engines = Engines(tmp_path / "empty")
    with pytest.raises(ModelUnavailable) as err:
        render(RenderRequest(inputs=example_inputs(), size=SIZE, engine="preview"), engines=engines)
    assert "mapbrush models download z-image-turbo" in err.value.message


def test_cli_preview_and_final_write_pngs_with_model_metadata(models_dir, tmp_path):
    prev = tmp_path / "preview.png"
    proc = cli("render", "--example", "--engine", "preview", "--size", "128x96", "--seed", "5", "-o", prev,
               "--json", models_dir=models_dir)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["metadata"]["engine"] == "preview"
    final = tmp_path / "final.png"
    proc = cli("render", "--example", "--engine", "final", "--reference", prev, "--size", "128x96", "-o", final,
               models_dir=models_dir)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "stay in the reference" not in proc.stderr  # the preview's labels were taken off, not copied
    meta = json.loads(cli("inspect", final, "--json").stdout)["mapbrush"]
    assert meta["engine"] == "final" and meta["models"] == ["flux2-klein-4b:bf16"] and "fidelity" in meta


def main_cli(capsys, monkeypatch, *args, models_dir):
    """The CLI's main() in this process (torch is imported already): (exit code, stderr)."""
    from app.cli import main

    monkeypatch.setenv("MAPBRUSH_MODELS_DIR", str(models_dir))
    capsys.readouterr()
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def test_cli_missing_model_exits_3_with_one_line(tmp_path, capsys, monkeypatch):
    code, err = main_cli(capsys, monkeypatch, "render", "--example", "--engine", "preview", "-o", tmp_path / "x.png",
                         models_dir=tmp_path / "none")  # fmt: skip
    assert code == 3
    lines = [line for line in err.splitlines() if line.startswith("mapbrush:")]
    assert len(lines) == 1 and "mapbrush models download z-image-turbo" in lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_cli_auto_falls_back_to_procedural_without_models(tmp_path):
    out = tmp_path / "auto.png"
    proc = cli("render", "--example", "--engine", "auto", "--size", "160x120", "-o", out, models_dir=tmp_path / "none")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(cli("inspect", out, "--json").stdout)["mapbrush"]["engine"] == "procedural"


def test_cli_models_list_doctor_and_import(models_dir, tmp_path):
    rows = json.loads(cli("models", "list", "--json", models_dir=models_dir).stdout)
    installed = {(r["model"], r["variant"]) for r in rows if r["installed"].startswith("yes")}
    assert ("z-image-turbo", "bf16") in installed and ("flux2-klein-4b", "bf16") in installed
    doc = cli("doctor", "--json", models_dir=models_dir)
    assert doc.returncode == 0, doc.stderr
    facts = json.loads(doc.stdout)["facts"]
    assert "RAM" in facts and "Tier" in facts
    pickle = tmp_path / "model.ckpt"
    pickle.write_bytes(b"\x80\x04not really")
    proc = cli("models", "import", pickle, models_dir=tmp_path / "m")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_a_final_model_can_be_chosen_and_runs_with_its_own_steps(packs, tmp_path):
    from dataclasses import replace

    from app.models.catalog import load_catalog

    catalog = load_catalog()  # the cpu tier with the 48 GB tier's upgrades, so that they can run here
    cpu = catalog.tiers["cpu"]
    upgrades = replace(cpu.final, optional=catalog.tiers["cuda-48gb"].final.optional)
    catalog = replace(catalog, tiers={**catalog.tiers, "cpu": replace(cpu, final=upgrades)})
    engines = Engines(tmp_path / "models", catalog=catalog)
    for name in ("z_image", "klein", "flux2_dev"):
        engines.store.import_path(packs[name])
    engines.store.import_path(packs["klein"], model_id="flux2-klein-9b", variant="bf16")  # same pipeline
    choices = engines.choices("final")
    assert [c.ref for c in choices] == ["flux2-klein-4b:bf16", "flux2-klein-9b:bf16", "flux2-dev:q4_k_m"]
    # the tier's own model counts as installed in any variant (the cpu tier asks for q4_k_m)
    assert [c.installed for c in choices] == [True, True, False]  # dev is installed as a folder, not Q4
    assert choices[0].default and not choices[1].default and choices[1].commercial_use is False
    assert engines.resolve("final", "flux2-klein-9b") == ("flux2-klein-9b", "bf16")  # the tier's listed variant
    plan, _ = engines.plan("final", SIZE, model="flux2-dev:bf16")
    assert plan.family == "flux2" and plan.steps == 28  # Dev is not step-distilled: its own steps, not Klein's 4
    assert plan.offload == "group"  # models.toml: flux2-dev:q4_k_m@group, more than the stage's own "none"
    assert engines.plan("final", SIZE, model="flux2-klein-9b")[0].steps == 4


def test_a_chosen_final_model_renders_and_is_named_in_the_metadata(packs, tmp_path):
    engines = Engines(tmp_path / "models")  # the cpu tier lists no optional models
    for name in ("z_image", "flux2_dev"):
        engines.store.import_path(packs[name])
    with pytest.raises(ModelUnavailable, match="mapbrush models download flux2-klein-4b"):
        engines.installed_for("final")
    ai = AIOptions(final_model="flux2-dev", steps=2)
    res = render(RenderRequest(inputs=example_inputs(), size=SIZE, engine="final", seed=1, ai=ai), engines=engines)
    assert res.metadata["models"] == ["z-image-turbo:bf16", "flux2-dev:bf16"]
    assert any("not one this machine's tier" in w for w in res.warnings)


def test_cli_final_model_errors_are_one_line(models_dir, tmp_path, capsys, monkeypatch):
    code, err = main_cli(capsys, monkeypatch, "render", "--example", "--engine", "final", "--final-model", "nope",
                         "-o", tmp_path / "x.png", models_dir=models_dir)  # fmt: skip
    assert code == 2 and "Traceback" not in err
    assert "unknown final model 'nope' (choose from flux2-klein-4b, flux2-klein-9b, flux2-dev)" in err
    code, err = main_cli(capsys, monkeypatch, "render", "--example", "--engine", "final", "--final-model",
                         "flux2-dev", "-o", tmp_path / "x.png", models_dir=models_dir)  # fmt: skip
    assert code == 3 and "mapbrush models download flux2-dev" in err
