"""Keeps pipelines resident between images, within a memory budget.

- A pipeline is built once per key and reused; least recently used pipelines are evicted first
  when the loaded weights exceed the budget.
- Components that are the same files on disk with the same dtype are loaded once and shared
  between pipelines (e.g. the Z-Image img2img and ControlNet pipelines, or a FLUX.2 Klein folder
  and a GGUF transformer that uses the folder's VAE and text encoder).
- Prompt embeddings are cached per (encoder, prompt, negative).
"""

from __future__ import annotations

import gc
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from app.inference import loading

_EMBED_CACHE_SIZE = 32


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


def default_budget_bytes() -> int:
    """Half of the machine's RAM: weights live there, or pass through there when offloaded."""
    try:
        import psutil

        return int(psutil.virtual_memory().total * 0.5)
    except Exception:  # pragma: no cover - psutil ships with accelerate
        return 8 << 30


class ModelManager:
    """Owns every loaded pipeline. Used from a single worker thread (the GPU lane)."""

    def __init__(self, budget_bytes: int | None = None) -> None:
        self.budget_bytes = budget_bytes if budget_bytes is not None else default_budget_bytes()
        self._components: dict[tuple, _Component] = {}
        self._pipelines: OrderedDict[tuple, _Pipeline] = OrderedDict()
        self._embeds: OrderedDict[tuple, Any] = OrderedDict()
        self._building: list[tuple] | None = None
        self.stats: Counter = Counter()  # component_loads, pipeline_builds, embed_hits, embed_misses, evictions

    # --- components --------------------------------------------------------------------

    def component(self, spec: loading.ComponentSpec):
        """The loaded component for `spec`, loading it only if no pipeline holds it yet."""
        key = spec.key()
        entry = self._components.get(key)
        if entry is None:
            obj = loading.load_component(spec)
            entry = self._components[key] = _Component(obj, loading.module_bytes(obj))
            self.stats["component_loads"] += 1
        if self._building is not None:
            self._building.append(key)
        return entry.obj

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
        self._evict_over_budget(keep=key)
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

    def _drop_orphans(self) -> None:
        for ckey in [k for k, c in self._components.items() if not c.users]:
            del self._components[ckey]

    def resident(self) -> list[tuple]:
        return list(self._pipelines)

    # --- prompt embeddings -------------------------------------------------------------

    def embeddings(self, key: tuple, encode: Callable[[], Any]):
        """Cached prompt embeddings; `key` starts with the pipeline key, then prompt and negative."""
        if key in self._embeds:
            self._embeds.move_to_end(key)
            self.stats["embed_hits"] += 1
            return self._embeds[key]
        value = encode()
        self.stats["embed_misses"] += 1
        self._embeds[key] = value
        while len(self._embeds) > _EMBED_CACHE_SIZE:
            self._embeds.popitem(last=False)
        return value

    # --- everything --------------------------------------------------------------------

    def unload(self) -> None:
        """Free every pipeline, component and cached embedding."""
        for entry in self._pipelines.values():
            if hasattr(entry.pipe, "remove_all_hooks"):
                entry.pipe.remove_all_hooks()
        self._pipelines.clear()
        self._components.clear()
        self._embeds.clear()
        free_memory()


def free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    mps = getattr(torch, "mps", None)
    if mps is not None and torch.backends.mps.is_available():
        mps.empty_cache()
