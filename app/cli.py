"""The command line: render, inspect, styles. Every failure is one line and an exit code."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from app import __version__
from app.errors import AppError, Cancelled, InputError
from app.jobs.progress import Progress, ProgressEvent

PROG = "mapbrush"


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().replace("×", "x").split("x")
        size = int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size like 3000x2000") from None
    if min(size) <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size like 3000x2000 (both sides must be positive)")
    return size


def _creativity(text: str):
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number from 0 to 1 or 'auto'") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"creativity {value} is outside 0..1")
    return value


def _layers(text: str):
    """'water,roads' → layers.Selection (kinds, labels named?, imagery named?): the layer names of
    app/mapdata/layers.py, or Kind values."""
    from app.mapdata.layers import UnknownLayer, parse_layers

    try:
        return parse_layers(text)
    except UnknownLayer as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _radius(text: str) -> float:
    from app.jobs.surroundings import parse_radius

    try:
        return parse_radius(text)
    except InputError as e:
        raise argparse.ArgumentTypeError(e.message) from None


def _bbox(text: str):
    from app.jobs.surroundings import parse_bbox

    try:
        return parse_bbox(text)
    except InputError as e:
        raise argparse.ArgumentTypeError(e.message) from None


def _add_area_args(parser, *, context: bool) -> None:
    """--place, --bbox, --radius (and --context): an area whose OpenStreetMap data is fetched and cached."""
    a = parser.add_argument_group("any place (OpenStreetMap data fetched over the network, then cached)")
    a.add_argument("--place", help='a place to search for and map, e.g. "Kranjska Gora, Slovenia"')
    a.add_argument("--bbox", type=_bbox, metavar="W,S,E,N", help="a box to map: west,south,east,north in degrees")
    a.add_argument("--radius", type=_radius, metavar="DIST",
                   help="around the place (e.g. 1.5km, 800m); with --context, the margin around the files")  # fmt: skip
    if context:
        a.add_argument("--context", action="store_true", help="add the landscape around the files from OpenStreetMap")
        a.add_argument("--terrain", action="store_true", help="relief (hillshade) from elevation tiles")


class UsageError(InputError):
    """A command line argparse cannot use: shown as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, with its errors as one `mapbrush: error: …` line (and a pointer to --help) instead of usage."""

    def error(self, message: str):
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def example_inputs() -> list[Path]:
    from app.paths import resource_root

    ex = resource_root() / "examples"
    return [ex / "harbour_town.geojson", ex / "harbour_hike.gpx"]


def add_render_options(r: argparse.ArgumentParser, *, single: bool = True) -> None:
    """The options of one map: `render`'s, and `batch`'s for every map (`single=False` leaves out the ones for one
    picture only: world file, vector-plain, --frame, --json)."""
    r.add_argument("--style", default="watercolor", help="style name (see `mapbrush styles`)")
    r.add_argument("--style-image", type=Path, metavar="PICTURE",
                   help="paint the style in the colours of this picture (e.g. a painting)")  # fmt: skip
    r.add_argument("--size", type=_size, default=None,
                   help="WIDTHxHEIGHT in pixels, 16 to 16384 a side (default 2400x1800)")  # fmt: skip
    r.add_argument("--title", help="title (default: the place in the data, else the nearest town, else the file)")
    r.add_argument("--no-title", action="store_true", help="no title (and no default subtitle)")
    r.add_argument("--subtitle", help="subtitle under the title (default: the centre's coordinates; for a track, "
                   "its length and climb)")  # fmt: skip
    r.add_argument("--no-subtitle", action="store_true", help="no subtitle")
    r.add_argument("--seed", type=int, help="seed for the style's randomness (default: from the inputs)")
    r.add_argument("--engine", default="procedural", choices=["procedural", "preview", "final", "auto"])
    r.add_argument("--margin", type=float, default=0.06, help="margin as a fraction of the short side")
    r.add_argument("--rotation", type=float, default=0.0, help="rotate the map clockwise, in degrees")
    r.add_argument("--dpi", type=float, help="DPI stored in the PNG (for printing); an SVG's or PDF's page size")
    r.add_argument("--paper", metavar="NAME",
                   help="size from a paper at --dpi (default 300): A4, A3, A2, A1, Letter, Tabloid, 50x70cm, 18x24in, "
                        "24x36in (portrait)")  # fmt: skip
    r.add_argument("--landscape", action="store_true", help="with --paper: the paper turned on its side")
    r.add_argument("--bleed", metavar="LENGTH",
                   help="with --paper: added on every side, e.g. 3mm; the margin grows by it (default 0)")  # fmt: skip
    if single:  # one map only
        r.add_argument("--world-file", action="store_true",
                       help="write a world file (.pgw/.jgw/.wld) and .prj beside the picture, for GIS")  # fmt: skip
        r.add_argument("--vector-plain", action="store_true",
                       help="SVG/PDF: every layer as flat vector colour, no painted picture under them")  # fmt: skip
        r.add_argument("--frame", type=int, metavar="N",
                       help="data in groups far apart (a warning lists them): frame group N only")  # fmt: skip
    r.add_argument("--layers", type=_layers, help="comma-separated layers to draw, e.g. water,roads (default: all)")
    r.add_argument("--hide", type=_layers, help="comma-separated layers to leave out, e.g. buildings,labels,imagery")
    r.add_argument("--no-labels", action="store_true", help="no street or place names")
    r.add_argument("--no-scale-bar", action="store_true")
    r.add_argument("--no-north-arrow", action="store_true")
    r.add_argument("--no-profile", action="store_true", help="no elevation profile strip under a track")
    _add_area_args(r, context=True)
    r.add_argument("--styles-dir", type=Path, help="folder of user style files (default: the user data folder)")
    if single:  # one map only
        r.add_argument("--json", action="store_true", help="print a machine-readable summary")
    ai = r.add_argument_group("AI engines (preview: Z-Image-Turbo, final: FLUX.2 Klein)")
    ai.add_argument("--reference", type=Path, help="final engine: the approved preview PNG to re-render")
    ai.add_argument("--steps", type=int, help="denoising steps (default: the tier's)")
    ai.add_argument("--creativity", type=_creativity, help="0..1, how far the AI may depart from the map; or 'auto'")
    ai.add_argument("--prompt-extra", default="", help="text added to the style's prompt")
    ai.add_argument("--guide", choices=["auto", "img2img", "controlnet"], default="auto",
                    help="preview from the painting (img2img) or from the structure image (controlnet)")  # fmt: skip
    ai.add_argument("--final-model", metavar="MODEL[:VARIANT]",
                    help="final engine: another final model, e.g. flux2-klein-9b (see `mapbrush doctor`)")  # fmt: skip
    ai.add_argument("--lora", action="append", default=[], metavar="PATH_OR_ID[:WEIGHT]",
                    help="a .safetensors LoRA (or an imported one's id, see `models loras`) for the engine "
                    "named by --engine (auto: either), weight 1 unless given; "
                    "repeatable, on top of the style's own")  # fmt: skip
    ai.add_argument("--upscale", choices=["auto", "on", "off"], default="auto",
                    help="repaint a large export in tiles at the model's resolution, guided by the full-size "
                    "painting (auto: when it is over 1.5x the AI picture; off: plain enlargement)")  # fmt: skip
    ai.add_argument("--tier", help="override the GPU tier (see `mapbrush doctor`)")
    ai.add_argument("--models-dir", type=Path, help="models folder (also env MAPBRUSH_MODELS_DIR)")
    from app.cli_comfyui import add_backend_options

    add_backend_options(ai)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog=PROG, description="Turn map data into finished map art.")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    p.add_argument("--models-dir", dest="global_models_dir", type=Path,
                   help="models folder for every command (also env MAPBRUSH_MODELS_DIR)")  # fmt: skip
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser("render", help="render map files to a PNG (or JPEG, WebP)")
    r.add_argument("inputs", nargs="*", type=Path, help="GeoJSON, GPX, KML/KMZ, Shapefile, GeoPackage, FlatGeobuf, OSM")
    r.add_argument("--example", action="store_true", help="render the bundled example harbour town")
    r.add_argument("-o", "--output", type=Path,
                   help="output .png, .jpg, .webp, .svg or .pdf (default: <first input>-<style>.png)")  # fmt: skip
    add_render_options(r)
    from app.cli_repaint import add_repaint_options

    add_repaint_options(r)

    b = sub.add_parser("batch", help="render many map files: one map each (or per folder or day), and index.png")
    b.add_argument("inputs", nargs="+", type=Path, metavar="FILES_OR_FOLDERS",
                   help="map files, or folders to search for them")  # fmt: skip
    b.add_argument("--out", type=Path, required=True, help="folder for the maps and index.png (made if missing)")
    b.add_argument("--group-by", choices=["folder", "day"],
                   help="a map per folder, or per day of the GPX tracks' first times (default: per file)")  # fmt: skip
    add_render_options(b, single=False)

    f = sub.add_parser("fetch", help="fetch a place's OpenStreetMap data to an .osm file (cached, reusable offline)")
    f.add_argument("-o", "--output", type=Path, help="output .osm (default: <place>.osm)")
    f.add_argument("--size", type=_size, default=None, help="the picture's WIDTHxHEIGHT the area is shaped for")
    _add_area_args(f, context=False)
    c = sub.add_parser("cache", help="show or clear the cache of fetched data")
    c.add_argument("action", choices=["info", "clear"])
    c.add_argument("--json", action="store_true")

    i = sub.add_parser("inspect", help="describe map files, or the metadata of a picture MapBrush wrote")
    i.add_argument("files", nargs="+", type=Path)
    i.add_argument("--json", action="store_true")

    s = sub.add_parser("styles", help="list the styles")
    s.add_argument("--styles-dir", type=Path, help="folder of user style files")
    s.add_argument("--json", action="store_true")
    s_sub = s.add_subparsers(dest="styles_command", metavar="ACTION")
    fi = s_sub.add_parser("from-image", help="save a style in the colours of a picture (a painting, a photo)")
    fi.add_argument("image", type=Path, help="the picture whose colours to take")
    fi.add_argument("--name", required=True, help="the new style's id (lowercase letters, digits, - and _)")
    fi.add_argument("--base", default="watercolor", help="the style to start from (default: watercolor)")
    fi.add_argument("--styles-dir", type=Path, default=argparse.SUPPRESS,
                    help="folder to save it in (default: the user styles folder)")  # fmt: skip
    g = sub.add_parser("gui", help="open the MapBrush window (the default with no command)")
    g.add_argument("files", nargs="*", type=Path, help="map files (or a MapBrush PNG) to open")
    g.add_argument("--screenshot", type=Path, help="save a screenshot of the window once the sketch shows, then exit")

    from app.cli_models import add_parsers
    from app.cli_workflow import add_parser as add_workflow_parser

    add_parsers(sub)
    add_workflow_parser(sub)
    return p


class _TerminalProgress:
    """One updating line on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.t0 = time.monotonic()

    def __call__(self, ev: ProgressEvent) -> None:
        if not self.enabled:
            return
        pct = int(ev.fraction * 100)
        line = f"\r{ev.stage:>9} {pct:3d}%  {ev.message[:50]:<50} {time.monotonic() - self.t0:5.1f}s"
        sys.stderr.write(line)
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 80 + "\r")
            sys.stderr.flush()


