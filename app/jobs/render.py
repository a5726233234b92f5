"""The one place that chains the stages: read → compose → rasterize → paint → finish → export.

The CLI and the GUI both call `render()`; neither re-implements a step.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import InputError
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS, Progress
from app.mapdata.model import Kind, MapData
from app.startup import release_memory, tune_memory

DEFAULT_SIZE = (2400, 1800)
MAX_SIDE = 16384  # pixels a side: A1 and 24×36 in at 300 dpi (7016×9933, 7200×10800) fit
ENGINES = ("procedural", "preview", "final", "auto")


class NoSuchGroup(InputError):
    """RenderRequest.frame names a group the data does not fall into (the window then frames all of it)."""


@dataclass
class RenderRequest:
    inputs: list[Path]
    style: str = "watercolor"
    size: tuple[int, int] = DEFAULT_SIZE
    engine: str = "procedural"
    title: str | None = None  # None → the data's own (app.mapdata.titles.describe); "" → no title
    subtitle: str | None = None  # None → the centre's coordinates, or a track's length and climb; "" → none
    seed: int | None = None  # None → derived from the inputs, so the same map renders the same
    margin: float = 0.06
    rotation: float = 0.0
    dpi: float | None = None
    kinds: frozenset[Kind] | None = None  # layers to draw; None → all
    labels: bool = True
    imagery: bool = True  # the pictures under the features (KML GroundOverlays); hidden ones do not frame the map
    scale_bar: bool = True
    north_arrow: bool = True
    profile: bool = True  # a track's elevation profile strip, in the styles that draw one (Typography)
    user_styles_dir: Path | None = None
    ai: Any = None  # app.jobs.ai.AIOptions for the preview/final engines; None → defaults
    frame: int | None = None  # data in groups far apart: frame group N only (from 1); None → all
    # OpenStreetMap data fetched for an area (app/jobs/surroundings.py), layered under the files
    place: str | None = None  # a place to search for (Nominatim) and map
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north
    radius_m: float | None = None  # around the place, or padding around the files with `context`
    context: bool = False  # the landscape around the files' bounds
    terrain: bool = False  # relief under the map: elevation tiles fetched or cached (app/jobs/relief.py)
    attribution: bool = True  # the data's credit ("© OpenStreetMap contributors"); off only for style thumbnails
    style_image: Path | None = None  # paint in this picture's colours (app/styles/palette_image.py, issue 16)
    upscale: str = "auto"  # AI engines at print size: "auto" | "on" | "off" (app/jobs/upscale.py)
    backend: str = "local"  # where the AI stages run: "local" (this computer) | "comfyui" (a ComfyUI server)
    comfyui: Any = None  # app.backends.comfyui.client.ServerConfig when backend == "comfyui"

    def validate(self) -> None:
        w, h = self.size
        if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE):
            raise InputError(f"size {w}x{h} is out of range (16 to {MAX_SIDE} pixels a side)")
        if self.engine not in ENGINES:
            raise InputError(f"unknown engine '{self.engine}' (choose from {', '.join(ENGINES)})")
        if not 0.0 <= self.margin < 0.45:
            raise InputError(f"margin {self.margin} is out of range (0 to 0.45)")
        if not self.inputs and not (self.place or self.bbox is not None):
            raise InputError("no input files given (nor a place or box to fetch)")
        if self.place and self.bbox is not None:
            raise InputError("give a place or a box, not both")
        if self.context and not self.inputs:
            raise InputError("context draws the landscape around map files; give files, or a place or box")
        if self.frame is not None and self.frame < 1:
            raise InputError(f"group {self.frame} does not exist (groups are numbered from 1)")
        if self.upscale not in ("auto", "on", "off"):
            raise InputError(f"unknown upscale mode '{self.upscale}' (choose from auto, on, off)")


@dataclass
class RenderResult:
    image: np.ndarray  # HxWx3 uint8, finished
    metadata: dict[str, Any]
    data: MapData
    scene: Any  # app.carto.scene.Scene
    layers: Any  # app.render.layers.Layers (structure image for the AI engines, masks)
    sketch: np.ndarray  # the painted image before the overlay
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    stages: dict[str, np.ndarray] = field(
        default_factory=dict
    )  # "sketch", "reference", "preview", "final" (no overlay)
    engine: str = "procedural"  # the engine that made `image`
    groups: list = field(default_factory=list)  # app.carto.groups.Group: the data's groups far apart, if any
    overlay: Any = None  # app.render.overlay.OverlayLayout drawn by finish() (vector export redraws it)


def request_style(req: RenderRequest):
    """The request's style: by name, in the colours of `req.style_image` when it names a picture."""
    from app.styles.catalog import get_style

    style = get_style(req.style, req.user_styles_dir)
    if req.style_image is not None:
        from app.styles.palette_image import style_from_image

        style = style_from_image(style, req.style_image)
    return style


