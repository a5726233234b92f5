"""`mapbrush doctor` and `mapbrush models …`: the model catalog and this machine, in plain words."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from app.errors import Cancelled, InputError
from app.jobs.progress import Progress, ProgressEvent


def add_parsers(sub) -> None:
    d = sub.add_parser("doctor", help="GPU, drivers, PyTorch, tier and models: what works and what to do next")
    d.add_argument("--tier", help="pretend this tier was chosen (override)")
    d.add_argument("--models-dir", type=Path, help="models folder (default: env MAPBRUSH_MODELS_DIR or user data)")
    d.add_argument("--json", action="store_true")

    m = sub.add_parser("models", help="list, download, import or remove AI models")
    m.add_argument("--models-dir", type=Path, help="models folder (default: env MAPBRUSH_MODELS_DIR or user data)")
    msub = m.add_subparsers(dest="models_command", metavar="ACTION")
    ml = msub.add_parser("list", help="the catalog: id, variant, size, licence, installed?")
    ml.add_argument("--json", action="store_true")
    md = msub.add_parser("download", help="download a model from the Hugging Face Hub (resumable)")
    md.add_argument("model")
    md.add_argument("--variant", default=None, help="variant id (default: the model's first variant)")
    md.add_argument("--yes", action="store_true", help="do not ask before downloading")
    md.add_argument("--repair", action="store_true", help="check every file and fetch again only the broken ones")
    mv = msub.add_parser("verify", help="check installed files' sizes and sha256 against the hub's")
    mv.add_argument("model", nargs="?", help="model id (default: every installed model)")
    mv.add_argument("--variant", help="variant id (default: every installed variant)")
    mi = msub.add_parser("import", help="register a local .safetensors/.gguf file or diffusers folder")
    mi.add_argument("path", type=Path)
    mi.add_argument("--model", help="model id it belongs to (guessed when left out)")
    mi.add_argument("--variant", help="variant id (guessed when left out)")
    ma = msub.add_parser("install-ai", help="install PyTorch and the AI libraries for this machine's GPU")
    ma.add_argument("--yes", action="store_true", help="do not ask before downloading")
    ma.add_argument("--dry-run", action="store_true", help="only say what would be installed")
    mr = msub.add_parser("remove", help="delete a downloaded model variant (imported files are kept)")
    mr.add_argument("model")
    mr.add_argument("--variant", required=True)
    lo = msub.add_parser("loras", help="the imported LoRAs: name, base model, size, sha256 (import, remove)")
    lo.add_argument("--json", action="store_true")
    lsub = lo.add_subparsers(dest="loras_command", metavar="ACTION")
    lsub.add_parser("list", help="the imported LoRAs (the default)").add_argument("--json", action="store_true")
    li = lsub.add_parser("import", help="check a .safetensors LoRA (or hub:owner/repo/file) and copy it in")
    li.add_argument("file", help="a .safetensors file, or hub:owner/repo/path/file.safetensors")
    lsub.add_parser("remove", help="delete an imported LoRA").add_argument("id")
    il = msub.add_parser("import-lora", help="the same as `models loras import`")
    il.add_argument("file", help="a .safetensors file, or hub:owner/repo/path/file.safetensors")


def _store(models_dir: Path | None):
    from app.models.catalog import load_catalog
    from app.models.store import ModelStore

    catalog = load_catalog()
    return catalog, ModelStore(catalog, models_dir)


def cmd_doctor(args) -> int:
    from app.models.doctor import diagnose
    from app.models.hardware import detect
    from app.models.tiers import choose_tier

    catalog, store = _store(args.models_dir)
    from app.inference.probe import matmul_rate, probe_torch_runtime
    from app.models.speed import measure

    hw = detect(torch_probe=probe_torch_runtime)
    tier = choose_tier(hw, catalog, args.tier)
    speed = measure(tier, catalog, torch_rate=matmul_rate if hw.torch_installed else None)
    report = diagnose(hw, catalog, store, tier, speed)
    report = _with_desktop(report)
    if args.json:
        print(json.dumps({"facts": dict(report.facts), "next_steps": list(report.next_steps), "ok": report.ok},
                         indent=2, ensure_ascii=False))  # fmt: skip
    else:
        print("\n".join(report.lines()))
    return 0


def _with_desktop(report):
    """The report with a line on the window's X11 libraries (Linux), and what to install when some are missing."""
    import dataclasses

    from app.ui.platform_check import desktop_check  # no Qt: ELF headers and the dynamic loader

    found = desktop_check()
    if found is None:
        return report
    ok, line = found
    steps = report.next_steps if ok else (*report.next_steps, f"For the window, {line}")
    return dataclasses.replace(report, facts=(*report.facts, ("Window (X11)", line)), next_steps=steps)