def render_request(args, inputs: list[Path]):
    """The RenderRequest of `render`'s (and `batch`'s) options (add_render_options) for these inputs."""
    from app.jobs.render import DEFAULT_SIZE, RenderRequest
    from app.mapdata.model import Kind
    from app.paths import user_styles_dir

    kinds = args.layers.kinds if args.layers else None
    labels = not args.no_labels
    imagery = args.layers.imagery if args.layers else True  # --layers draws the pictures only when named
    if args.hide:
        kinds = (kinds or frozenset(Kind)) - args.hide.kinds
        labels = labels and not args.hide.labels  # --hide labels
        imagery = imagery and not args.hide.imagery  # --hide imagery (pictures, overlays, images)
    paper = paper_of(args)
    req = RenderRequest(
        inputs=inputs,
        style=args.style,
        size=paper.size if paper else args.size or DEFAULT_SIZE,
        engine=args.engine,
        title="" if args.no_title else args.title,
        subtitle="" if args.no_subtitle else args.subtitle,
        seed=args.seed,
        margin=paper.margin(args.margin) if paper else args.margin,
        rotation=args.rotation,
        dpi=round(paper.dpi, 2) if paper else args.dpi,
        frame=getattr(args, "frame", None),
        kinds=kinds,
        labels=labels,
        imagery=imagery,
        scale_bar=not args.no_scale_bar,
        north_arrow=not args.no_north_arrow,
        profile=not args.no_profile,
        place=args.place,
        bbox=args.bbox,
        radius_m=args.radius,
        context=args.context,
        terrain=args.terrain,
        user_styles_dir=args.styles_dir or user_styles_dir(),
        style_image=args.style_image,
        upscale=args.upscale,
    )
    if args.engine != "procedural":
        from app.cli_comfyui import backend_of

        req.ai = _ai_options(args)
        req.backend, req.comfyui = backend_of(args)
    elif args.reference:
        raise InputError("--reference is for the AI engines (use --engine final)")
    return req