def seed_for(data: MapData, style: str) -> int:
    """A stable seed from the inputs' content, so re-rendering the same map gives the same picture."""
    h = hashlib.sha256(style.encode())
    for s in data.sources:
        h.update(s.sha256.encode())
    return int.from_bytes(h.digest()[:4], "big")


def load(inputs: list[Path], *, progress: Progress = NULL_PROGRESS, cancel: CancelToken = NEVER) -> MapData:
    """Read and layer the input files (later files draw on top)."""
    from app.mapdata.io import read_files

    return read_files([Path(p) for p in inputs], progress=progress, cancel=cancel)


def render(
    req: RenderRequest,
    *,
    data: MapData | None = None,
    engines: Any = None,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken = NEVER,
    keep: bool = True,
) -> RenderResult:
    """Render a request to a finished image (not yet written).

    `data` skips reading when already loaded; `engines` (app.jobs.ai.Engines) keeps AI models resident
    between images — one is made for this call when an AI engine is needed and none is given.
    `keep=False` is for an export that needs only the finished picture: the layers are let go once painted and laid
    out, and the overlay is drawn on the painting itself, so the result has no `layers` and no `sketch` (None);
    at A1 300 dpi that is the masks (70 MB each) and a full-size copy (0.2 GB) fewer while finishing and writing.
    """
    from app.render.overlay import finish, layout_overlay
    from app.styles.painter import paint

    req.validate()
    tune_memory()  # once per process: reuse image-sized buffers (app/startup.py)
    timings: dict[str, float] = {}
    style = request_style(req)  # fail fast on a bad style, before reading

    t = time.perf_counter()
    if data is None:
        from app.jobs.surroundings import load_request

        data = load_request(req, progress=progress, cancel=cancel)  # the files, and OSM data fetched for an area
    timings["read"] = time.perf_counter() - t
    cancel.check()

    seed = req.seed if req.seed is not None else seed_for(data, style.name)

    # The structure image is for the AI engines and the window's stage view: a procedural export draws none.
    structure = keep or req.engine != "procedural"
    scene, layers, groups, notes = _scene_and_layers(req, data, style, timings, progress=progress,
                                                     cancel=cancel, structure=structure)  # fmt: skip
    title = scene.title
    relief_meta = None
    if req.terrain:  # the elevation under the frame: Layers.relief, the structure image shaded, the tiles credited
        from app.jobs.relief import add_relief

        t = time.perf_counter()
        relief_meta, relief_notes = add_relief(scene, layers, progress=progress, cancel=cancel)
        notes = notes + relief_notes
        timings["relief"] = time.perf_counter() - t

    t = time.perf_counter()
    sketch = paint(layers, style, seed=seed, progress=progress, cancel=cancel)
    timings["paint"] = time.perf_counter() - t
    # Label placement (Python) runs beside the AI stages (torch lets go of the GIL while it computes), not beside
    # the painting: the painter shares its bands among the cores (app/styles/filters.each_band), and a Python thread
    # beside it made both slower (measured, 2-core machine, the 3,000-street city at 2048²: painting 1.2 s, labels
    # 1.0 s, both at once 2.6 s). The title goes in the corner where the map itself is quietest.
    layout = partial(
        layout_overlay,
        scene,
        style.typography,
        image=layers.structure,
        layers=layers,
        labels=req.labels,
        scale_bar=req.scale_bar,
        north_arrow=req.north_arrow,
        profile=req.profile,
        cancel=cancel,
    )
    layout_job = None
    if req.engine != "procedural":
        pool = ThreadPoolExecutor(1, thread_name_prefix="mapbrush-layout")
        layout_job = pool.submit(layout)
        pool.shutdown(wait=False)
    stages = {"sketch": sketch}
    base, engine, ai_meta = sketch, "procedural", {}
    warnings = list(data.warnings) + notes
    try:
        if req.engine != "procedural":
            from app.jobs.ai import AIOptions, build_prompt

            engines = engines or make_engines(req)
            opts = req.ai or AIOptions()
            if style.loras:  # the style's LoRAs first, then --lora's
                opts = replace(opts, loras=(*style.loras, *opts.loras))
            wanted = _ai_stages(req.engine, engines, opts)
            template = opts.prompt if opts.prompt and opts.prompt.strip() else style.prompt.template
            place, what = prompt_subject(req, data, groups)
            prompt = build_prompt(template, place, opts.prompt_extra, what=what)
            creativity = opts.creativity if opts.creativity is not None else style.prompt.creativity
            if opts.reference is not None and opts.reference_metadata is not None:
                from app.jobs.reference import clean_reference

                clean, why = clean_reference(
                    opts.reference, opts.reference_metadata, data, user_styles_dir=req.user_styles_dir, cancel=cancel
                )
                opts = replace(opts, reference=clean, reference_metadata=None)
                stages["reference"] = clean
                warnings.extend([why] if why else [])
            styled = None  # the preview's sketch in the style image's colours: Z-Image has no image prompt (issue 16)
            if req.style_image is not None and "preview" in wanted:
                from app.styles.palette_image import load_image, transfer_palette

                styled = stages["sketch_styled"] = transfer_palette(sketch, load_image(req.style_image))
            if req.style_image is not None and "final" in wanted:  # FLUX.2 Klein sees the picture itself
                from app.styles.palette_image import load_image

                opts = replace(opts, style_reference=load_image(req.style_image))
            for stage in wanted:
                if stage == "final":  # what the final stage re-renders (its ComfyUI graph's reference image)
                    stages.setdefault("reference", opts.reference if opts.reference is not None else sketch)
                t = time.perf_counter()
                res = engines.run(
                    stage,
                    size=req.size,
                    sketch=styled if stage == "preview" and styled is not None else sketch,
                    structure=layers.structure,
                    prompt=prompt,
                    negative=style.prompt.negative,
                    creativity=creativity,
                    threshold=style.prompt.fidelity_threshold,
                    seed=seed,
                    options=opts,
                    progress=progress,
                    cancel=cancel,
                )
                timings[stage] = time.perf_counter() - t
                stages[stage] = res.image
                base, engine = res.image, stage
                ai_meta.setdefault("stages", {})[stage] = res.info
                warnings.extend(res.notes)
                if stage == "preview" and "final" in wanted:
                    opts = _with_reference(opts, res.image)
            ai_meta["prompt"] = prompt
            ai_meta["negative_prompt"] = style.prompt.negative
            ai_meta["models"] = [f"{i['model']}:{i['variant']}" for i in ai_meta.get("stages", {}).values()]
            if ai_meta.get("stages"):
                last = ai_meta["stages"][engine]
                ai_meta.update(tier=last["tier"], steps=last["steps"], creativity=last["creativity"],
                               fidelity=last["fidelity"])  # fmt: skip
                if req.upscale != "off" and req.backend == "local":  # upscale for print: tiles, this computer only
                    from app.jobs import upscale as up

                    if up.wanted(req.upscale, req.size, last["resolution"]):
                        t = time.perf_counter()
                        done = up.upscale(engines, engine, image=base, structure=layers.structure, prompt=prompt,
                                          painting=styled if engine == "preview" and styled is not None else sketch,
                                          stage_size=last["resolution"], negative=style.prompt.negative, seed=seed,
                                          options=opts, mode=req.upscale, progress=progress, cancel=cancel)  # fmt: skip
                        timings["upscale"] = time.perf_counter() - t
                        base = stages[engine] = done.image
                        ai_meta.update(upscale=done.info, fidelity=done.info["fidelity"])
                        warnings.extend(done.notes)
                    elif req.upscale == "on":
                        warnings.append(f"no upscale: the {engine} stage painted {last['resolution'][0]}x"
                                        f"{last['resolution'][1]}, as large as the export")  # fmt: skip
    except BaseException:
        if layout_job is not None:
            cancel_layout(layout_job)
        raise

    t = time.perf_counter()
    overlay = layout() if layout_job is None else layout_job.result()
    layout = layout_job = None  # the partial holds the layers
    timings["labels"] = time.perf_counter() - t  # laying out, or (AI) what was left of it after the AI stages
    t = time.perf_counter()
    if not keep:  # nothing reads the layers or the bare painting again: they go before the finishing pass
        layers = sketch = None
        stages.pop("sketch", None)
        release_memory()
    image = finish(
        base,
        scene,
        style.typography,
        labels=req.labels,
        scale_bar=req.scale_bar,
        north_arrow=req.north_arrow,
        profile=req.profile,
        layout=overlay,
        in_place=not keep and base is not None and all(base is not v for v in stages.values()),
        progress=progress,
        cancel=cancel,
    )
    timings["finish"] = time.perf_counter() - t

    metadata = _metadata(req, data, scene, style.name, engine, seed, title, ai_meta, scene.subtitle)
    if req.style_image is not None:
        from app.styles.palette_image import image_info

        metadata["style_image"] = image_info(req.style_image)  # its name and sha256
    if req.terrain:
        metadata["relief"] = relief_meta  # the tiles' source, attribution, zoom and date; None: drawn without
    return RenderResult(image, metadata, data, scene, layers, sketch, timings, warnings, stages, engine, groups,
                        overlay)  # fmt: skip


