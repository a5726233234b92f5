"""Model files on disk: a small JSON registry, imports, downloads, removal, disk usage.

Layout under the models folder (`app.paths.models_dir()` unless given):
  registry.json                    what is installed, and the verified size/sha256 of downloaded files
  hub/<owner>--<name>/<repo path>  downloaded files, mirroring the hub repo (shared between variants)
Imported files and folders stay where they are; only their path is recorded.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import InputError
from app.jobs.cancel import NEVER
from app.jobs.progress import NULL_PROGRESS
from app.models import download as dl
from app.models.importer import guess_model, sniff
from app.models.schema import Catalog, ModelEntry, Variant

REGISTRY = "registry.json"
_DISK_MARGIN = 256 * 1024 * 1024


@dataclass(frozen=True)
class InstalledModel:
    """What to load for (model, variant)."""

    model_id: str
    variant: str
    format: str  # diffusers | gguf | safetensors
    source: str  # download | import
    weights: Path  # the diffusers folder, or the single .gguf / .safetensors file
    base_dir: Path | None  # folder with model_index.json, configs and shared components (None: not needed)
    missing: tuple[str, ...] = ()  # components not on disk yet
    size_bytes: int = 0

    @property
    def ready(self) -> bool:
        return not self.missing and self.weights.exists()


@dataclass(frozen=True)
class DownloadPlan:
    """What a download will fetch; shown (with the licence) before the person confirms."""

    model_id: str
    variant: str
    files: tuple[dl.RemoteFile, ...]
    total_bytes: int  # all files of the variant
    to_fetch_bytes: int  # minus what is already complete or partially fetched
    licence: str
    gated: bool


@dataclass(frozen=True)
class FileProblem:
    """One installed file that is missing, truncated or corrupt."""

    model_id: str
    variant: str
    path: Path
    problem: str  # "is truncated (...)", "is corrupt (...)"
    key: str | None = None  # the registry key of a downloaded file (None: imported)

    @property
    def repairable(self) -> bool:
        return self.key is not None

    def fix(self) -> str:
        if self.repairable:
            return f"repair it with: mapbrush models download {self.model_id} --variant {self.variant} --repair"
        return f"import a good copy again: mapbrush models import {self.path}"

    def one_line(self) -> str:
        return f"{self.path}: {self.model_id} ({self.variant}) {self.problem}; {self.fix()}"


@dataclass(frozen=True)
class DiskUsage:
    root: Path
    used_bytes: int
    partial_bytes: int
    free_bytes: int
    per_model: dict[tuple[str, str], int] = field(default_factory=dict)


class ModelStore:
    def __init__(self, catalog: Catalog, root: str | Path | None = None) -> None:
        if root is None:
            from app.paths import models_dir

            root = models_dir()
        self.catalog = catalog
        self.root = Path(root)

    # ----- registry -------------------------------------------------------------------------
    def _load(self) -> dict:
        path = self.root / REGISTRY
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": 1, "files": {}, "installed": []}
        except (ValueError, UnicodeDecodeError):
            problem = "the model registry is corrupt; remove it and import the models again"
            raise InputError(problem, path=str(path)) from None
        data.setdefault("files", {})
        data.setdefault("installed", [])
        return data

    def _save(self, data: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / (REGISTRY + ".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.root / REGISTRY)

    @staticmethod
    def _put(data: dict, record: dict) -> None:
        data["installed"] = [
            r for r in data["installed"] if (r["model_id"], r["variant"]) != (record["model_id"], record["variant"])
        ] + [record]

    # ----- queries ----------------------------------------------------------------------------
    def installed(self) -> dict[tuple[str, str], InstalledModel]:
        """Every registered (model, variant), ready or not (see `.missing`)."""
        out = {}
        data = self._load()
        for record in data["installed"]:
            model = self._view(record, data["files"])
            if model is not None:
                out[(model.model_id, model.variant)] = model
        return out

    def ready_variants(self, model_id: str) -> list[InstalledModel]:
        """The completely installed variants of a model, in the catalog's order (its default first)."""
        order = list(self.catalog.models[model_id].variants) if model_id in self.catalog.models else []
        ready = [m for (mid, _), m in self.installed().items() if mid == model_id and m.ready]
        return sorted(ready, key=lambda m: order.index(m.variant) if m.variant in order else len(order))

    def file_hashes(self) -> dict[str, str]:
        """The sha256 the hub gave for each downloaded file (and each verified import), by resolved local path."""
        data = self._load()
        out = {}
        for key, info in data["files"].items():
            owner, _, rest = key.partition("/")
            name, _, path = rest.partition("/")
            if info.get("sha256") and path:
                out[str(dl.local_path(self.root, dl.RemoteFile(f"{owner}/{name}", path, None, None)).resolve())] = info[
                    "sha256"
                ]
        for record in data["installed"]:
            if record.get("source") == "import" and record.get("sha256"):
                out[str(Path(record["path"]).resolve())] = record["sha256"]
        return out

    def label_for(self, paths: tuple[str, ...]) -> str | None:
        """The name and variant ("Z-Image-Turbo q8_0") of the installed model whose weights are among `paths`."""
        wanted = {str(Path(p).resolve()) for p in paths if p and p != "None"}
        models = [m for m in self.installed().values() if str(m.weights.resolve()) in wanted]
        control = any(self.catalog.models[m.model_id].role == "controlnet" for m in models)
        models = [m for m in models if self.catalog.models[m.model_id].role != "controlnet"]
        models.sort(key=lambda m: m.format == "diffusers")  # a single-file transformer names it, not its base folder
        if not models:
            return None
        m = models[0]
        return f"{self.catalog.models[m.model_id].name} {m.variant}" + (" + ControlNet" if control else "")

    def locate(self, model_id: str, variant: str) -> InstalledModel | None:
        """What to load for (model, variant), or None when it is not installed completely."""
        model = self.installed().get((model_id, variant))
        return model if model is not None and model.ready else None

    def _view(self, record: dict, verified: dict) -> InstalledModel | None:
        entry = self.catalog.models.get(record["model_id"])
        if entry is None:
            return None
        weights = Path(record["path"]) if record["source"] == "import" else self.root / record["path"]
        base = dl.repo_dir(self.root, entry.repo)
        variant = entry.variants.get(record["variant"])
        needs = variant.components if variant is not None else _default_components(entry, record["format"])
        if record["source"] == "import" and record["format"] == "diffusers":
            needs, base = (), weights
        missing = tuple(c for c in needs if not self._component_present(entry, c))
        if not weights.exists():
            missing = ("weights", *missing)
        size = sum(verified.get(k, {}).get("size", 0) for k in record.get("files", ()))
        if record["source"] == "import" and weights.is_file():
            size = weights.stat().st_size
        return InstalledModel(
            model_id=entry.id,
            variant=record["variant"],
            format=record["format"],
            source=record["source"],
            weights=weights,
            base_dir=base if (needs or record["format"] == "diffusers") else None,
            missing=missing,
            size_bytes=size,
        )

    def _component_present(self, entry: ModelEntry, name: str) -> bool:
        component = entry.components[name]
        folder = dl.repo_dir(self.root, component.repo)
        for f in component.files:
            target = folder / f
            if f.endswith("/"):
                if not target.is_dir() or not any(p.is_file() for p in target.rglob("*")):
                    return False
            elif not target.is_file():
                return False
        return True

    # ----- import -----------------------------------------------------------------------------
    def import_path(self, path: str | Path, model_id: str | None = None, variant: str | None = None) -> InstalledModel:
        """Register a diffusers folder or a single .safetensors/.gguf file (left where it is)."""
        sniffed = sniff(Path(path).expanduser().resolve())
        model_id = model_id or guess_model(sniffed, self.catalog)
        entry = self.catalog.models.get(model_id)
        if entry is None:
            raise InputError(f"no model '{model_id}'; choose one of: {', '.join(self.catalog.models)}")
        variant = variant or _match_variant(entry, sniffed.format, sniffed.quant, sniffed.path.name)
        data = self._load()
        record = {"model_id": model_id, "variant": variant, "source": "import",
                  "format": sniffed.format, "path": str(sniffed.path)}  # fmt: skip
        if sniffed.path.is_file():
            record["size"] = sniffed.path.stat().st_size  # `models verify` finds a later truncation
        self._put(data, record)
        self._save(data)
        return self.installed()[(model_id, variant)]

    # ----- download ---------------------------------------------------------------------------
    def plan(self, model_id: str, variant: str, *, endpoint: str | None = None, token=None) -> DownloadPlan:
        """Resolve the files a variant needs (network) and how much is left to fetch."""
        entry, var = self._entry(model_id, variant)
        files = dl.resolve_files(entry, var, endpoint=endpoint, token=token)
        verified = self._load()["files"]
        total = sum(f.size or 0 for f in files)
        left = 0
        for f in files:
            if not self._complete(f, verified):
                left += max((f.size or 0) - dl.partial_bytes(dl.local_path(self.root, f)), 0)
        return DownloadPlan(model_id, variant, tuple(files), total, left, entry.licence_line, entry.gated)

    def download(
        self,
        model_id: str,
        variant: str,
        *,
        progress=NULL_PROGRESS,
        cancel=NEVER,
        endpoint: str | None = None,
        token=None,
        plan: DownloadPlan | None = None,
    ) -> InstalledModel:
        """Fetch what (model, variant) needs, resuming partial files; verify sizes and sha256.

        Cancelling raises Cancelled and leaves partial files for the next call to resume.
        """
        entry, var = self._entry(model_id, variant)
        plan = plan or self.plan(model_id, variant, endpoint=endpoint, token=token)
        self.root.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.root).free
        if plan.to_fetch_bytes + _DISK_MARGIN > free:
            raise dl.NotEnoughDisk(
                f"{entry.name} ({variant}) needs {dl.human_bytes(plan.to_fetch_bytes)} more disk space; "
                f"only {dl.human_bytes(free)} is free in {self.root}"
            )
        data = self._load()
        meter = dl.Meter(progress, "download", max(plan.total_bytes, 1))
        for rf in plan.files:
            cancel.check()
            dest = dl.local_path(self.root, rf)
            meter.label = rf.path
            if self._complete(rf, data["files"]):
                meter.add(rf.size or 0)
                continue
            if not (dest.is_file() and rf.size is not None and dest.stat().st_size == rf.size):
                dl.fetch_file(rf, dest, on_bytes=meter.add, cancel=cancel, endpoint=endpoint, token=token)
            else:
                meter.add(rf.size)
            data["files"][rf.key] = self._verify(rf, dest, progress, cancel)
            self._save(data)  # a verified file is never hashed again, even if a later file fails
        return self._record_download(data, entry, var, plan.files)

    def _record_download(self, data: dict, entry: ModelEntry, var: Variant, files) -> InstalledModel:
        own = var.file and dl.local_path(self.root, dl.RemoteFile(var.repo, var.file, None, None))
        weights = own or dl.repo_dir(self.root, entry.repo)
        record = {"model_id": entry.id, "variant": var.id, "source": "download", "format": var.format}
        record.update(path=str(weights.relative_to(self.root)), files=[f.key for f in files])
        self._put(data, record)
        self._save(data)
        return self.installed()[(entry.id, var.id)]

    def adopt(self, model_id: str, variant: str, *, progress=NULL_PROGRESS, cancel=NEVER) -> InstalledModel:
        """Record (model, variant) as downloaded from files already in the download layout.

        For files placed under `hub/<owner>--<name>/` by other means (copied from another machine,
        or built by `tests/tiny_models.py`): every file the variant needs must be there; each is
        sized and hashed, and the registry gets the same record a download writes.
        """
        entry, var = self._entry(model_id, variant)
        data = self._load()
        files = _local_files(self.root, entry, var)
        for rf in files:
            cancel.check()
            dest = dl.local_path(self.root, rf)
            meter = dl.Meter(progress, "verify", max(rf.size or 0, 1))
            meter.label = rf.path
            digest = dl.sha256_file(dest, on_bytes=meter.add, cancel=cancel)
            data["files"][rf.key] = {"size": rf.size, "sha256": digest}
        return self._record_download(data, entry, var, files)

    def _complete(self, rf: dl.RemoteFile, verified: dict) -> bool:
        record = verified.get(rf.key)
        dest = dl.local_path(self.root, rf)
        return bool(
            record
            and dest.is_file()
            and dest.stat().st_size == record["size"]
            and (rf.size is None or rf.size == record["size"])
            and (rf.sha256 is None or rf.sha256 == record.get("sha256"))
        )

    def _verify(self, rf: dl.RemoteFile, dest: Path, progress, cancel) -> dict:
        size = dest.stat().st_size
        if rf.size is not None and size != rf.size:
            dest.unlink()
            raise dl.DownloadError(f"{rf.path}: got {size} bytes, expected {rf.size}; download it again")
        meter = dl.Meter(progress, "verify", max(size, 1))
        meter.label = rf.path
        digest = dl.sha256_file(dest, on_bytes=meter.add, cancel=cancel)
        if rf.sha256 is None:  # a small (non-LFS) file: the hub gives no sha256; record ours for `models verify`
            return {"size": size, "sha256": digest, "sha256_by": "local"}
        if digest != rf.sha256:
            dest.unlink()
            raise dl.DownloadError(f"{rf.path} is corrupt (sha256 does not match the hub); download it again")
        return {"size": size, "sha256": digest}

    def _entry(self, model_id: str, variant: str) -> tuple[ModelEntry, Variant]:
        entry = self.catalog.models.get(model_id)
        if entry is None:
            raise InputError(f"no model '{model_id}'; choose one of: {', '.join(self.catalog.models)}")
        if variant not in entry.variants:
            raise InputError(f"model {model_id} has no variant '{variant}'; choose one of: {', '.join(entry.variants)}")
        return entry, entry.variants[variant]

    # ----- integrity -------------------------------------------------------------------------
    def model_files(self, model_id: str, variant: str) -> list[tuple[str | None, Path]]:
        """(registry key or None, path) of every file (model, variant) loads from."""
        data = self._load()
        record = next((r for r in data["installed"] if (r["model_id"], r["variant"]) == (model_id, variant)), None)
        if record is None:
            raise InputError(f"{model_id} ({variant}) is not installed")
        out: list[tuple[str | None, Path]] = []
        for key in record.get("files", ()):
            out.append((key, self._key_path(key)))
        if record["source"] == "import":
            weights = Path(record["path"])
            found = sorted(p for p in weights.rglob("*") if p.is_file()) if weights.is_dir() else [weights]
            out += [(None, p) for p in found]
            entry = self.catalog.models.get(model_id)
            if entry is not None and record["format"] != "diffusers":  # its components, as far as they are on disk
                for name in _default_components(entry, record["format"]):  # (what is not is `.missing`)
                    component = entry.components[name]
                    out += [(k, p) for k, p in self._component_files(component) if (k, p) not in out and p.exists()]
        return out

    def _component_files(self, component) -> list[tuple[str, Path]]:
        folder = dl.repo_dir(self.root, component.repo)
        out = []
        for f in component.files:
            target = folder / f
            paths = sorted(p for p in target.rglob("*") if p.is_file()) if f.endswith("/") else [target]
            out += [(f"{component.repo}/{p.relative_to(folder).as_posix()}", p) for p in paths]
        return out

    def _key_path(self, key: str) -> Path:
        owner, name_path = key.split("/", 1)
        name, _, rel = name_path.partition("/")
        return dl.repo_dir(self.root, f"{owner}/{name}") / rel

    def check(self, model_id: str, variant: str, *, hashes: bool = False, progress=NULL_PROGRESS, cancel=NEVER,
              _digests: dict | None = None) -> list[FileProblem]:  # fmt: skip
        """The files of (model, variant) that are missing, of the wrong size, structurally broken, and
        (with `hashes`) whose sha256 differs from the one the hub gave at download."""
        from app.models.integrity import file_problem

        data = self._load()
        record = next((r for r in data["installed"] if (r["model_id"], r["variant"]) == (model_id, variant)), {})
        digests = _digests if _digests is not None else {}
        problems = []
        for key, path in self.model_files(model_id, variant):
            cancel.check()
            if key is not None:
                known = data["files"].get(key, {})
            else:  # an imported file: its size at import, its sha256 from the first verify
                own = Path(record.get("path", "")) == path
                known = {"size": record.get("size"), "sha256": record.get("sha256")} if own else {}
            problem = None
            if not path.is_file():
                problem = "is missing"
            elif known.get("size") is not None and path.stat().st_size != known["size"]:
                size = path.stat().st_size
                kind = "truncated" if size < known["size"] else "too long"
                problem = f"is {kind} ({size} bytes; {known['size']} were verified at download)"
            else:
                problem = file_problem(path)
            if problem is None and hashes and known.get("sha256"):
                if path not in digests:
                    meter = dl.Meter(progress, "verify", max(path.stat().st_size, 1))
                    meter.label = path.name
                    digests[path] = dl.sha256_file(path, on_bytes=meter.add, cancel=cancel)
                if digests[path] != known["sha256"]:
                    when = "at download" if key is not None else "when it was first verified"
                    problem = f"is corrupt (its sha256 differs from the one recorded {when})"
            elif problem is None and hashes and key is None and known:  # first verify of an import: the baseline
                record["sha256"] = dl.sha256_file(path, cancel=cancel)
                self._save(data)
            if problem is not None:
                problems.append(FileProblem(model_id, variant, path, problem, key))
        return problems

    def verify(self, model_id: str | None = None, variant: str | None = None, *, progress=NULL_PROGRESS,
               cancel=NEVER) -> list[FileProblem]:  # fmt: skip
        """Check sizes, structure and sha256 of every installed file (or one model's); shared files are hashed once."""
        keys = [k for k in self.installed() if (model_id is None or k[0] == model_id)
                and (variant is None or k[1] == variant)]  # fmt: skip
        if not keys and model_id is not None:
            raise InputError(f"{model_id}{f' ({variant})' if variant else ''} is not installed")
        digests: dict = {}
        return [p for k in keys for p in self.check(*k, hashes=True, progress=progress, cancel=cancel,
                                                    _digests=digests)]  # fmt: skip

    def repair(self, model_id: str, variant: str, *, progress=NULL_PROGRESS, cancel=NEVER, endpoint=None,
               token=None) -> tuple[InstalledModel, list[FileProblem]]:  # fmt: skip
        """Verify (model, variant), delete its broken downloaded files and fetch only those again.

        Returns the installed model and the problems that were repaired. Imported files cannot be
        fetched: InputError saying to import a good copy.
        """
        problems = self.verify(model_id, variant, progress=progress, cancel=cancel)
        imported = [p for p in problems if not p.repairable]
        if imported:
            raise InputError(f"{imported[0].problem}; {imported[0].fix()}", path=str(imported[0].path))
        data = self._load()
        for p in problems:
            p.path.unlink(missing_ok=True)
            data["files"].pop(p.key, None)
        self._save(data)
        model = self.download(model_id, variant, progress=progress, cancel=cancel, endpoint=endpoint, token=token)
        return model, problems

    # ----- removal and disk -----------------------------------------------------------------
    def remove(self, model_id: str, variant: str) -> int:
        """Unregister (model, variant); delete downloaded files no other installed variant needs.

        Imported files are never deleted. Returns the bytes freed.
        """
        data = self._load()
        record = next((r for r in data["installed"] if (r["model_id"], r["variant"]) == (model_id, variant)), None)
        if record is None:
            raise InputError(f"{model_id} ({variant}) is not installed")
        data["installed"].remove(record)
        still_needed = {k for r in data["installed"] for k in r.get("files", ())}
        freed = 0
        for key in record.get("files", ()):
            if key in still_needed:
                continue
            owner, name_path = key.split("/", 1)
            name, _, rel = name_path.partition("/")
            target = dl.repo_dir(self.root, f"{owner}/{name}") / rel
            if target.is_file():
                freed += target.stat().st_size
                target.unlink()
            data["files"].pop(key, None)
        self._save(data)
        _prune_empty(self.root / "hub")
        return freed

    def disk_usage(self) -> DiskUsage:
        used = partial = 0
        hub = self.root / "hub"
        if hub.is_dir():
            for p in hub.rglob("*"):
                if p.is_file():
                    size = p.stat().st_size
                    used += size
                    partial += size if p.name.endswith(".incomplete") else 0
        free = shutil.disk_usage(self.root if self.root.exists() else _existing_parent(self.root)).free
        per = {key: m.size_bytes for key, m in self.installed().items()}
        return DiskUsage(self.root, used, partial, free, per)


