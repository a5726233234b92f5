"""`mapbrush export-workflow PNG DIR`: an AI picture's ComfyUI workflow (.json) and the input images it loads."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np

from app.errors import InputError

PROG = "mapbrush"


def add_parser(sub) -> None:
    what = "write an AI picture's ComfyUI workflow (.json, UI and API) and its input images"
    w = sub.add_parser("export-workflow", help=what)
    w.add_argument("png", type=Path, help="a PNG MapBrush painted with the preview or final engine")
    w.add_argument("dir", type=Path, help="folder for the workflow and its images (made if missing)")


def cmd_export_workflow(args) -> int:
    written, notes = export_workflow(args.png, args.dir)
    for note in notes:
        print(f"{PROG}: {note}", file=sys.stderr)
    for path in written:
        print(path)
    return 0


def export_workflow(png: Path, folder: Path) -> tuple[list[Path], list[str]]:
    """Write <stem>.json (UI graph), <stem>.api.json (API graph) and the images they load; (files, notes)."""
    from app.backends.comfyui.graphs import (
        REFERENCE_IMAGE,
        SKETCH_IMAGE,
        STRUCTURE_IMAGE,
        build_stage,
        spec_from_metadata,
    )
    from app.export.png import read_embedded_images, read_metadata, read_rgb

    png = Path(png)
    if not png.exists():
        raise InputError("file not found", path=png)
    meta = read_metadata(png)
    if meta is None:
        raise InputError("not a MapBrush picture (it has no MapBrush metadata)", path=png)
    spec = spec_from_metadata(meta)
    if spec is None:
        raise InputError("painted without an AI engine (procedural): there is no ComfyUI workflow", path=png)
    graph = build_stage(spec)
    api, workflow = graph.api(), graph.workflow()
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot make this folder ({e.strerror or e})", path=folder) from None
    written = [_write_text(folder / f"{png.stem}.json", json.dumps(workflow, indent=1, ensure_ascii=False)),
               _write_text(folder / f"{png.stem}.api.json", json.dumps(api, indent=1, ensure_ascii=False))]  # fmt: skip
    needed = {n["inputs"]["image"] for n in api.values() if n["class_type"] == "LoadImage"}
    notes: list[str] = []
    images: dict[str, np.ndarray] = {}
    if needed & {SKETCH_IMAGE, STRUCTURE_IMAGE}:
        sketch, structure, why = _regenerate(png, meta)
        if why:
            notes.append(why)
        else:
            images.update({SKETCH_IMAGE: sketch, STRUCTURE_IMAGE: structure})
    from PIL import Image

    embedded = read_embedded_images(png)
    for name in sorted(needed & set(embedded)):  # the final's reference, stored in the PNG (a WebP file)
        try:
            with Image.open(io.BytesIO(embedded[name])) as im:
                images[name] = np.asarray(im.convert("RGB"))
        except (OSError, SyntaxError, ValueError):
            notes.append(f"the {name} stored in the picture is unreadable")
    if REFERENCE_IMAGE in needed and REFERENCE_IMAGE not in images:
        images[REFERENCE_IMAGE] = read_rgb(png)
        notes.append(f"{REFERENCE_IMAGE} is the picture itself (the preview it was made from is not stored in it)")

    for name in sorted(needed & set(images)):
        im = Image.fromarray(images[name]).resize((spec.width, spec.height), Image.Resampling.LANCZOS)
        path = folder / name
        try:
            im.save(path)
        except OSError as e:
            raise InputError(f"could not write the image ({e.strerror or e})", path=path) from None
        written.append(path)
    return written, notes


def _write_text(path: Path, text: str) -> Path:
    try:
        path.write_text(text + "\n", encoding="utf-8")
    except OSError as e:
        raise InputError(f"could not write the workflow ({e.strerror or e})", path=path) from None
    return path


def find_inputs(png: Path, meta: dict) -> list[Path] | None:
    """The map files a PNG was made from (by name and content): beside it, here or among the examples; None if not."""
    from app.mapdata.io import sha256_of
    from app.paths import resource_root

    wanted = [i for i in meta.get("inputs") or [] if isinstance(i, dict)]
    if not wanted:
        return None
    folders = [png.resolve().parent, Path.cwd(), resource_root() / "examples"]
    found = []
    for item in wanted:
        name, sha = str(item.get("name", "")), item.get("sha256")
        hit = next((f / name for f in folders if name and (f / name).is_file() and sha256_of(f / name) == sha), None)
        if hit is None:
            return None
        found.append(hit)
    return found


def _regenerate(png: Path, meta: dict) -> tuple[np.ndarray | None, np.ndarray | None, str | None]:
    """(sketch, structure, None) painted again from the map files the metadata names; (None, None, why) if not found."""
    from app.jobs.render import RenderRequest, render
    from app.mapdata.model import Kind

    inputs = find_inputs(png, meta)
    if inputs is None:
        names = ", ".join(str(i.get("name")) for i in meta.get("inputs") or [] if isinstance(i, dict)) or "none named"
        return None, None, (f"the map files it was made from ({names}) are not beside the picture or here: "
                            "the sketch and structure images are not written")  # fmt: skip
    kinds = meta.get("kinds")
    req = RenderRequest(
        inputs=inputs,
        style=str(meta.get("style")),
        size=tuple(meta.get("size")),
        engine="procedural",
        seed=int(meta.get("seed", 0)),
        margin=float(meta.get("margin", 0.06)),
        rotation=float(meta.get("rotation", 0.0)),
        kinds=frozenset(Kind(k) for k in kinds) if isinstance(kinds, list) else None,
        frame=meta.get("frame"),
        title="",
        subtitle="",
    )
    result = render(req)
    return result.sketch, result.layers.structure, None