def repaint(
    req: RenderRequest,
    job: Any,
    *,
    data: MapData | None = None,
    engines: Any = None,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken = NEVER,
) -> RenderResult:
    """Repaint the masked region of a picture (`job`: app.jobs.repaint.Repaint) with an AI stage: the mask at the
    picture's size, the stage's inpainting pipeline, the new painting blended in at the mask's feathered edge,
    then the crisp overlay drawn again. Outside the feather every pixel is the picture's as it was.

    `req` is the request the picture was made with (its size is the picture's); its seed and AI options (prompt,
    prompt_extra, creativity, steps, LoRAs) are the repaint's.
    """
    from app import __version__
    from app.jobs import repaint as rp
    from app.jobs.ai import AIOptions, Engines, build_prompt
    from app.render.overlay import finish, layout_overlay

    req.validate()
    if job.stage not in ("preview", "final"):
        raise InputError(f"cannot repaint with the '{job.stage}' engine (choose preview or final)")
    w, h = req.size
    if job.image.shape[:2] != (h, w):
        raise InputError(f"the picture to repaint is {job.image.shape[1]}x{job.image.shape[0]}, not {w}x{h}")
    style = request_style(req)
    if data is None:
        from app.jobs.surroundings import load_request

        data = load_request(req, progress=progress, cancel=cancel)
    cancel.check()
    seed = req.seed if req.seed is not None else seed_for(data, style.name)
    timings: dict[str, float] = {}
    scene, layers, groups, notes = _scene_and_layers(req, data, style, timings, progress=progress, cancel=cancel)
    warnings = list(data.warnings) + notes + list(job.warnings)
    mask = rp.scale_mask(job.mask, req.size, warnings=warnings)
    if not mask.any():
        raise InputError("the repaint mask is blank at the picture's size: nothing to repaint")
    feather = job.feather if job.feather is not None else rp.feather_for(req.size)
    alpha = rp.feather_alpha(mask, feather)
    base, keep = job.image, job.finished
    if job.finished is None and job.metadata is not None:  # a finished MapBrush PNG: its overlay comes off first
        from app.jobs.reference import clean_reference

        base, why = clean_reference(job.image, job.metadata, data, user_styles_dir=req.user_styles_dir, cancel=cancel)
        warnings.extend([why] if why else [])
        keep = job.image

    engines = engines or Engines()
    opts = replace(req.ai or AIOptions(), reference=None, reference_metadata=None, guide="img2img")
    if style.loras:
        opts = replace(opts, loras=(*style.loras, *opts.loras))
    template = opts.prompt if opts.prompt and opts.prompt.strip() else style.prompt.template
    place, what = prompt_subject(req, data, groups)
    prompt = build_prompt(template, place, opts.prompt_extra, what=what)
    creativity = opts.creativity if opts.creativity is not None else style.prompt.creativity
    t = time.perf_counter()
    res = engines.run(job.stage, size=req.size, sketch=base, structure=layers.structure, prompt=prompt,
                      negative=style.prompt.negative, creativity=creativity, threshold=style.prompt.fidelity_threshold,
                      seed=seed, options=opts, progress=progress, cancel=cancel, mask=alpha > 0)  # fmt: skip
    timings["repaint"] = time.perf_counter() - t
    warnings.extend(res.notes)
    painted = rp.blend(base, res.image, alpha)

    t = time.perf_counter()
    overlay = layout_overlay(scene, style.typography, image=layers.structure, layers=layers, labels=req.labels,
                             scale_bar=req.scale_bar, north_arrow=req.north_arrow, profile=req.profile,
                             cancel=cancel)  # fmt: skip
    image = finish(painted, scene, style.typography, labels=req.labels, scale_bar=req.scale_bar,
                   north_arrow=req.north_arrow, profile=req.profile, layout=overlay, progress=progress,
                   cancel=cancel)  # fmt: skip
    if keep is not None and keep.shape == image.shape:
        outside = alpha <= 0.0
        image[outside] = keep[outside]  # exactly the picture as it was, labels and all
    timings["finish"] = time.perf_counter() - t

    record = {"stage": job.stage, "seed": seed, "prompt": prompt, "share": round(rp.mask_share(mask), 4),
              "feather": int(feather), "version": __version__, "mask_sha256": rp.mask_sha256(mask)}  # fmt: skip
    record.update({k: res.info[k] for k in ("model", "variant", "steps", "strength", "resolution") if k in res.info})
    if job.source:
        record["from"] = job.source  # the base picture's name and sha256
    if isinstance(job.metadata, dict) and job.metadata.get("app") == "mapbrush":
        metadata = dict(job.metadata)  # the picture's own record (its stages, prompt, paper…), and this repaint
    else:
        ai_meta = {"stages": {job.stage: res.info}, "prompt": prompt, "negative_prompt": style.prompt.negative,
                   "models": [f"{res.info['model']}:{res.info['variant']}"]}  # fmt: skip
        metadata = _metadata(req, data, scene, style.name, job.stage, seed, scene.title, ai_meta, scene.subtitle)
    metadata["repaints"] = [*(metadata.get("repaints") or []), record]
    stages = {"before": base, job.stage: painted}
    return RenderResult(image, metadata, data, scene, layers, painted, timings, warnings, stages, job.stage, groups,
                        overlay)  # fmt: skip