def paper_of(args):
    """The PaperSize of --paper, --landscape, --dpi and --bleed; None without --paper."""
    if args.paper is None:
        if args.landscape or args.bleed:
            raise InputError(f"{'--landscape' if args.landscape else '--bleed'} goes with --paper")
        return None
    from app.export.paper import DEFAULT_DPI, paper_name, paper_size, parse_length_mm

    if args.size is not None:
        raise InputError("give --paper or --size, not both")
    bleed = parse_length_mm(args.bleed) if args.bleed else 0.0
    return paper_size(paper_name(args.paper), args.dpi or DEFAULT_DPI, landscape=args.landscape, bleed_mm=bleed)


def cmd_render(args) -> int:
    from app.cli_repaint import cmd_repaint, wants_repaint
    from app.export.formats import VECTOR, check_output, format_of
    from app.jobs.render import render_to_file

    if wants_repaint(args):  # --repaint-from PICTURE --repaint-mask MASK: part of a picture painted again
        return cmd_repaint(args)

    inputs = list(args.inputs)
    if args.example:
        inputs = example_inputs() + inputs
    if args.context and not inputs:
        raise InputError("--context adds the landscape around map files: give files (or use --place or --bbox)")
    if not inputs and not (args.place or args.bbox):
        raise InputError('no input files given (try `mapbrush render --example`, or --place "a town")')
    if args.place and args.bbox:
        raise InputError("give --place or --bbox, not both")
    if args.radius and args.bbox and not inputs:
        raise InputError("--radius goes with --place or --context; a --bbox is its own area")
    for path in inputs:  # every input error is found before any work starts
        check_map_file(path)
    out = args.output or Path(f"{_default_stem(inputs, args.place)}-{args.style}.png")
    check_output(out, inputs)
    fmt = format_of(out)
    if args.world_file and fmt in VECTOR:
        raise InputError(f"--world-file goes beside a PNG, JPEG or WebP picture, not a {fmt}", path=out)
    if args.vector_plain and fmt not in VECTOR:
        raise InputError("--vector-plain is for .svg and .pdf output", path=out)
    paper = paper_of(args)
    paper_meta = {"paper": paper.metadata()} if paper else None
    req = render_request(args, inputs)
    engines = None
    if args.engine != "procedural" and req.backend == "local":
        from app.jobs.ai import Engines

        engines = Engines(args.models_dir, args.tier)
    bar = _TerminalProgress()
    t0 = time.perf_counter()
    try:
        result = render_to_file(req, out, engines=engines, progress=Progress(bar), vector_plain=args.vector_plain,
                                world_file=args.world_file, metadata=paper_meta)  # fmt: skip
    finally:
        bar.done()
    total = time.perf_counter() - t0
    if paper is not None and paper.warning():
        result.warnings.insert(0, paper.warning())
    for w in result.warnings:
        print(f"{PROG}: warning: {w}", file=sys.stderr)
    if args.json:
        summary = {
            "output": str(out),
            "seconds": round(total, 3),
            "timings": {k: round(v, 3) for k, v in result.timings.items()},
            "warnings": result.warnings,
            "metadata": result.metadata,
        }
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        w, h = req.size
        fid = result.metadata.get("fidelity")
        extra = f", engine {result.engine}" + (f", map fidelity {fid:.2f}" if fid is not None else "")
        print(f"wrote {out} ({w}x{h}, style {req.style}, seed {result.metadata.get('seed')}{extra}) in {total:.1f}s")
    return 0


