"""Many maps in one go: one map per file (or per folder, or per day of GPX tracks), the same style and framing rules
for all, a contact sheet, resumable, going on past bad files.

`plan()` turns files and folders into the maps to make; `run_batch()` renders them through the one render chain
(`render_to_file`) with one `Engines` for the whole batch, so AI models stay resident; `contact_sheet()` draws
`index.png`. A map whose PNG exists with the same inputs (sha256) and options is kept, not rendered again.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.errors import AppError, Cancelled, InputError, ModelUnavailable
from app.jobs.cancel import NEVER, CancelToken
from app.jobs.progress import NULL_PROGRESS, Progress
from app.jobs.render import RenderRequest, render_to_file

GROUP_BY = ("folder", "day")
INDEX = "index.png"
BATCH_KEY = "batch"  # the metadata entry holding the resume key
# Files in a folder with these endings are meant as maps: when one cannot be read, the summary names it. Any
# other file a folder holds (photos, notes, a shapefile's .dbf) is passed over quietly unless it sniffs as a map.
MAP_SUFFIXES = (".geojson", ".json", ".gpx", ".kml", ".kmz", ".shp", ".osm", ".pbf", ".gpkg", ".fgb", ".bz2", ".gz")
UNDATED = "undated"


@dataclass
class Item:
    """One map to make: its input files and the name of its PNG (without .png)."""

    name: str
    inputs: list[Path]
    label: str  # what the summary and the contact sheet call it: the file, the folder or the day

    def output(self, out_dir: Path) -> Path:
        return Path(out_dir) / f"{self.name}.png"


@dataclass
class Outcome:
    item: Item
    result: str  # "done", "kept" (finished before, resumed), "bad" (input error), "failed", "error", "not run"
    seconds: float = 0.0
    message: str = ""
    output: Path | None = None
    exit_code: int = 0

    @property
    def ok(self) -> bool:
        return self.result in ("done", "kept")


@dataclass
class BatchResult:
    outcomes: list[Outcome] = field(default_factory=list)
    sheet: Path | None = None
    stopped: bool = False  # stopped before the end (Ctrl-C): the maps not made are "not run"

    @property
    def exit_code(self) -> int:
        """0 all made; 130 stopped; 1 an internal error; else the first other failure's code; 2 a bad input."""
        if self.stopped:
            return Cancelled.exit_code
        if any(o.result == "error" for o in self.outcomes):
            return 1
        codes = [o.exit_code for o in self.outcomes if o.result == "failed"]
        if codes:
            return codes[0]
        return 2 if any(o.result == "bad" for o in self.outcomes) else 0


# ----- what to make ------------------------------------------------------------------------------------------------
def find_files(paths: list[Path], *, skip: Path | None = None) -> list[Path]:
    """The map files among `paths`: a file named is always taken (a bad one is reported by its render); a folder is
    searched (sub-folders too, hidden ones not) for files the readers accept or that are named like map files.
    `skip` (the output folder) is not searched. Raises InputError for a path that does not exist."""
    from app.mapdata.sniff import SHAPEFILE_SIDECARS, sniff

    found: list[Path] = []
    skip = skip.resolve() if skip is not None else None
    for path in map(Path, paths):
        if path.is_file():
            found.append(path)
            continue
        if not path.is_dir():
            raise InputError("file or folder not found", path=path)
        for f in sorted(path.rglob("*")):
            rel = f.relative_to(path).parts
            if any(p.startswith(".") for p in rel) or not f.is_file():
                continue
            if skip is not None and f.resolve().is_relative_to(skip):
                continue
            if f.suffix.lower() in SHAPEFILE_SIDECARS:
                continue
            if f.suffix.lower() in MAP_SUFFIXES:
                found.append(f)
                continue
            try:
                sniff(f)
            except InputError:
                continue  # not a map file: a photo, a note, ...
            found.append(f)
    seen: set[Path] = set()
    unique = []
    for f in found:
        if (key := f.resolve()) not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def plan(files: list[Path], group_by: str | None = None) -> list[Item]:
    """The maps to make: one per file; with `group_by="folder"` one per folder; with `"day"` one per day of the GPX
    tracks' first timestamps (other files, and tracks without time, one map each). Output names are unique."""
    if group_by not in (None, *GROUP_BY):
        raise InputError(f"cannot group by '{group_by}' (choose from {', '.join(GROUP_BY)})")
    groups: dict[str, list[Path]] = {}
    labels: dict[str, str] = {}
    for f in files:
        if group_by == "folder":
            key, label = str(f.parent.resolve()), f.parent.resolve().name or str(f.parent)
        elif group_by == "day" and _is_gpx(f) and (day := track_day(f)) is not None:
            key, label = f"day:{day.isoformat()}", day.isoformat()
        else:
            key, label = f"file:{f.resolve()}", f.name
        groups.setdefault(key, []).append(f)
        labels[key] = label
    items, used = [], set()
    for key, members in groups.items():
        base = _safe_name(labels[key].split(".")[0] if key.startswith("file:") else labels[key])
        name, n = base, 2
        while name.lower() in used or name.lower() == INDEX.split(".")[0]:
            name, n = f"{base}-{n}", n + 1
        used.add(name.lower())
        items.append(Item(name, members, labels[key]))
    if group_by == "day":
        items.sort(key=lambda it: (not it.name[:4].isdigit(), it.name))
    return items