COVER_GRID = 64  # cells along the long side for measuring how much of the picture the data covers
MIN_COVER = 0.01  # under this share of cells touched, the picture is mostly empty paper


def frame_hint(groups: list) -> str:
    """The CLI's advice after the far-apart message (the window offers the groups instead)."""
    return f"; frame one group with --frame N (1 to {len(groups)})"


def titles_for(req: RenderRequest, data: MapData) -> tuple[str | None, str | None]:
    """The title and subtitle drawn: the request's, else the data's own (app.mapdata.titles); "" → none.
    A default subtitle goes only under a title; one the person wrote is drawn alone too."""
    from app.mapdata.titles import default_subtitle, describe

    if req.title is None:
        subject = describe(data)
        title, subtitle = subject.title, subject.subtitle
    else:
        title = req.title or None
        subtitle = default_subtitle(data) if title and req.subtitle is None else None
    if req.subtitle is not None:
        subtitle = req.subtitle or None
    elif not title:
        subtitle = None
    return title, subtitle


def choice_mode(text: str | None) -> str:
    """A request's title or subtitle as the PNG records it: "default" (None), "none" ("") or "custom"."""
    return "default" if text is None else ("custom" if text else "none")


def prompt_subject(req: RenderRequest, data: MapData, groups: list) -> tuple[str | None, str]:
    """(place, what the map is) for the prompt's {place} and {map} ("Helsinki", "city map of Helsinki"), of
    the group framed when one is; from the data, whatever title the person gave the picture."""
    from app.mapdata.titles import describe, map_phrase

    if req.frame is not None and groups:
        data = _group_data(data, groups[req.frame - 1])
    subject = describe(data)
    return subject.place or subject.title, map_phrase(data, subject)


