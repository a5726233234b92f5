"""Downloads against a local fake hub: real HTTP through huggingface_hub and our resume code."""

import shutil

import huggingface_hub.constants as hf_constants
import pytest

from app.errors import Cancelled
from app.jobs.cancel import CancelToken
from app.jobs.progress import Progress
from app.models.download import DownloadError, NotEnoughDisk, local_path, partial_path
from app.models.store import ModelStore
from tests.models.fakehub import FakeHub

BIG = bytes(range(256)) * 8192  # 2 MiB


def repos():
    return {
        "org/base": {
            "model_index.json": b'{"_class_name": "ZImagePipeline"}',
            "tokenizer/vocab.json": b'{"a": 1}',
            "text_encoder/model.safetensors": b"T" * 5000,
            "transformer/big.safetensors": b"X" * 9000,
            "unrelated/readme.md": b"not needed",
        },
        "org/gguf": {"zit-Q4_K_M.gguf": b"GGUF" + BIG},
    }


@pytest.fixture
def hub(monkeypatch):
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)
    with FakeHub(repos()) as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake


@pytest.fixture
def store(small_catalog, tmp_path):
    return ModelStore(small_catalog, tmp_path / "models")


def test_plan_lists_only_what_the_variant_needs(hub, store):
    plan = store.plan("zit", "q4_k_m", endpoint=hub.url)
    keys = {f.key for f in plan.files}
    assert keys == {"org/gguf/zit-Q4_K_M.gguf", "org/base/model_index.json", "org/base/tokenizer/vocab.json",
                    "org/base/text_encoder/model.safetensors"}  # fmt: skip
    needed = [v for r in repos().values() for k, v in r.items() if "transformer" not in k and "unrelated" not in k]
    assert plan.total_bytes == plan.to_fetch_bytes == sum(map(len, needed))
    assert "apache-2.0" in plan.licence


def test_download_fetches_verifies_and_locates(hub, store):
    events = []
    model = store.download("zit", "q4_k_m", endpoint=hub.url, progress=Progress(events.append, hz=0))
    assert model.ready and model.format == "gguf"
    assert model.weights.read_bytes() == repos()["org/gguf"]["zit-Q4_K_M.gguf"]
    assert (model.base_dir / "text_encoder" / "model.safetensors").read_bytes() == b"T" * 5000
    assert not (model.base_dir / "transformer").exists()
    assert store.locate("zit", "q4_k_m") == model
    downloads = [e for e in events if e.stage == "download"]
    assert downloads[-1].step == downloads[-1].total and "of" in downloads[-1].message
    assert any(e.stage == "verify" for e in events)
    # a second run fetches nothing
    hub.requests.clear()
    store.download("zit", "q4_k_m", endpoint=hub.url)
    assert not [r for r in hub.requests if r[0] == "GET"]


def test_resume_from_partial_file_uses_range(hub, store):
    plan = store.plan("zit", "q4_k_m", endpoint=hub.url)
    gguf = next(f for f in plan.files if f.path.endswith(".gguf"))
    dest = local_path(store.root, gguf)
    dest.parent.mkdir(parents=True)
    data = repos()["org/gguf"]["zit-Q4_K_M.gguf"]
    partial_path(dest, gguf.sha256).write_bytes(data[:1000])
    store.download("zit", "q4_k_m", endpoint=hub.url, plan=plan)
    assert ("GET", "zit-Q4_K_M.gguf", "bytes=1000-") in hub.requests
    assert dest.read_bytes() == data


def test_cancel_leaves_partial_then_resumes(hub, store):
    token = CancelToken()

    def sink(event):
        if event.stage == "download" and event.step > 500_000:
            token.cancel()

    with pytest.raises(Cancelled):
        store.download("zit", "q4_k_m", endpoint=hub.url, progress=Progress(sink, hz=0), cancel=token)
    partials = list(store.root.rglob("*.incomplete"))
    assert len(partials) == 1 and 0 < partials[0].stat().st_size < len(BIG)
    assert store.locate("zit", "q4_k_m") is None
    assert store.disk_usage().partial_bytes == partials[0].stat().st_size
    done = partials[0].stat().st_size
    model = store.download("zit", "q4_k_m", endpoint=hub.url)
    assert ("GET", "zit-Q4_K_M.gguf", f"bytes={done}-") in hub.requests
    assert model.ready and not list(store.root.rglob("*.incomplete"))


def test_free_disk_check_stops_before_fetching(hub, store, monkeypatch):
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=1000))
    with pytest.raises(NotEnoughDisk, match="more disk space"):
        store.download("zit", "q4_k_m", endpoint=hub.url)
    assert not [r for r in hub.requests if r[0] == "GET"]


def test_corrupt_file_is_rejected(hub, store):
    hub.lie_sha.add("org/gguf/zit-Q4_K_M.gguf")
    with pytest.raises(DownloadError, match="corrupt"):
        store.download("zit", "q4_k_m", endpoint=hub.url)
    assert store.locate("zit", "q4_k_m") is None


def test_missing_repo_file_is_a_plain_error(hub, store):
    del hub.repos["org/gguf"]["zit-Q4_K_M.gguf"]
    with pytest.raises(DownloadError, match=r"has no 'zit-Q4_K_M\.gguf'"):
        store.plan("zit", "q4_k_m", endpoint=hub.url)


def test_remove_keeps_shared_components(hub, store):
    store.download("zit", "q4_k_m", endpoint=hub.url)
    store.download("zit", "bf16", endpoint=hub.url)
    freed = store.remove("zit", "q4_k_m")
    assert freed == 4 + len(BIG)
    bf16 = store.locate("zit", "bf16")
    assert bf16 is not None and (bf16.base_dir / "text_encoder" / "model.safetensors").exists()
    store.remove("zit", "bf16")
    assert store.disk_usage().used_bytes == 0 and store.installed() == {}


def test_file_hashes_are_the_downloaded_digests_by_local_path(hub, store):
    """What the model manager matches components by: the sha256 recorded at download, keyed by the file on disk."""
    import hashlib

    model = store.download("zit", "q4_k_m", endpoint=hub.url)
    hashes = store.file_hashes()
    encoder = (model.base_dir / "text_encoder" / "model.safetensors").resolve()
    assert hashes[str(encoder)] == hashlib.sha256(b"T" * 5000).hexdigest()
    assert hashes[str(model.weights.resolve())] == hashlib.sha256(repos()["org/gguf"]["zit-Q4_K_M.gguf"]).hexdigest()
    assert all(len(h) == 64 for h in hashes.values()) and len(hashes) == 4  # index, vocab, encoder, GGUF
    assert store.label_for((str(model.base_dir), str(model.weights))).endswith(" q4_k_m")