def _ai_options(args):
    from app.jobs.ai import AIOptions

    reference = reference_meta = None
    if args.reference:
        from app.export.png import read_rgb

        reference = read_rgb(args.reference)
        reference_meta = _png_metadata(args.reference)
    if args.steps is not None and not 1 <= args.steps <= 100:
        raise InputError(f"--steps {args.steps} is out of range (1 to 100)")
    auto = args.creativity == "auto"
    return AIOptions(
        steps=args.steps,
        creativity=None if auto else args.creativity,
        auto_creativity=auto,
        prompt_extra=args.prompt_extra,
        guide=args.guide,
        final_model=args.final_model or None,
        loras=_cli_loras(args),
        reference=reference,
        reference_metadata=reference_meta,
    )


def _cli_loras(args) -> tuple:
    """--lora PATH[:WEIGHT]: each for the stage --engine names (with auto, any AI stage that runs)."""
    from dataclasses import replace

    from app.inference.lora import parse_cli, resolved

    engine = args.engine if args.engine in ("preview", "final") else None
    specs = [parse_cli(text) for text in getattr(args, "lora", None) or ()]
    models_dir = getattr(args, "models_dir", None)  # an id (imported LoRA, hub:…) is looked up there
    return tuple(replace(resolved(spec, models_dir), engine=engine) for spec in specs)