def _group_data(data: MapData, group) -> MapData:
    keep = np.zeros(len(data), bool)
    keep[group.rows] = True
    part = data.select(keep)
    part.extent = None  # the group's own features frame it, not a file's declared bounds
    part.rasters = [data.rasters[i] for i in group.pictures]  # and its own pictures only
    if group.sources:  # its own files name the map (the picture's metadata still lists every input)
        part.sources = [data.sources[i] for i in group.sources]
    return part


def _scene_and_layers(req: RenderRequest, data: MapData, style, timings: dict, *, progress=NULL_PROGRESS,
                      cancel: CancelToken = NEVER, structure: bool = True):  # fmt: skip
    """Compose (one group only when req.frame says so) and rasterize; with the groups far apart and the
    warnings about a mostly empty picture. The scene carries the title and subtitle drawn (`titles_for`)."""
    from app.carto.attribution import attribution_lines
    from app.carto.compose import compose
    from app.carto.groups import far_apart_message, find_groups
    from app.render.cartouche import frame_reserve
    from app.render.raster import rasterize

    t = time.perf_counter()
    _check_some_drawn(req, data)
    if not req.imagery and data.rasters:  # hidden like a kind: not drawn, not framed
        data = replace(data, rasters=[])
    title, subtitle = titles_for(req, data)
    kw = dict(size=req.size, margin=req.margin, rotation=req.rotation, title=title, subtitle=subtitle,
              kinds=req.kinds, progress=progress, cancel=cancel)  # fmt: skip
    kw["reserve"] = frame_reserve(title, subtitle, style.typography, req.size, req.margin)  # a title band's room
    # A framed group's map still credits all the data drawn; a style thumbnail in the window credits none.
    kw["attribution"] = attribution_lines(data.sources) if req.attribution else []
    scene = compose(data, **kw)
    groups = find_groups(scene, data)
    notes = []
    if req.frame is not None:
        if req.frame > len(groups):
            have = f"only {len(groups)} groups far apart" if groups else "no groups far apart"
            raise NoSuchGroup(f"cannot frame group {req.frame}: the data falls into {have}")
        part = _group_data(data, groups[req.frame - 1])
        kw["title"], kw["subtitle"] = titles_for(req, part)  # the group's own place names the map
        kw["reserve"] = frame_reserve(kw["title"], kw["subtitle"], style.typography, req.size, req.margin)
        scene = compose(part, **kw)
    elif groups:
        notes.append(far_apart_message(groups) + frame_hint(groups))
    timings["compose"] = time.perf_counter() - t
    t = time.perf_counter()
    layers = rasterize(scene, style.raster, structure=structure, progress=progress, cancel=cancel)
    timings["rasterize"] = time.perf_counter() - t
    if not notes and not getattr(scene, "rasters", None):  # an image overlay covers the page by itself
        notes.extend(_coverage_notes(req, data, layers))
    return scene, layers, groups, notes


