"""Imported LoRAs (app/models/loras.py, `mapbrush models loras`): checked from the safetensors header (pickles,
non-LoRA files and Stable Diffusion LoRAs refused in one line), base model told from the keys, copied into the
models folder, listed with name, base, size and sha256, and named by id in a style or --lora."""

import hashlib
import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from app.cli import main
from app.errors import InputError
from app.models.loras import LoraLibrary, guess_base, read_header

Z_KEYS = ["transformer.layers.0.attention.to_q", "transformer.noise_refiner.0.attention.to_k"]
FLUX2_KEYS = [
    "transformer.single_transformer_blocks.0.attn.to_qkv_mlp_proj",
    "transformer.transformer_blocks.0.attn.to_q",
]
SD_KEYS = ["lora_unet_down_blocks_0_attentions_0_proj_in", "lora_te_text_model_encoder_layers_0_mlp_fc1"]


def _peft(path, modules, rank=2, meta=None):
    tensors = {}
    for m in modules:
        tensors[f"{m}.lora_A.weight"] = np.ones((rank, 8), np.float32)
        tensors[f"{m}.lora_B.weight"] = np.zeros((8, rank), np.float32)
    save_file(tensors, str(path), metadata=meta)
    return path


def _kohya(path, modules):
    tensors = {}
    for m in modules:
        tensors[f"{m}.lora_down.weight"] = np.ones((2, 8), np.float32)
        tensors[f"{m}.lora_up.weight"] = np.ones((8, 2), np.float32)
        tensors[f"{m}.alpha"] = np.array(2.0, np.float32)
    save_file(tensors, str(path))
    return path