def _safe_name(text: str) -> str:
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", text).strip(" .")
    return name or "map"


def _is_gpx(path: Path) -> bool:
    from app.mapdata.sniff import sniff

    try:
        return sniff(path) == "gpx"
    except InputError:
        return False


def track_day(path: Path):
    """The local calendar day of a GPX file's first track point time (else its first route or way point time), or
    None. A time without an offset is UTC: the day is taken at the point's solar time (longitude / 15 hours), so a
    morning walk in Japan is not dated the day before."""
    from defusedxml.ElementTree import iterparse

    try:
        for _, el in iterparse(str(path), events=("end",)):
            tag = el.tag.rsplit("}", 1)[-1]
            if tag in ("trkpt", "rtept", "wpt"):
                when = next((c.text for c in el if c.tag.rsplit("}", 1)[-1] == "time" and c.text), None)
                if when:
                    return _local_day(when, el.get("lon"))
                el.clear()
    except Exception:  # a broken file has no day; its render says what is wrong with it
        return None
    return None


def _local_day(text: str, lon: str | None):
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None or t.utcoffset() == timedelta(0):
        try:
            shift = round(float(lon) / 15.0) if lon is not None else 0
        except ValueError:
            shift = 0
        t = t.replace(tzinfo=UTC) + timedelta(hours=shift)
    return t.date()


# ----- resume -------------------------------------------------------------------------------------------------------
def options_key(req: RenderRequest) -> str:
    """A digest of everything in the request but its inputs: a kept map was made with the same options."""
    opts = {k: v for k, v in asdict(req).items() if k != "inputs"}
    return hashlib.sha256(json.dumps(opts, sort_keys=True, default=_plain).encode()).hexdigest()[:16]


def _plain(value: Any):
    if isinstance(value, set | frozenset):
        return sorted(getattr(v, "value", v) for v in value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "shape"):  # a reference picture: its bytes
        return hashlib.sha256(value.tobytes()).hexdigest()
    return str(value)


def finished(out: Path, inputs: list[Path], key: str, *, cancel: CancelToken = NEVER) -> bool:
    """True when `out` is a PNG MapBrush wrote from exactly these files (by sha256) with these options."""
    from app.export.png import read_metadata
    from app.mapdata.io import sha256_of

    if not out.is_file():
        return False
    try:
        meta = read_metadata(out)
        have = sorted(str(i.get("sha256")) for i in meta.get("inputs", [])) if meta else None
        want = sorted(sha256_of(p, cancel) for p in inputs)
    except (OSError, InputError, AttributeError, TypeError):
        return False
    return bool(meta) and (meta.get(BATCH_KEY) or {}).get("options") == key and have == want


