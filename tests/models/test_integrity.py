"""Damaged model files: found by their structure, by size and by sha256; repaired by fetching only them."""

import huggingface_hub.constants as hf_constants
import numpy as np
import pytest

from app.cli import main
from app.errors import InputError
from app.models.integrity import file_problem, is_file_error
from app.models.store import ModelStore
from tests.models.fakehub import FakeHub
from tests.models.model_files import gguf_bytes

gguf = pytest.importorskip("gguf")
safetensors_numpy = pytest.importorskip("safetensors.numpy")


def safetensors_bytes(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    tensors = {
        "model.embed_tokens.weight": rng.standard_normal((64, 32)).astype(np.float32),
        "model.norm.weight": np.ones(32, np.float32),
    }
    return safetensors_numpy.save(tensors, metadata={"format": "pt"})


def overwrite(path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def truncate(path, keep: int) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(keep)


# ----- structure ---------------------------------------------------------------------------
def test_whole_files_pass(tmp_path):
    st = tmp_path / "model.safetensors"
    st.write_bytes(safetensors_bytes())
    gg = tmp_path / "w.gguf"
    gg.write_bytes(gguf_bytes(tmp_path))
    assert file_problem(st) is None and file_problem(gg) is None


def test_safetensors_overwritten_header_and_truncation(tmp_path):
    st = tmp_path / "model.safetensors"
    st.write_bytes(safetensors_bytes())
    overwrite(st, 12, b"\xff\xfe\xfd\xfc")  # inside the JSON header, as a broken download leaves it
    assert "not valid UTF-8" in file_problem(st)
    st.write_bytes(safetensors_bytes())
    truncate(st, st.stat().st_size - 100)
    assert file_problem(st).startswith("is truncated")
    truncate(st, 5)
    assert file_problem(st).startswith("is truncated")


def test_gguf_overwritten_magic_and_truncation(tmp_path):
    gg = tmp_path / "w.gguf"
    gg.write_bytes(gguf_bytes(tmp_path))
    truncate(gg, gg.stat().st_size - 300)
    assert "truncated" in file_problem(gg)
    gg.write_bytes(gguf_bytes(tmp_path))
    overwrite(gg, 0, b"\0\0\0\0")
    assert "no GGUF magic" in file_problem(gg)


def test_loader_exceptions_read_as_file_errors(tmp_path):
    from safetensors import SafetensorError, safe_open

    st = tmp_path / "model.safetensors"
    st.write_bytes(safetensors_bytes())
    overwrite(st, 12, b"\xff\xfe\xfd\xfc")
    with pytest.raises(SafetensorError) as err:
        safe_open(str(st), framework="numpy")
    assert is_file_error(err.value)
    gg = tmp_path / "w.gguf"
    gg.write_bytes(gguf_bytes(tmp_path))
    truncate(gg, gg.stat().st_size - 300)
    with pytest.raises(ValueError) as err:
        gguf.GGUFReader(gg)
    assert is_file_error(err.value)
    assert not is_file_error(ValueError("shapes do not match"))
    assert not is_file_error(KeyError(None))


# ----- verify and repair against a loopback hub --------------------------------------------
@pytest.fixture
def hub(monkeypatch, tmp_path):
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    repos = {
        "org/base": {
            "model_index.json": b'{"_class_name": "ZImagePipeline"}',
            "tokenizer/vocab.json": b'{"a": 1}',
            "text_encoder/model.safetensors": safetensors_bytes(1),
        },
        "org/gguf": {"zit-Q4_K_M.gguf": gguf_bytes(tmp_path)},
    }
    with FakeHub(repos) as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake


@pytest.fixture
def installed(hub, small_catalog, tmp_path):
    store = ModelStore(small_catalog, tmp_path / "models")
    model = store.download("zit", "q4_k_m")
    hub.requests.clear()
    return store, model


def test_download_records_size_and_sha256_of_every_file(installed):
    store, _ = installed
    files = store._load()["files"]
    assert len(files) == 4
    assert all(r["size"] > 0 and len(r["sha256"]) == 64 for r in files.values())


def test_verify_finds_truncated_and_corrupt_files(installed):
    store, model = installed
    assert store.verify() == []
    encoder = model.base_dir / "text_encoder" / "model.safetensors"
    size = encoder.stat().st_size
    overwrite(encoder, size - 40, b"\x00" * 16)  # inside tensor data: only the hash can tell
    assert store.check("zit", "q4_k_m") == []  # the cheap check cannot see it
    (problem,) = store.verify("zit")
    assert problem.path == encoder and "sha256" in problem.problem
    truncate(model.weights, 1000)
    problems = {p.path.name: p.problem for p in store.verify()}
    assert problems["zit-Q4_K_M.gguf"].startswith("is truncated (1000 bytes;")
    assert set(problems) == {"model.safetensors", "zit-Q4_K_M.gguf"}
    assert [p.path for p in store.check("zit", "q4_k_m")] == [model.weights]


def test_repair_fetches_only_the_broken_file(installed, hub):
    store, model = installed
    encoder = model.base_dir / "text_encoder" / "model.safetensors"
    good = encoder.read_bytes()
    overwrite(encoder, 12, b"\xff\xfe\xfd\xfc")
    repaired, fixed = store.repair("zit", "q4_k_m")
    assert [p.path for p in fixed] == [encoder]
    assert encoder.read_bytes() == good and repaired.ready
    gets = [path for method, path, _ in hub.requests if method == "GET"]
    assert gets == ["text_encoder/model.safetensors"]
    assert store.verify() == []


def test_imported_file_verify_and_no_repair(small_catalog, tmp_path):
    store = ModelStore(small_catalog, tmp_path / "models")
    gg = tmp_path / "zit-Q4_K_M.gguf"
    gg.write_bytes(gguf_bytes(tmp_path))
    store.import_path(gg, "zit", "q4_k_m")
    assert store.verify("zit", "q4_k_m") == []  # the first verify records the import's sha256
    overwrite(gg, gg.stat().st_size - 8, b"\x01" * 8)  # inside tensor data
    (problem,) = store.verify("zit", "q4_k_m")
    assert problem.path == gg and "when it was first verified" in problem.problem
    truncate(gg, gg.stat().st_size - 10)
    problems = [p for p in store.verify("zit", "q4_k_m") if p.path == gg]
    assert problems and "truncated" in problems[0].problem and not problems[0].repairable
    with pytest.raises(InputError, match="import a good copy again"):
        store.repair("zit", "q4_k_m")


def test_cli_verify_exit_3_then_download_repair(installed, hub, small_catalog, monkeypatch, capsys):
    store, model = installed
    monkeypatch.setattr("app.models.catalog.load_catalog", lambda *a, **k: small_catalog)
    overwrite(model.weights, 0, b"JUNK")
    assert main(["models", "--models-dir", str(store.root), "verify"]) == 3
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and str(model.weights) in out[0] and "--repair" in out[0]
    rc = main(["models", "--models-dir", str(store.root), "download", "zit", "--variant", "q4_k_m", "--repair"])
    assert rc == 0
    assert "fetched again" in capsys.readouterr().out
    assert main(["models", "--models-dir", str(store.root), "verify", "zit"]) == 0
    assert [p for m, p, _ in hub.requests if m == "GET"] == ["zit-Q4_K_M.gguf"]


# ----- the render boundary (app/jobs/ai.py): which failures become "damaged file" -------------
def test_engines_name_the_damaged_file_or_let_a_bug_through(tmp_path):
    from types import SimpleNamespace

    from safetensors import SafetensorError

    from app.errors import ModelUnavailable
    from app.jobs.ai import Engines

    engines = Engines(tmp_path / "models")
    gg = tmp_path / "z_image_turbo-Q4_K_M.gguf"
    gg.write_bytes(gguf_bytes(tmp_path))
    model = engines.store.import_path(gg, "z-image-turbo", "q4_k_m")
    cn = tmp_path / "controlnet.safetensors"
    cn.write_bytes(safetensors_bytes())
    engines.store.import_path(cn, "z-image-turbo-controlnet")
    plan = SimpleNamespace(controlnet_file=cn)
    # whole files: a shape bug is not a damaged file; a loader's file error names the model and `models verify`
    assert engines.damaged(model, plan, ValueError("The size of tensor a (3072) must match")) is None
    generic = engines.damaged(model, plan, SafetensorError("Error while deserializing header: invalid UTF-8"))
    assert isinstance(generic, ModelUnavailable) and generic.exit_code == 3
    assert "Z-Image-Turbo (q4_k_m) cannot be loaded" in generic.one_line() and "import a good copy" in generic.message
    # a truncated ControlNet is named, with its own fix
    truncate(cn, cn.stat().st_size - 50)
    err = engines.damaged(model, plan, SafetensorError("incomplete metadata"))
    assert err.one_line().startswith(f"{cn}: ") and "truncated" in err.message and "ControlNet" in err.message
    # a truncated transformer comes first
    truncate(gg, 200)
    err = engines.damaged(model, plan, KeyError(None))
    assert err.path == str(gg) and "is truncated" in err.message