@pytest.fixture
def files(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    return {
        "z": _peft(src / "ink_wash.safetensors", Z_KEYS),
        "flux2": _peft(src / "klein style.safetensors", FLUX2_KEYS),
        "kohya_flux": _kohya(src / "bfl.safetensors", ["lora_unet_double_blocks_0_img_attn_qkv"]),
        "sd": _kohya(src / "sd15.safetensors", SD_KEYS),
        "meta": _peft(
            src / "tagged.safetensors",
            ["transformer.blocks.0.proj"],
            meta={"modelspec.architecture": "Z-Image-Turbo/lora"},
        ),
    }


def test_base_model_from_keys_and_metadata(files):
    got = {name: guess_base(*read_header(path)) for name, path in files.items()}
    assert got == {"z": "z-image", "flux2": "flux2", "kohya_flux": "flux", "sd": "sd", "meta": "z-image"}


def test_import_copies_and_lists_name_base_size_sha(files, tmp_path):
    lib = LoraLibrary(tmp_path / "models")
    got = lib.import_file(files["z"])
    assert got.id == "ink_wash" and got.base_label == "Z-Image" and got.engine == "preview"
    assert got.path == tmp_path / "models" / "loras" / "ink_wash.safetensors" and got.path.is_file()
    assert got.sha256 == hashlib.sha256(files["z"].read_bytes()).hexdigest()
    assert got.size_bytes == files["z"].stat().st_size
    assert lib.import_file(files["z"]).id == "ink_wash"  # the same file again: the same record
    klein = lib.import_file(files["flux2"])
    assert klein.id == "klein_style" and klein.engine == "final"
    files["z"].unlink()  # the library holds its own copy
    listed = LoraLibrary(tmp_path / "models").list()
    assert [(f.id, f.base_label) for f in listed] == [("ink_wash", "Z-Image"), ("klein_style", "FLUX.2")]


@pytest.mark.parametrize("suffix", [".ckpt", ".pt", ".pth", ".bin"])
def test_pickles_are_refused_in_one_line(tmp_path, suffix):
    bad = tmp_path / f"style{suffix}"
    bad.write_bytes(b"\x80\x04not really")
    with pytest.raises(InputError) as err:
        LoraLibrary(tmp_path / "models").import_file(bad)
    line = str(err.value)
    assert "\n" not in line and str(bad) in line and "pickle" in line and ".safetensors" in line
    assert not (tmp_path / "models" / "loras").exists()


def test_non_lora_and_stable_diffusion_files_are_refused(files, tmp_path):
    plain = tmp_path / "vae.safetensors"
    save_file({"decoder.conv_in.weight": np.ones((4, 4), np.float32)}, str(plain))
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    lib = LoraLibrary(tmp_path / "models")
    for path, words in ((plain, "no LoRA weights"), (files["sd"], "Stable Diffusion"), (broken, "not a readable")):
        with pytest.raises(InputError, match=words) as err:
            lib.import_file(path)
        assert "\n" not in str(err.value) and str(path) in str(err.value)
    assert lib.list() == []


def test_ids_resolve_to_imported_files(files, tmp_path):
    from app.inference.lora import LoraSpec, parse_cli, resolved

    models = tmp_path / "models"
    lib = LoraLibrary(models)
    lib.import_file(files["z"])
    spec = parse_cli("ink_wash:0.6")
    assert spec.ref == "ink_wash" and spec.weight == 0.6
    assert resolved(spec, models).path == models / "loras" / "ink_wash.safetensors"
    assert resolved(LoraSpec(files["z"], ref="lora:ink_wash"), models).path.parent == models / "loras"
    with pytest.raises(InputError, match=r"no imported LoRA 'woodcut' \(imported: ink_wash\)"):
        resolved(parse_cli("woodcut"), models)
    with pytest.raises(InputError, match="not downloaded yet"):
        resolved(parse_cli("hub:someone/loras/ink.safetensors"), models)


def test_style_toml_names_an_imported_lora_by_id(tmp_path):
    from app.styles.catalog import load_styles

    body = 'base = "watercolor"\nname = "inky"\ntitle = "Inky"\n[[loras]]\nengine = "preview"\nid = "ink_wash"\n'
    (tmp_path / "inky.toml").write_text(body + "weight = 0.4\n")
    (spec,) = load_styles(tmp_path)["inky"].loras
    assert (spec.ref, spec.weight, spec.engine) == ("ink_wash", 0.4, "preview")
    (tmp_path / "inky.toml").write_text(body + 'path = "a.safetensors"\n')
    with pytest.raises(InputError, match=r"loras\[1\]\.id"):
        load_styles(tmp_path)


def test_hub_lora_is_downloaded_then_resolved(files, tmp_path, monkeypatch):
    from huggingface_hub import constants as hf_constants

    from app.inference.lora import parse_cli, resolved
    from tests.models.fakehub import FakeHub

    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    models = tmp_path / "models"
    with FakeHub({"someone/loras": {"styles/ink.safetensors": files["z"].read_bytes()}}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        got = LoraLibrary(models).import_hub("hub:someone/loras/styles/ink.safetensors")
    assert got.source == "hub:someone/loras/styles/ink.safetensors" and got.base == "z-image"
    assert resolved(parse_cli("hub:someone/loras/styles/ink.safetensors:0.5"), models).path == got.path


def test_cli_lists_imports_and_removes(files, tmp_path, capsys):
    models = str(tmp_path / "models")
    assert main(["models", "--models-dir", models, "loras"]) == 0
    assert "no LoRAs imported yet" in capsys.readouterr().out
    assert main(["models", "--models-dir", models, "loras", "import", str(files["z"])]) == 0
    assert "imported ink_wash: Z-Image" in capsys.readouterr().out
    assert main(["models", "--models-dir", models, "import-lora", str(files["flux2"])]) == 0
    capsys.readouterr()
    assert main(["models", "--models-dir", models, "loras"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["id", "name", "base", "model", "size", "sha256"]
    digest = hashlib.sha256(files["z"].read_bytes()).hexdigest()
    assert out[1].split()[:3] == ["ink_wash", "ink_wash", "Z-Image"] and out[1].endswith(digest)
    assert "FLUX.2" in out[2]
    assert main(["models", "--models-dir", models, "loras", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["engine"], r["sha256"][:8]) for r in rows] == [
        ("ink_wash", "preview", digest[:8]),
        ("klein_style", "final", rows[1]["sha256"][:8]),
    ]
    bad = tmp_path / "style.ckpt"
    bad.write_bytes(b"x")
    assert main(["models", "--models-dir", models, "loras", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "pickle" in err and "Traceback" not in err
    assert main(["models", "--models-dir", models, "loras", "remove", "ink_wash"]) == 0
    assert [f.id for f in LoraLibrary(models).list()] == ["klein_style"]


def test_doctor_says_whether_loras_fuse(files, tmp_path):
    import dataclasses

    from app.models.catalog import load_catalog
    from app.models.doctor import diagnose
    from app.models.hardware import GIB, Gpu, Hardware
    from app.models.store import ModelStore
    from app.models.tiers import choose_tier

    catalog = load_catalog()
    LoraLibrary(tmp_path / "m").import_file(files["z"])
    store = ModelStore(catalog, tmp_path / "m")

    def line(vram_gb):
        gpu = Gpu(0, "GPU", vram_gb * GIB, vram_gb * GIB, (8, 9))
        hw = Hardware(system="Linux", ram_total=64 * GIB, gpus=(gpu,), nvidia_driver="570.1", driver_cuda=(12, 8))
        tier = choose_tier(dataclasses.replace(hw, torch_installed=True, torch_cuda="12.8"), catalog)
        text = diagnose(hw, catalog, store, tier).lines()
        formats = {catalog.models[s.model].variants[s.variant].format for s in (tier.preview, tier.final) if s.enabled}
        return next(t for t in text if t.startswith("LoRAs")), formats

    small, formats = line(8)
    assert "gguf" in formats and "1 imported" in small and "GGUF" in small and "unfused" in small
    big, formats = line(80)
    assert "gguf" not in formats and "1 imported" in big and "fused into the weights" in big
