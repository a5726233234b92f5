"""Keeps pipelines resident between images, within a memory budget.

- A pipeline is built once per key and reused; least recently used pipelines are evicted first
  when the loaded weights exceed the budget.
- Components that are the same files on disk with the same dtype are loaded once and shared
  between pipelines (e.g. the Z-Image img2img and ControlNet pipelines, or a FLUX.2 Klein folder
  and a GGUF transformer that uses the folder's VAE and text encoder). Files whose sha256 is known
  (`file_hashes`, the hub's digests recorded at download) are matched by content, so a component
  that is byte-identical in two models' folders is loaded once too.
- Before a component is loaded, the least recently used pipelines are evicted until it fits, so
  preview and final stay resident together wherever the budget holds both.
- `residency` is a frozen snapshot (what is resident, how much room is left) that other threads
  may read at any time; it is replaced, never changed, after every load and eviction.
- Prompt embeddings are cached per (encoder, prompt, negative).
- Lean text encoder: once the budget is tight (a load had to evict a pipeline, or the weights exceed the
  budget, so preview and final cannot stay resident together), a pipeline's text encoder is freed as soon
  as its prompt is encoded, and loaded again only when a prompt that is not cached needs it. With room for
  everything nothing is freed. (On 16 GB of RAM, Z-Image's bf16 Qwen3-4B encoder is 8 of its 15.4 GB.)
"""

from __future__ import annotations

import gc
import hashlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from app.inference import loading
from app.models.hardware import GB, cache_budget_bytes  # torch-free, so the window can show the budget too

_EMBED_CACHE_SIZE = 32
_SMALL_FILE = 1 << 20  # configs and tokenizer files without a recorded sha256 are hashed here


@dataclass
class _Component:
    obj: Any
    nbytes: int
    users: set = field(default_factory=set)


@dataclass
class _Pipeline:
    pipe: Any
    components: list
    placement: tuple[str, str] | None = None  # (device, offload) asked for
    applied: str = ""  # the offload mode loading.place used for it
    released: dict = field(default_factory=dict)  # name -> ComponentSpec freed by the lean text encoder policy


def default_budget_bytes(*, device: str = "cpu", offloads: tuple[str, ...] = (), setting_gb: float = 0) -> int:
    """`cache_budget_bytes` for this machine; `offloads` are the modes its stages use on `device`."""
    from app.models.hardware import read_ram

    vram = 0
    if device == "cuda" and torch.cuda.is_available():
        vram = torch.cuda.get_device_properties(0).total_memory
    on_gpu = device == "cuda" and bool(offloads) and all(o == "none" for o in offloads)  # MPS memory is the RAM
    return cache_budget_bytes(read_ram()[0], vram, weights_on_gpu=on_gpu, setting_gb=setting_gb)


@dataclass(frozen=True)
class Residency:
    """What is resident: (label, bytes of its weights) per pipeline, most recently used last."""

    pipelines: tuple[tuple[str, int], ...] = ()
    used_bytes: int = 0  # each shared component counted once
    budget_bytes: int = 0

    @property
    def room_bytes(self) -> int:
        return max(0, self.budget_bytes - self.used_bytes)

    @property
    def shared_bytes(self) -> int:
        return max(0, sum(b for _, b in self.pipelines) - self.used_bytes)

    def line(self) -> str:
        """E.g. "Resident: Z-Image-Turbo q8_0 (7.7 GB), FLUX.2 Klein 4B q8_0 (7.8 GB) · room left 3.1 GB of 12.0 GB"."""
        gb = lambda n: f"{n / GB:.1f} GB"  # noqa: E731
        what = ", ".join(f"{label} ({gb(n)})" for label, n in self.pipelines) or "nothing"
        shared = f" ({gb(self.shared_bytes)} shared, loaded once)" if self.shared_bytes > GB // 20 else ""
        return f"Resident: {what}{shared} · room left {gb(self.room_bytes)} of {gb(self.budget_bytes)}"


_ST_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def estimate_bytes(spec: loading.ComponentSpec) -> int:
    """What loading `spec` will add, before loading it: safetensors headers (shapes, at the dtype it loads in),
    GGUF file sizes (their blocks stay quantised); configs and tokenizer files hold no weights."""
    import json
    import struct

    target = torch.empty((), dtype=spec.dtype).element_size() if spec.dtype is not None else None
    total = 0
    for f in map(Path, spec.key()[1]):
        if f.suffix == ".gguf" and f.is_file():
            total += f.stat().st_size
        elif f.suffix == ".safetensors" and f.is_file():
            try:
                with f.open("rb") as fh:
                    (n,) = struct.unpack("<Q", fh.read(8))
                    header = json.loads(fh.read(n))
            except (OSError, ValueError, struct.error):
                total += f.stat().st_size
                continue
            for name, t in header.items():
                if name == "__metadata__":
                    continue
                numel = 1
                for d in t["shape"]:
                    numel *= d
                size = _ST_ITEMSIZE.get(t["dtype"], 2)
                total += numel * (target if target and t["dtype"] in ("F32", "F16", "BF16", "F64") else size)
    return total