def _check_some_drawn(req: RenderRequest, data: MapData) -> None:
    """Layers that leave out every feature and picture: say what the data has (an empty page is never written)."""
    pictures = len(getattr(data, "rasters", ()))
    if (pictures and req.imagery) or (len(data) and (req.kinds is None or any(k in req.kinds for k in data.kinds))):
        return
    s = "s" if pictures > 1 else ""
    if not len(data):
        if pictures:  # a KML of GroundOverlays only
            raise InputError(f"there is nothing to draw: the data holds only {pictures:,} picture{s} (GroundOverlays) "
                             "and the imagery layer is hidden")  # fmt: skip
        return  # no data at all: compose says so
    present = ", ".join(data.counts()) + (f", {pictures:,} picture{s} (imagery hidden)" if pictures else "")
    raise InputError(f"there is nothing to draw: the chosen layers leave out all {len(data):,} features "
                     f"(the data has {present})")  # fmt: skip


def covered_share(masks: dict, size: tuple[int, int], enough: float = 1.0) -> float:
    """Share of the picture's cells (COVER_GRID along the long side) where any layer's mask has ink; counting
    stops once it reaches `enough`."""
    w, h = size
    cs = max(1, max(w, h) // COVER_GRID)
    rows, cols = max(1, h // cs), max(1, w // cs)
    occ = np.zeros((rows, cols), bool)
    for m in masks.values():
        m = m[: rows * cs, : cols * cs]
        occ |= m.reshape(m.shape[0] // cs, cs, m.shape[1] // cs, cs).max(axis=(1, 3)) > 0
        if occ.mean() >= enough:
            break
    return float(occ.mean())


def _coverage_notes(req: RenderRequest, data: MapData, layers) -> list[str]:
    share = covered_share(layers.masks, req.size, enough=MIN_COVER)
    if share >= MIN_COVER:
        return []
    why = ""
    if req.kinds is not None:
        kept = sum(k in req.kinds for k in data.kinds)
        if kept < len(data):
            why = f" (the chosen layers leave out {len(data) - kept:,} of {len(data):,} features)"
    if share == 0.0:
        return [f"nothing of the map data shows on the picture{why}: it is blank paper"]
    return [f"the data covers only {share:.1%} of the picture{why}: the map is mostly empty"]


def overlay_mask(req: RenderRequest, data: MapData, *, cancel: CancelToken = NEVER) -> np.ndarray:
    """HxW bool: the pixels render() covers with labels, title, scale bar and north arrow for `req`."""
    from app.render.overlay import layout_overlay
    from app.render.overlay import overlay_mask as mask_of
    from app.styles.catalog import get_style

    style = get_style(req.style, req.user_styles_dir)
    scene, layers, _, _ = _scene_and_layers(req, data, style, {}, cancel=cancel)
    lay = layout_overlay(scene, style.typography, image=layers.structure, layers=layers, labels=req.labels,
                         scale_bar=req.scale_bar, north_arrow=req.north_arrow, profile=req.profile,
                         cancel=cancel)  # fmt: skip
    return mask_of(req.size, lay, style.typography, cancel=cancel)


def cancel_layout(job: Future) -> None:
    """Wait for an abandoned layout job so no thread outlives the render (it is short, and cancellable)."""
    with contextlib.suppress(Exception):  # its error is irrelevant once the render failed
        job.result()


def make_engines(req: RenderRequest):
    """The AI stages' engines for the request's backend: this computer's, or a ComfyUI server's."""
    if req.backend == "comfyui":
        from app.backends.comfyui.runner import ComfyEngines

        if req.comfyui is None:
            raise InputError("--backend comfyui needs a server: --comfyui-url URL or MAPBRUSH_COMFYUI_URL")
        return ComfyEngines(req.comfyui)
    from app.jobs.ai import Engines

    return Engines()


def _ai_stages(engine: str, engines, opts) -> list[str]:
    """Which AI stages run for an engine choice. Raises ModelUnavailable when a requested one cannot."""
    if engine == "preview":
        engines.installed_for("preview")
        return ["preview"]
    if engine == "final":
        engines.installed_for("final", opts.final_model)
        if opts.reference is None and engines.available("preview")[0]:
            return ["preview", "final"]  # final re-renders a preview; without a preview model, the sketch
        return ["final"]
    # auto: the best this machine has; procedural when nothing is installed. On a CPU the final
    # stage takes minutes, so auto stops at the preview there.
    stages = ("preview",) if engines.tier.device == "cpu" else ("preview", "final")
    return [s for s in stages if engines.available(s, opts.final_model if s == "final" else None)[0]]


def _with_reference(opts, image):
    return replace(opts, reference=image)


def _metadata(req: RenderRequest, data: MapData, scene, style: str, engine: str, seed: int, title, ai: dict,
              subtitle: str | None = None) -> dict:  # fmt: skip
    from app.export.metadata import build_metadata
    from app.jobs.surroundings import fetched_sources

    inputs = [{"name": s.name if s.fetched else Path(s.path).name, "sha256": s.sha256, "format": s.format}
              for s in data.sources]  # fmt: skip
    extra = {
        "subtitle": subtitle,
        "title_mode": choice_mode(req.title),  # what was asked for; "title"/"subtitle" hold what was drawn
        "subtitle_mode": choice_mode(req.subtitle),
        "margin": req.margin,
        "rotation": req.rotation,
        "dpi": req.dpi,
        "kinds": sorted(k.value for k in req.kinds) if req.kinds is not None else None,
        "labels": req.labels,
        "imagery": req.imagery,
        "scale_bar": req.scale_bar,
        "north_arrow": req.north_arrow,
        "profile": req.profile,
        "frame": req.frame,
        "sources": fetched_sources(data),  # fetched data: service, request, box, date, attribution
        "attribution": list(scene.attribution),  # the credit lines drawn (an OSM source's ODbL line)
        **ai,
    }
    return build_metadata(
        style=style,
        engine=engine,
        seed=seed,
        size=list(req.size),
        inputs=inputs,
        bounds=list(scene.frame.lonlat_bounds),
        crs=scene.frame.crs,
        title=title,
        extra=extra,
    )


def render_to_file(
    req: RenderRequest,
    out: Path,
    *,
    data: MapData | None = None,
    engines: Any = None,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken = NEVER,
    vector_plain: bool = False,
    world_file: bool = False,
    metadata: dict | None = None,
    keep: bool = False,
) -> RenderResult:
    """Render and export the picture atomically (PNG, JPEG, WebP, SVG or PDF by `out`'s extension).

    SVG and PDF hold the map's layers as vector parts over the style's painting of its areas
    (app/export/vector_parts.py), or with `vector_plain` as flat vector fills on the paper's colour.
    `world_file` writes a world file and a .prj beside a PNG, JPEG or WebP (app/export/world.py).
    `metadata` adds entries to the picture's metadata (a batch's resume key).
    The result of a raster export has no layers and no sketch (render's `keep=False`: less memory at print size)
    unless `keep`.
    """
    from app.export.formats import VECTOR, WORLD_FILE_SUFFIX, check_size, format_of, write_image

    fmt = format_of(out)
    check_size(out, req.size)  # before any work
    if world_file and fmt in VECTOR:
        raise InputError("a world file (--world-file) goes beside a PNG, JPEG or WebP picture, not a "
                         f"{fmt}", path=Path(out))  # fmt: skip
    # a raster picture needs nothing but itself; SVG and PDF redraw the layers from the masks and the painting
    result = render(req, data=data, engines=engines, progress=progress, cancel=cancel, keep=keep or fmt in VECTOR)
    result.metadata.update(metadata or {})
    cancel.check()
    t = time.perf_counter()
    progress("export", 0, 1, f"writing {Path(out).name}")
    if fmt in VECTOR:
        from app.export.vector import write_vector
        from app.export.vector_parts import vector_parts

        parts = vector_parts(result, request_style(req), plain=vector_plain)
        write_vector(Path(out), parts, req.size, result.metadata, dpi=req.dpi)
    else:
        from app.backends.comfyui.graphs import embedded_inputs

        images = embedded_inputs(result.metadata, result.stages)  # the final's reference, for export-workflow
        write_image(Path(out), result.image, result.metadata, dpi=req.dpi, images=images)
    if world_file:
        from app.export.world import write_world_file

        write_world_file(Path(out), result.scene.frame, WORLD_FILE_SUFFIX[fmt])
    progress("export", 1, 1, "done")
    result.timings["export"] = time.perf_counter() - t
    return result