def _local_files(root: Path, entry: ModelEntry, var: Variant) -> list[dl.RemoteFile]:
    """The files a variant needs, as found on disk in the download layout; InputError if one is missing."""
    files: list[dl.RemoteFile] = []
    for repo, path in dl.wanted_paths(entry, var):
        base = dl.repo_dir(root, repo)
        target = base / path
        if path.endswith("/"):
            found = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else []
            found = [p for p in found if not p.name.endswith(".incomplete")]
        else:
            found = [target] if target.is_file() else []
        if not found:
            raise InputError(f"{entry.name} ({var.id}) is incomplete: {repo}/{path} is missing", path=str(target))
        files += [dl.RemoteFile(repo, p.relative_to(base).as_posix(), p.stat().st_size, None) for p in found]
    return list({f.key: f for f in files}.values())


def _default_components(entry: ModelEntry, fmt: str) -> tuple[str, ...]:
    """Components an imported single file not in the catalog needs: those of a same-format variant."""
    for v in entry.variants.values():
        if v.format == fmt:
            return v.components
    return ()


def _match_variant(entry: ModelEntry, fmt: str, quant: str, name: str = "") -> str:
    for vid, v in entry.variants.items():  # the catalog's own file name says which variant it is
        if v.file is not None and Path(v.file).name == name:
            return vid
    for vid, v in entry.variants.items():
        if v.format == fmt and (fmt == "diffusers" or v.quant.upper() == quant or len(entry.variants) == 1):
            return vid
    return f"import-{fmt}-{quant.lower() or 'file'}"


def _prune_empty(folder: Path) -> None:
    if not folder.is_dir():
        return
    for p in sorted(folder.rglob("*"), key=lambda q: len(q.parts), reverse=True):
        if p.is_dir() and not any(p.iterdir()):
            p.rmdir()


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