def _png_metadata(path: Path) -> dict | None:
    """The `mapbrush` metadata of a PNG MapBrush wrote; None for any other image (its pixels are used as they are)."""
    from app.export.png import read_metadata

    try:
        return read_metadata(path)
    except (OSError, InputError):  # not a PNG, or unreadable metadata
        return None


def check_map_file(path: Path) -> None:
    """The checks `render` and `inspect` share, before any work: the file is there, is a file, can be read, and
    is a map file we read (or, for `inspect`, a picture)."""
    from app.export.formats import is_picture
    from app.mapdata.sniff import read_head, sniff

    if not is_picture(read_head(path, 12)):
        sniff(path)


def _inspect_one(path: Path) -> dict:
    from app.export.formats import is_picture, read_metadata
    from app.mapdata.sniff import read_head

    head = read_head(path, 12)
    if is_picture(head):
        fmt = "png" if head.startswith(b"\x89PNG") else "jpeg" if head.startswith(b"\xff\xd8") else "webp"
        return {"file": str(path), "format": fmt, "mapbrush": read_metadata(path)}
    from app.jobs.render import RenderRequest, load, titles_for

    data = load([path])
    src = data.sources[0] if data.sources else None
    title, subtitle = titles_for(RenderRequest([path]), data)  # what a render draws by default
    return {
        "file": str(path),
        "format": src.format if src else "unknown",
        "crs": src.crs if src else None,
        "features": len(data),
        "pictures": len(data.rasters),  # GroundOverlay images (the imagery layer), not features
        "dropped": src.dropped if src else 0,
        "kinds": data.counts(),
        "bounds": data.bounds(),
        "extent": data.extent,
        "title": title,
        "subtitle": subtitle,
        "warnings": data.warnings,
    }