def _models_list(store_catalog, as_json: bool) -> int:
    from app.models.doctor import format_models_table

    catalog, store = store_catalog
    rows = format_models_table(catalog, store)
    if as_json:
        header, body = rows[0], rows[1:]
        print(json.dumps([dict(zip(header, r)) for r in body], indent=2, ensure_ascii=False))
        return 0
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    from app.models.download import human_bytes

    usage = store.disk_usage()
    partial = f", {human_bytes(usage.partial_bytes)} in paused downloads" if usage.partial_bytes else ""
    print(f"\nmodels folder: {store.root} ({human_bytes(usage.used_bytes)} used{partial}, "
          f"{human_bytes(usage.free_bytes)} free)")  # fmt: skip
    return 0


class _Bytes:
    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, ev: ProgressEvent) -> None:
        now = time.monotonic()
        if not self.tty and now - self.last < 5 and ev.step < ev.total:
            return
        self.last = now
        end = "\r" if self.tty else "\n"
        sys.stderr.write(f"{ev.fraction * 100:5.1f}%  {ev.message[:70]:<70}{end}")
        sys.stderr.flush()


def _download(store_catalog, args) -> int:
    from app.models.download import human_bytes

    catalog, store = store_catalog
    entry = catalog.models.get(args.model)
    if entry is None:
        raise InputError(f"no model '{args.model}' (known: {', '.join(catalog.models)})")
    variant = args.variant or next(iter(entry.variants))
    if variant not in entry.variants:  # "q8" → "q8_0" when unambiguous
        matches = [v for v in entry.variants if v.startswith(variant.lower())]
        variant = matches[0] if len(matches) == 1 else variant
    if variant not in entry.variants:
        raise InputError(f"model {args.model} has no variant '{variant}' (known: {', '.join(entry.variants)})")
    if getattr(args, "repair", False):
        return _repair(store, args.model, variant)
    plan = store.plan(args.model, variant)
    print(f"{entry.name} ({variant}): {human_bytes(plan.to_fetch_bytes)} to download "
          f"of {human_bytes(plan.total_bytes)}; licence: {plan.licence}")  # fmt: skip
    if plan.gated:
        print("This model is gated on the Hugging Face Hub: accept its licence there and log in (`hf auth login`).")
    if not args.yes:
        if not sys.stdin.isatty():
            raise InputError("add --yes to download without a question (standard input is not a terminal)")
        if input("Download now? [y/N] ").strip().lower() not in ("y", "yes"):
            raise Cancelled()
    try:
        model = store.download(args.model, variant, plan=plan, progress=Progress(_Bytes(), hz=4))
    except KeyboardInterrupt:
        print("\npaused; run the same command again to resume", file=sys.stderr)
        raise Cancelled() from None
    print(f"\ninstalled {model.model_id} ({model.variant}) in {model.weights}")
    return 0


def _repair(store, model_id: str, variant: str) -> int:
    if (model_id, variant) not in store.installed():
        raise InputError(f"{model_id} ({variant}) is not installed; download it without --repair")
    try:
        model, fixed = store.repair(model_id, variant, progress=Progress(_Bytes(), hz=4))
    except KeyboardInterrupt:
        print("\npaused; run the same command again to resume", file=sys.stderr)
        raise Cancelled() from None
    for p in fixed:
        print(f"fetched again: {p.path} (it {p.problem})")
    print(f"{model.model_id} ({model.variant}): " + ("repaired" if fixed else "every file is whole; nothing to fetch"))
    return 0