# ----- the batch ----------------------------------------------------------------------------------------------------
def run_batch(
    items: list[Item],
    out_dir: Path,
    request: RenderRequest,
    *,
    engines: Any = None,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken = NEVER,
    stop: CancelToken = NEVER,
    on_outcome=None,
    sheet: bool = True,
) -> BatchResult:
    """Render every item with `request`'s style and options (its inputs are replaced), into `out_dir`.

    Goes on past bad files; `stop` ends the batch after the current map, `cancel` within it (that map is not
    written). One `engines` (app.jobs.ai.Engines) serves every map: made here when an AI engine is asked for and
    none is given. `on_outcome(outcome)` is called after each map. Writes `index.png` of the maps made.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot make the output folder ({e.strerror or e})", path=out_dir) from None
    from app.styles.catalog import get_style

    replace(request, inputs=[out_dir]).validate()  # the options, once, before any map
    get_style(request.style, request.user_styles_dir)
    if request.engine != "procedural" and engines is None:
        from app.jobs.ai import Engines

        engines = Engines()
    key = options_key(request)
    result = BatchResult()
    for n, item in enumerate(items):
        if stop.cancelled or cancel.cancelled:
            result.stopped = True
            result.outcomes += [Outcome(it, "not run") for it in items[n:]]
            break
        progress("batch", n, len(items), f"{item.label} ({n + 1} of {len(items)})")
        outcome = _one(item, out_dir, replace(request, inputs=list(item.inputs)), key, engines, progress, cancel)
        if outcome is None:  # cancelled within the map
            result.stopped = True
            result.outcomes += [Outcome(it, "not run") for it in items[n:]]
            break
        result.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    progress("batch", len(items), len(items), "done")
    if sheet:
        made = [(o.output, o.item.label) for o in result.outcomes if o.ok and o.output is not None]
        if made:
            result.sheet = contact_sheet(made, out_dir / INDEX)
    return result


def _one(item: Item, out_dir: Path, req: RenderRequest, key: str, engines, progress, cancel) -> Outcome | None:
    out = item.output(out_dir)
    t0 = time.perf_counter()
    try:
        if finished(out, item.inputs, key, cancel=cancel):
            return Outcome(item, "kept", time.perf_counter() - t0, "made before with the same inputs and options", out)
        res = render_to_file(req, out, engines=engines, progress=progress, cancel=cancel,
                             metadata={BATCH_KEY: {"options": key}})  # fmt: skip
    except Cancelled:
        return None
    except ModelUnavailable:
        raise  # the same for every map: the batch stops with its message
    except InputError as e:
        return Outcome(item, "bad", time.perf_counter() - t0, e.one_line(), exit_code=e.exit_code)
    except AppError as e:
        return Outcome(item, "failed", time.perf_counter() - t0, e.one_line(), exit_code=e.exit_code)
    except MemoryError:
        return Outcome(item, "failed", time.perf_counter() - t0, "out of memory (try a smaller --size)", exit_code=4)
    except Exception as e:  # a bug: the batch goes on, the summary says so, the exit code is 1
        return Outcome(item, "error", time.perf_counter() - t0, f"internal error: {type(e).__name__}: {e}", exit_code=1)
    note = "; ".join(res.warnings)
    return Outcome(item, "done", time.perf_counter() - t0, note, out)


# ----- the contact sheet --------------------------------------------------------------------------------------------
THUMB = (320, 240)
LABEL_H = 28
GAP = 16


def contact_sheet(maps: list[tuple[Path, str]], path: Path, *, thumb: tuple[int, int] = THUMB) -> Path:
    """`index.png`: the maps as thumbnails on a grid, each with its name under it."""
    import math

    from PIL import Image, ImageDraw, ImageFont

    from app.export.png import save_atomic

    cols = min(len(maps), max(1, math.ceil(math.sqrt(len(maps) * 4 / 3))))
    rows = math.ceil(len(maps) / cols)
    tw, th = thumb
    sheet = Image.new("RGB", (GAP + cols * (tw + GAP), GAP + rows * (th + LABEL_H + GAP)), (246, 244, 239))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    for n, (png, label) in enumerate(maps):
        x, y = GAP + (n % cols) * (tw + GAP), GAP + (n // cols) * (th + LABEL_H + GAP)
        try:
            with Image.open(png) as im:
                im = im.convert("RGB")
                im.thumbnail(thumb, Image.Resampling.LANCZOS)
        except OSError:
            continue
        px, py = x + (tw - im.width) // 2, y + (th - im.height) // 2
        sheet.paste(im, (px, py))
        draw.rectangle((px - 1, py - 1, px + im.width, py + im.height), outline=(190, 186, 178))
        text = _fit(draw, label, font, tw)
        w = draw.textlength(text, font=font)
        draw.text((x + (tw - w) / 2, y + th + 6), text, fill=(40, 40, 40), font=font)
    return save_atomic(Path(path), lambda f: sheet.save(f, format="PNG"), "contact sheet")


def _fit(draw, text: str, font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"