def _print_inspect(info: dict) -> None:
    print(info["file"])
    if "mapbrush" in info:
        meta = info["mapbrush"]
        if meta is None:
            print(f"  a {info['format'].upper()} picture without MapBrush metadata")
            return
        for key in ("version", "style", "engine", "seed", "size", "title", "subtitle", "crs", "bounds"):
            if key in meta:
                print(f"  {key:<9} {meta[key]}")
        for inp in meta.get("inputs", []):
            print(f"  input     {inp.get('name')} (sha256 {str(inp.get('sha256'))[:12]}…)")
        return
    print(f"  format    {info['format']}")
    print(f"  crs       {info['crs']}")
    print(f"  features  {info['features']}" + (f" ({info['dropped']} dropped)" if info["dropped"] else ""))
    for kind, n in info["kinds"].items():
        print(f"    {kind:<12} {n}")
    if info["pictures"]:
        print(f"  pictures  {info['pictures']} (GroundOverlay images: the imagery layer)")
    if info["bounds"]:
        b = info["bounds"]
        print(f"  bounds    lon {b[0]:.5f} … {b[2]:.5f}, lat {b[1]:.5f} … {b[3]:.5f}")
    if info["title"]:
        print(f"  title     {info['title']}")
    if info["subtitle"]:
        print(f"  subtitle  {info['subtitle']}")
    for w in info["warnings"]:
        print(f"  warning   {w}")


def cmd_inspect(args) -> int:
    for path in args.files:
        check_map_file(path)
    infos = [_inspect_one(p) for p in args.files]
    if args.json:
        print(json.dumps(infos if len(infos) > 1 else infos[0], indent=2, ensure_ascii=False, default=str))
    else:
        for info in infos:
            _print_inspect(info)
    return 0


def cmd_styles(args) -> int:
    from app.paths import user_styles_dir
    from app.styles.catalog import load_styles

    if getattr(args, "styles_command", None) == "from-image":
        return cmd_style_from_image(args)
    styles = load_styles(args.styles_dir or user_styles_dir())
    if args.json:
        rows = [{"name": s.name, "title": s.title, "description": s.description} for s in styles.values()]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        width = max((len(n) for n in styles), default=8)
        for s in styles.values():
            print(f"{s.name:<{width}}  {s.description}")
    return 0


def cmd_style_from_image(args) -> int:
    from app.paths import user_styles_dir
    from app.styles.catalog import get_style
    from app.styles.palette_image import save_style, style_doc

    folder = args.styles_dir or user_styles_dir()
    doc = style_doc(get_style(args.base, folder), args.image, name=args.name)
    print(save_style(doc, folder))
    return 0


def _default_stem(inputs: list[Path], place: str | None) -> str:
    """The output's name without style: the first input's, else the place's ('kranjska-gora'), else 'area'."""
    if inputs:
        return inputs[0].name.split(".")[0]
    import re

    slug = re.sub(r"[^\w]+", "-", (place or "").split(",")[0].strip().lower()).strip("-")
    return slug or "area"