def _verify(store, args) -> int:
    """One line per broken file with its fix; exit 3 (a model that cannot be used) when any is broken."""
    problems = store.verify(args.model, args.variant, progress=Progress(_Bytes(), hz=4))
    for p in problems:
        print(p.one_line())
    checked = sorted({f"{m} ({v})" for m, v in store.installed() if (args.model in (None, m))
                      and (args.variant in (None, v))})  # fmt: skip
    if problems:
        print(f"{len(problems)} damaged file(s) in {', '.join(checked)}", file=sys.stderr)
        return 3
    print(f"all files are whole: {', '.join(checked)}" if checked else "no model is installed; nothing to verify")
    return 0


def _install_ai(args) -> int:
    """The packaged app's first-run route: PyTorch (the build that fits the GPU) into a managed folder."""
    from app.models import runtime
    from app.models.hardware import detect

    plan = runtime.plan_ai_runtime(detect(), pins=runtime.bundle_pins())
    target = runtime.runtime_dir()
    print(f"{plan.why}\nDownload: {plan.approx_size_text} into {target}")
    installer = runtime.installer_command()  # fails with a plain message when this build has none
    if args.dry_run:
        print("packages: " + " ".join(plan.packages))
        print("installer: " + " ".join(installer))
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise InputError("add --yes to install without a question (standard input is not a terminal)")
        if input("Install now? [y/N] ").strip().lower() not in ("y", "yes"):
            raise Cancelled()
    runtime.install_ai_runtime(target, plan, progress=Progress(_Bytes(), hz=2))
    print("\nthe AI engines are installed; run `mapbrush doctor` to see what this machine can run")
    return 0


def _loras(args) -> int:
    """`models loras [list|import FILE|remove ID]`."""
    from app.models.download import human_bytes
    from app.models.loras import LoraLibrary

    lib = LoraLibrary(args.models_dir)
    action = "import" if args.models_command == "import-lora" else (getattr(args, "loras_command", None) or "list")
    if action == "import":
        ref = str(args.file)
        if ref.startswith("hub:"):
            found = lib.import_hub(ref, on_bytes=lambda n: None)
        else:
            found = lib.import_file(Path(ref))
        note = "" if found.engine else " (base model unknown: it is checked against the model when it runs)"
        print(f"imported {found.id}: {found.base_label}, {human_bytes(found.size_bytes)}, sha256 {found.sha256}"
              f" → {found.path}{note}")  # fmt: skip
        return 0
    if action == "remove":
        lib.remove(args.id)
        print(f"removed LoRA {args.id}")
        return 0
    files = lib.list()
    if getattr(args, "json", False):
        rows = [{"id": f.id, "name": f.name, "base": f.base_label, "engine": f.engine, "size": f.size_bytes,
                 "sha256": f.sha256, "path": str(f.path), "source": f.source} for f in files]  # fmt: skip
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not files:
        print(f"no LoRAs imported yet (import one with: mapbrush models loras import FILE.safetensors)\n"
              f"LoRA folder: {lib.root}")  # fmt: skip
        return 0
    rows = [("id", "name", "base model", "size", "sha256")]
    rows += [(f.id, f.name, f.base_label, human_bytes(f.size_bytes), f.sha256) for f in files]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f'\nLoRA folder: {lib.root}; use one with --lora ID[:WEIGHT] or a style\'s [[loras]] id = "ID"')
    return 0


def cmd_models(args) -> int:
    action = args.models_command or "list"
    if action == "install-ai":
        return _install_ai(args)
    if action in ("loras", "import-lora"):
        return _loras(args)
    sc = _store(args.models_dir)
    if action == "list":
        return _models_list(sc, getattr(args, "json", False))
    if action == "download":
        return _download(sc, args)
    store = sc[1]
    if action == "verify":
        return _verify(store, args)
    if action == "import":
        if not args.path.exists():
            raise InputError("file not found", path=args.path)
        model = store.import_path(args.path, args.model, args.variant)
        print(f"registered {model.model_id} ({model.variant}) → {model.weights}")
        if model.missing:
            print(f"still missing: {', '.join(model.missing)} (run `mapbrush models download {model.model_id}`)")
        return 0
    if action == "remove":
        freed = store.remove(args.model, args.variant)
        from app.models.download import human_bytes

        print(f"removed {args.model} ({args.variant}), freed {human_bytes(freed)}")
        return 0
    raise InputError(f"unknown models action '{action}'")