def _default_label(key: tuple) -> str:
    """The pipeline's weights file or folder name, from its key."""
    paths = [Path(k).name for k in key if isinstance(k, str) and ("/" in k or "\\" in k)]
    return paths[-1] if paths else str(key[0])


class ModelManager:
    """Owns every loaded pipeline. Used from a single worker thread (the GPU lane)."""

    def __init__(
        self,
        budget_bytes: int | None = None,
        *,
        file_hashes: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None,
        namer: Callable[[tuple], str] | None = None,
    ) -> None:
        self.budget_bytes = budget_bytes if budget_bytes is not None else default_budget_bytes()
        self._file_hashes = file_hashes  # resolved path -> sha256 (or a function giving that, read per load)
        self.namer = namer or _default_label  # pipeline key -> "Z-Image-Turbo q8_0"
        self.residency = Residency(budget_bytes=self.budget_bytes)
        self._components: dict[tuple, _Component] = {}
        self._pipelines: OrderedDict[tuple, _Pipeline] = OrderedDict()
        self._embeds: OrderedDict[tuple, Any] = OrderedDict()
        self._building: list[tuple] | None = None
        self._specs: dict[tuple, loading.ComponentSpec] = {}  # component key -> spec, to reload a freed one
        self.tight = False  # the budget could not hold everything asked for: free text encoders after encoding
        self.stats: Counter = Counter()  # loads, builds, embed hits/misses, evictions, releases

    # --- components --------------------------------------------------------------------

    def component(self, spec: loading.ComponentSpec):
        """The loaded component for `spec`, loading it only if no pipeline holds it yet."""
        key = self.component_key(spec)
        entry = self._components.get(key)
        if entry is None:
            self._make_room(estimate_bytes(spec))
            obj = loading.load_component(spec)
            entry = self._components[key] = _Component(obj, loading.module_bytes(obj))
            self._specs[key] = spec
            self.stats["component_loads"] += 1
        if self._building is not None:
            self._building.append(key)
        return entry.obj

    def component_key(self, spec: loading.ComponentSpec) -> tuple:
        """`spec.key()`, with the files named by their sha256 when every one is known: same bytes, same key."""
        cls_name, files, dtype, tag = spec.key()
        known = self._file_hashes() if callable(self._file_hashes) else (self._file_hashes or {})
        digests = []
        for f in files:
            digest = known.get(f)
            if digest is None and Path(f).is_file() and Path(f).stat().st_size <= _SMALL_FILE:
                digest = hashlib.sha256(Path(f).read_bytes()).hexdigest()
            if digest is None:
                return spec.key()
            digests.append((Path(f).name, digest))
        return (cls_name, ("sha256", *sorted(digests)), dtype, tag)

    @property
    def loaded_bytes(self) -> int:
        return sum(c.nbytes for c in self._components.values())

    # --- pipelines ---------------------------------------------------------------------

    def pipeline(self, key: tuple, build: Callable[[ModelManager], Any]):
        """The pipeline for `key`; `build(manager)` makes it (loading components via `component`)."""
        entry = self._pipelines.get(key)
        if entry is not None:
            self._pipelines.move_to_end(key)
            return entry.pipe
        self._building = []
        try:
            pipe = build(self)
            used = self._building
        finally:
            self._building = None
        for ckey in used:
            self._components[ckey].users.add(key)
        self._pipelines[key] = _Pipeline(pipe, used)
        self.stats["pipeline_builds"] += 1
        self._drop_orphans()
        self.tight = self.tight or self.loaded_bytes > self.budget_bytes
        self._evict_over_budget(keep=key)
        self._publish()
        return pipe

    def place(self, key: tuple, device: str, offload: str) -> str:
        """Put the pipeline on the device with the offload mode, unless it already is. Returns the mode used."""
        entry = self._pipelines[key]
        wanted = (device, offload)
        if entry.placement == wanted:
            return entry.applied
        # Another pipeline sharing modules may have put hooks on them: re-place this one.
        for other_key, other in self._pipelines.items():
            if other_key != key and set(other.components) & set(entry.components):
                other.placement = None
        used = loading.place(entry.pipe, device, offload)
        entry.placement, entry.applied = wanted, used
        return used

    def placement(self, key: tuple) -> tuple[str, str] | None:
        """(device, offload mode used) of a placed pipeline, else None."""
        entry = self._pipelines.get(key)
        return (entry.placement[0], entry.applied) if entry and entry.placement else None

    def evict(self, key: tuple) -> None:
        entry = self._pipelines.pop(key, None)
        if entry is None:
            return
        if hasattr(entry.pipe, "remove_all_hooks"):
            entry.pipe.remove_all_hooks()
        for ckey in entry.components:
            comp = self._components.get(ckey)
            if comp is not None:
                comp.users.discard(key)
        self._embeds = OrderedDict((k, v) for k, v in self._embeds.items() if k[0] != key)
        self.stats["evictions"] += 1
        self._drop_orphans()
        self._publish()
        free_memory()

    def evict_others(self, keep: tuple) -> int:
        """Free every pipeline but `keep` (used before retrying after out-of-memory)."""
        others = [k for k in self._pipelines if k != keep]
        for k in others:
            self.evict(k)
        return len(others)

    def _evict_over_budget(self, keep: tuple) -> None:
        while self.loaded_bytes > self.budget_bytes and len(self._pipelines) > 1:
            oldest = next(k for k in self._pipelines if k != keep)
            self.evict(oldest)

    def _make_room(self, need: int) -> None:
        """Evict least recently used pipelines (not the one being built) until `need` more bytes fit."""
        building = set(self._building or ())
        while self.loaded_bytes + need > self.budget_bytes:
            # a pipeline whose every component the new one also uses would free nothing
            oldest = next((k for k, p in self._pipelines.items() if not set(p.components) <= building), None)
            if oldest is None:
                self.tight = True
                return
            self.tight = True
            self.evict(oldest)

    def _drop_orphans(self) -> None:
        building = set(self._building or ())  # components of a pipeline under construction stay
        for ckey in [k for k, c in self._components.items() if not c.users and k not in building]:
            del self._components[ckey]

    def _publish(self) -> None:
        by_label: dict[str, set] = {}  # one model's pipelines (Z-Image's text-to-image and img2img) are one row
        for key, p in self._pipelines.items():
            label = self.namer(key)
            by_label[label] = by_label.pop(label, set()) | set(p.components)  # most recently used last
        rows = tuple(
            (label, sum(self._components[c].nbytes for c in comps if c in self._components))
            for label, comps in by_label.items()
        )
        self.residency = Residency(rows, self.loaded_bytes, self.budget_bytes)

    def resident(self) -> list[tuple]:
        return list(self._pipelines)

    # --- prompt embeddings -------------------------------------------------------------

    def embeddings(self, key: tuple, encode: Callable[[], Any]):
        """Cached prompt embeddings; `key` starts with the pipeline key, then prompt and negative."""
        if key in self._embeds:
            self._embeds.move_to_end(key)
            self.stats["embed_hits"] += 1
            return self._embeds[key]
        self._restore(key[0])
        # No autograd: the pipelines' encode_prompt runs outside their no_grad __call__, and cached embeddings
        # with a grad_fn would keep the text encoder's weights and activations alive after it is freed
        # (measured at full size: RSS stayed at 16.5 GB while the manager counted 6.7 GB; ram_bench.py).
        with torch.no_grad():
            value = encode()
        self.stats["embed_misses"] += 1
        self._embeds[key] = value
        while len(self._embeds) > _EMBED_CACHE_SIZE:
            self._embeds.popitem(last=False)
        if self.tight:
            self._release(key[0], "text_encoder")
        return value

    def _release(self, pkey: tuple, name: str) -> None:
        """Free component `name` of pipeline `pkey` from every pipeline that shares it; they run on without it
        (their prompt embeddings are cached) until `_restore` loads it again."""
        entry = self._pipelines.get(pkey)
        named = [c for c in entry.components if getattr(self._specs.get(c), "name", "") == name] if entry else []
        ckey = named[0] if named else None
        if ckey is None or entry.applied == "group":  # group offloading cannot be undone in place
            return
        spec = self._specs[ckey]
        for key, p in self._pipelines.items():
            if ckey in p.components:
                p.pipe.remove_all_hooks()  # offload hooks hold the module
                setattr(p.pipe, name, None)
                p.components.remove(ckey)
                p.released[name] = spec
                if key != pkey:
                    p.placement = None  # placed again before its next use
        del self._components[ckey]
        if entry.placement:  # the pipeline runs next: give it back its offload hooks
            loading.place(entry.pipe, *entry.placement)
        self.stats["releases"] += 1
        self._publish()
        free_memory()

    def _restore(self, pkey: tuple) -> None:
        """Load again what `_release` freed from `pkey`, making room from other pipelines, never from this one."""
        entry = self._pipelines.get(pkey)
        if entry is None or not entry.released:
            return
        for name, spec in list(entry.released.items()):
            self._building = list(entry.components)  # this pipeline's weights stay while room is made
            try:
                obj = self.component(spec)
            finally:
                self._building = None
            ckey = self.component_key(spec)
            entry.components.append(ckey)
            self._components[ckey].users.add(pkey)
            entry.pipe.remove_all_hooks()
            setattr(entry.pipe, name, obj)
            del entry.released[name]
        if entry.placement:
            loading.place(entry.pipe, *entry.placement)
        self._publish()

    # --- everything --------------------------------------------------------------------

    def unload(self) -> None:
        """Free every pipeline, component and cached embedding."""
        for entry in self._pipelines.values():
            if hasattr(entry.pipe, "remove_all_hooks"):
                entry.pipe.remove_all_hooks()
        self._pipelines.clear()
        self._components.clear()
        self._embeds.clear()
        self._publish()
        free_memory()


def free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    mps = getattr(torch, "mps", None)
    if mps is not None and torch.backends.mps.is_available():
        mps.empty_cache()