def cmd_fetch(args) -> int:
    """Fetch a place's (or a box's) OpenStreetMap data into the cache and copy it to -o, for use offline."""
    import shutil

    from app.jobs.render import DEFAULT_SIZE, RenderRequest
    from app.jobs.surroundings import fetch_area, resolve_area

    if not (args.place or args.bbox):
        raise InputError('say what to fetch: --place "a town" or --bbox W,S,E,N')
    if args.place and args.bbox:
        raise InputError("give --place or --bbox, not both")
    out = args.output or Path(f"{_default_stem([], args.place)}.osm")
    if out.suffix.lower() != ".osm":
        raise InputError("the fetched data is OSM XML: name the output .osm", path=out)
    req = RenderRequest([], size=args.size or DEFAULT_SIZE, place=args.place, bbox=args.bbox, radius_m=args.radius)
    bar = _TerminalProgress()
    try:
        area = resolve_area(req, progress=Progress(bar))
        data = fetch_area(area, progress=Progress(bar))
    finally:
        bar.done()
    src = data.sources[0]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    try:
        shutil.copyfile(src.path, tmp)
        tmp.replace(out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write the file ({e.strerror or e})", path=out) from None
    for w in data.warnings:
        print(f"{PROG}: warning: {w}", file=sys.stderr)
    size = out.stat().st_size
    b = area.bbox
    credit = f"{src.fetched['attribution']}, {src.fetched['license']}"
    print(f"wrote {out} ({size / 2**20:.1f} MiB, {len(data):,} features of {area.name}, box "
          f"{b[0]:.4f},{b[1]:.4f},{b[2]:.4f},{b[3]:.4f}; {credit})")  # fmt: skip
    return 0


def cmd_cache(args) -> int:
    from app.sources import SourceConfig
    from app.sources.cache import Cache

    config = SourceConfig.load()
    cache = Cache.from_config(config)
    if args.action == "clear":
        entries, size = cache.clear()
        what = f"{entries} cached entr{'y' if entries == 1 else 'ies'}"
        print(f"removed {what} ({size / 2**20:.1f} MiB) from {cache.root}")
        return 0
    entries, size = cache.info()
    if args.json:
        print(json.dumps({"folder": str(cache.root), "entries": entries, "bytes": size,
                          "max_age_days": config.max_age_s / 86400}, indent=2))  # fmt: skip
    else:
        print(f"cache     {cache.root}")
        print(f"entries   {entries} ({size / 2**20:.1f} MiB)")
        print(f"expiry    {config.max_age_s / 86400:g} days (MAPBRUSH_CACHE_MAX_AGE_DAYS)")
    return 0


def cmd_doctor(args) -> int:
    from app.cli_models import cmd_doctor as run

    return run(args)


def cmd_models(args) -> int:
    from app.cli_models import cmd_models as run

    return run(args)


def cmd_export_workflow(args) -> int:
    from app.cli_workflow import cmd_export_workflow as run

    return run(args)


def cmd_gui(args) -> int:
    import os

    headless = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if headless and not os.environ.get("QT_QPA_PLATFORM"):
        if not args.screenshot:
            raise AppError("no screen found (DISPLAY is not set); render from the command line instead: "
                           "mapbrush render --example -o harbour.png")  # fmt: skip
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
    from app.ui.platform_check import check_window

    check_window()  # X11: name the missing system libraries (exit 2) before Qt aborts with a misleading message
    try:
        from app.ui.app import run
    except ImportError as exc:
        raise AppError(
            f"the window needs PySide6, which could not be loaded ({exc}); "
            "install it with: pip install 'PySide6-Essentials>=6.8,<6.12' — or use `mapbrush render`"
        ) from None
    return run([str(f) for f in args.files], screenshot=str(args.screenshot) if args.screenshot else None)


def cmd_batch(args) -> int:
    from app.cli_batch import cmd_batch as run

    return run(args)


COMMANDS = {
    "gui": cmd_gui,
    "render": cmd_render,
    "batch": cmd_batch,
    "inspect": cmd_inspect,
    "styles": cmd_styles,
    "doctor": cmd_doctor,
    "models": cmd_models,
    "fetch": cmd_fetch,
    "cache": cmd_cache,
    "export-workflow": cmd_export_workflow,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere on the line, not only before the command
    argv = [a for a in argv if a != "--debug"]
    from app.startup import tune_memory

    tune_memory()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"{PROG}: error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    args.debug = debug
    if args.global_models_dir is not None:
        import os

        os.environ["MAPBRUSH_MODELS_DIR"] = str(args.global_models_dir)
    if not args.command:  # no command: the desktop window
        args = parser.parse_args(["gui"])
        args.debug = debug
    try:
        return COMMANDS[args.command](args)
    except Cancelled:
        print(f"{PROG}: cancelled", file=sys.stderr)
        return Cancelled.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: cancelled", file=sys.stderr)
        return Cancelled.exit_code
    except AppError as exc:
        if args.debug:
            raise
        print(f"{PROG}: error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except MemoryError:
        if args.debug:
            raise
        print(f"{PROG}: error: out of memory (try a smaller --size)", file=sys.stderr)
        return 4
    except Exception as exc:  # a bug: still one line unless --debug
        if args.debug:
            raise
        print(
            f"{PROG}: error: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
            file=sys.stderr,
        )
        return 1
