"""Paint it like this picture (issue 16): a palette from a painting, a style from that palette, and the palette
transfer the AI preview stage applies to its sketch.

    colours = extract_colours(load_image(path))           # dominant colours, in CIE L*a*b*, with their shares
    roles = assign_roles(colours)                         # paper, ink, water, land, park, ... as '#rrggbb'
    style = style_from_image(get_style("watercolor"), path)     # the base style painted in those colours
    save_style(style_doc(base, path, name="my-style"), user_styles_dir())  # a user style TOML
    sketch = transfer_palette(sketch, image)              # the preview stage, before img2img (jobs/render.py)

The roles are chosen so a map stays legible whatever the picture: ink differs from paper by at least
INK_CONTRAST in L* (the line-contrast bar of tests/legibility.py has 30), and land and water by at least
LAND_SEA_DELTA_E (the bar there is 15 ΔE); a picture without blue gets a cool tint derived from its paper,
one without green a green derived from it. Every other colour of the base style is moved by the offset its
nearest role got, so a style's extra colours (a blueprint's casing, a fantasy map's gold) follow the picture.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from app.errors import InputError
from app.styles.canvas import parse_colour

SAMPLE = 96  # the picture is downsampled to this long side before clustering
CLUSTERS = 8
MERGE_DELTA_E = 10.0  # clusters nearer than this are one colour
INK_CONTRAST = 50.0  # L* between paper and ink (the legibility bar is 30; the line art is thin and soft)
PAPER_CHROMA = 18.0  # a paper is pale: a saturated picture's lightest colour is toned down to this chroma
LAND_SEA_DELTA_E = 28.0  # between land (and area) and water (the bar is 15 on the render, after washes blend)
WATER_DEPTH = 42.0  # at most this far in L* from the paper: the title and labels are drawn over water
WEIGHTED = ("roads", "major_roads")  # roles whose weight against the paper the base style sets (_keep_weight)
ROLES = ("paper", "ink", "water", "land", "park", "forest", "building", "roads", "major_roads", "track")
# palette keys of the builtin styles that are a role under another name
ALIASES = {
    "sea": "water", "waterway": "water", "cyan": "water",
    "green": "park", "tree": "forest",
    "minor_roads": "roads", "secondary": "roads", "rail": "roads",
    "motorway": "major_roads", "primary": "major_roads",
    "background": "paper",
}  # fmt: skip


# ---- colour spaces ----

_M = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
_WHITE = np.array([0.95047, 1.0, 1.08883])


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in 0..255 (…x3) → CIE L*a*b* (D65), L* in 0..100."""
    c = np.asarray(rgb, np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = lin @ _M.T / _WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (…x3) → sRGB float in 0..255, clipped to the gamut."""
    lin = np.clip(_linear(lab), 0, 1)
    c = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)
    return np.clip(c * 255, 0, 255)


def _linear(lab: np.ndarray) -> np.ndarray:
    """CIE L*a*b* → linear RGB, not clipped (outside 0..1: out of the sRGB gamut)."""
    lab = np.asarray(lab, np.float64)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _WHITE
    return xyz @ np.linalg.inv(_M).T


def into_gamut(lab: np.ndarray, steps: int = 8) -> np.ndarray:
    """`lab` with the chroma of out-of-gamut colours reduced until they fit sRGB, their lightness and hue kept
    (clipping RGB instead would shift their lightness)."""
    lab = np.array(lab, np.float64)
    lin = _linear(lab)
    bad = ((lin < -1e-6) | (lin > 1 + 1e-6)).any(-1)
    if not bad.any():
        return lab
    sub = lab[bad]
    lo, hi = np.zeros(len(sub)), np.ones(len(sub))
    for _ in range(steps):  # bisect the chroma factor
        mid = (lo + hi) / 2
        test = np.column_stack([sub[:, 0], sub[:, 1:] * mid[:, None]])
        x = _linear(test)
        ok = ((x >= -1e-6) & (x <= 1 + 1e-6)).all(-1)
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    sub[:, 1:] *= lo[:, None]
    lab[bad] = sub
    return lab


def hex_to_lab(colour: str) -> np.ndarray:
    return rgb_to_lab(parse_colour(colour)[:3].astype(np.float64) * 255)


def lab_to_hex(lab: np.ndarray) -> str:
    return "#" + "".join(f"{round(float(c)):02x}" for c in lab_to_rgb(into_gamut(lab)))


def delta_e(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


# ---- the picture ----


def load_image(path: Path) -> np.ndarray:
    """The picture at `path` as RGB uint8 (HxWx3); a file that is not a picture is an InputError naming it."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            return np.asarray(im.convert("RGB"))
    except FileNotFoundError:
        raise InputError("no such style image", path=str(path)) from None
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        problem = "not a picture MapBrush can read" if isinstance(e, UnidentifiedImageError) else str(e)
        raise InputError(f"style image: {problem}", path=str(path)) from None


def image_info(path: Path) -> dict:
    """What the metadata records of a style image: its file name and sha256."""
    return {"name": Path(path).name, "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}


def extract_colours(image: np.ndarray, k: int = CLUSTERS, seed: int = 0) -> list[tuple[np.ndarray, float]]:
    """The picture's dominant colours: k-means (k-means++ start, fixed seed) in L*a*b* on a downsampled copy.
    Returns (lab, share) pairs, the largest share first; clusters that end up empty are dropped."""
    im = Image.fromarray(np.asarray(image, np.uint8)[..., :3])
    im.thumbnail((SAMPLE, SAMPLE), Image.Resampling.BOX)
    pts = rgb_to_lab(np.asarray(im).reshape(-1, 3))
    rng = np.random.default_rng(seed)
    centres = [pts[rng.integers(len(pts))]]
    for _ in range(1, min(k, len(pts))):  # k-means++: far points are likelier seeds
        d = np.min(((pts[:, None] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        if d.sum() <= 1e-9:
            break
        centres.append(pts[rng.choice(len(pts), p=d / d.sum())])
    c = np.array(centres)
    for _ in range(25):
        label = np.argmin(((pts[:, None] - c[None]) ** 2).sum(-1), axis=1)
        new = np.array([pts[label == i].mean(0) if (label == i).any() else c[i] for i in range(len(c))])
        if np.allclose(new, c, atol=0.05):
            break
        c = new
    label = np.argmin(((pts[:, None] - c[None]) ** 2).sum(-1), axis=1)
    shares = np.bincount(label, minlength=len(c)) / len(pts)
    found = [(c[i], float(shares[i])) for i in np.argsort(-shares) if shares[i] > 0]
    return _merge_close(found)


def _merge_close(colours: list[tuple[np.ndarray, float]], within: float = MERGE_DELTA_E):
    """Clusters nearer than `within` ΔE merged (share-weighted): k-means splits one flat colour in several."""
    colours = list(colours)
    while len(colours) > 1:
        pairs = [(delta_e(a[0], b[0]), i, j) for i, a in enumerate(colours) for j, b in enumerate(colours) if i < j]
        d, i, j = min(pairs)
        if d >= within:
            break
        (a, sa), (b, sb) = colours[i], colours[j]
        colours[i] = ((a * sa + b * sb) / (sa + sb), sa + sb)
        del colours[j]
    return sorted(colours, key=lambda cs: -cs[1])


# ---- roles ----


def _chroma(lab) -> float:
    return float(np.hypot(lab[1], lab[2]))


def _hue_near(lab, degrees: float, width: float = 45.0) -> float:
    """How saturated `lab` is towards hue `degrees` (0 away from it): chroma x closeness of hue."""
    hue = np.degrees(np.arctan2(lab[2], lab[1])) % 360
    off = abs((hue - degrees + 180) % 360 - 180)
    return _chroma(lab) * max(0.0, 1 - off / width)


def _mix(a, b, t: float) -> np.ndarray:
    return np.asarray(a) * (1 - t) + np.asarray(b) * t


def _pick(colours, score, minimum: float):
    best = max(colours, key=lambda cs: score(cs[0]) * (0.5 + min(cs[1], 0.5)), default=None)
    return best[0] if best is not None and score(best[0]) >= minimum else None


def assign_roles(
    colours: list[tuple[np.ndarray, float]], *, dark: bool = False, contrast: float = INK_CONTRAST
) -> dict[str, str]:
    """The roles of a palette (ROLES, as '#rrggbb') from a picture's colours (extract_colours). The paper is the
    lightest large colour, or with `dark` (a dark style such as noir) the darkest one; the ink differs from it by
    at least `contrast` in L* (a style whose lines are fine asks for more)."""
    large = [c for c, share in colours if share >= 0.15] or [colours[0][0]]
    paper = (min if dark else max)(large, key=lambda c: c[0]).copy()
    if dark and paper[0] > 35:  # a dark style keeps its dark page, in the picture's hue
        paper[0] = 16.0
    elif 35 < paper[0] < 70:  # a mid-tone paper leaves no room for ink: lighten it
        paper[0] = 78.0
    dark_page = paper[0] < 35
    if not dark_page:  # a paper is pale: at most PAPER_CHROMA, and light
        paper[0] = max(paper[0], 84.0)
    c = _chroma(paper)
    if c > PAPER_CHROMA:
        paper[1:] *= PAPER_CHROMA / c
    step = -1 if not dark_page else 1  # from the paper towards the ink
    water = _pick(colours, lambda c: max(_hue_near(c, 250, 60), _hue_near(c, 215, 40)), 10)
    if water is None:  # a cool tint of the paper
        water = np.array([paper[0] + (6 if dark_page else -16), 0.3 * paper[1] - 6, 0.3 * paper[2] - 24])
    green = _pick(colours, lambda c: _hue_near(c, 135, 45), 10)
    if green is None:  # a green tinted by the paper
        green = np.array([paper[0] + 12 * step, 0.3 * paper[1] - 26, 0.3 * paper[2] + 20])
    park = green.copy()
    # ink: the most contrasting colour other than the water, pushed to INK_CONTRAST when none is that far
    others = [c for c, _ in colours if delta_e(c, water) > 1] or [colours[0][0]]
    ink = max(others, key=lambda c: abs(c[0] - paper[0])).copy()
    if abs(ink[0] - paper[0]) < contrast:
        ink[0] = paper[0] - contrast if not dark_page else paper[0] + contrast
    if abs(water[0] - paper[0]) > WATER_DEPTH:  # labels and lines must still read on the water
        water[0] = paper[0] + WATER_DEPTH * step
    for over, apart in ((water, 30), (park, 15)):  # lines, labels and the title must read over water and parks
        if abs(ink[0] - over[0]) < apart or delta_e(ink, over) < 20:
            ink[0] = over[0] + max(apart, 20) * step
    ink[0] = float(np.clip(ink[0], 4, 98))
    if abs(ink[0] - paper[0]) < contrast:  # clipped: move the paper instead (as far as it can go)
        paper[0] = float(np.clip(ink[0] - contrast if dark_page else ink[0] + contrast, 0, 100))
    earth = _pick(colours, lambda c: _hue_near(c, 70, 40), 8)
    land = _mix(paper, earth if earth is not None else paper + np.array([step * 4, 2, 10]), 0.35)
    warm = _pick(colours, lambda c: max(_hue_near(c, 40, 50), _hue_near(c, 0, 40)), 25)
    track = (warm if warm is not None else np.array([48.0, 58.0, 38.0])).copy()
    if abs(track[0] - paper[0]) < 25:
        track[0] = paper[0] + 30 * step
    for _ in range(30):  # land (and the paper-like areas) and water must tell apart: more colour, then depth
        if min(delta_e(land, water), delta_e(paper, water)) >= LAND_SEA_DELTA_E:
            break
        hue = water[1:] / (np.linalg.norm(water[1:]) or 1.0) if _chroma(water) > 5 else np.array([-0.25, -0.97])
        water[1:] += 3.0 * hue
        if abs(water[0] - paper[0]) < WATER_DEPTH:
            water[0] += 1.5 * step
    forest = park + np.array([step * 8.0, 0, 0])
    roles = {
        "paper": paper, "ink": ink, "water": water, "land": land, "park": park, "forest": forest,
        "building": _mix(paper, earth if earth is not None else ink, 0.25),
        "roads": _mix(paper, ink, 0.35), "major_roads": _mix(_mix(paper, ink, 0.35), track, 0.45), "track": track,
    }  # fmt: skip
    return {k: lab_to_hex(v) for k, v in roles.items()}


def derive_palette(base: dict[str, str], roles: dict[str, str]) -> dict[str, str]:
    """`base` (a style's palette) in the picture's colours: a role key (or an alias of one) takes the role's
    colour; any other key moves by the offset of the role nearest to it in the base palette."""
    base_roles = {}
    for key, value in base.items():
        role = key if key in roles else ALIASES.get(key)
        if role is not None:
            base_roles.setdefault(role, hex_to_lab(base.get(role, value)))
    out = {}
    for key, value in base.items():
        role = key if key in roles else ALIASES.get(key)
        if role is not None:
            out[key] = _keep_weight(roles[role], value, base, roles) if role in WEIGHTED else roles[role]
            continue
        lab = hex_to_lab(value)
        near = min(base_roles, key=lambda r: delta_e(base_roles[r], lab), default=None)
        out[key] = value if near is None else lab_to_hex(lab + hex_to_lab(roles[near]) - base_roles[near])
    if "paper" not in out and "background" not in out:
        out["paper"] = roles["paper"]
    return out


def _keep_weight(colour: str, base_colour: str, base: dict[str, str], roles: dict[str, str]) -> str:
    """`colour` at the lightness that puts it as far from the new paper (towards the ink) as `base_colour` sits from
    the base's, in L* or as a share of the way to the ink, whichever is more: noir's light streets on its dark page
    stay light on the new dark page, a parchment's dark ones stay dark."""
    page = base.get("paper", base.get("background"))
    if page is None or "ink" not in base:
        return colour
    p0, i0, c0 = (hex_to_lab(c)[0] for c in (page, base["ink"], base_colour))
    if abs(i0 - p0) < 10:
        return colour
    t = float(np.clip((c0 - p0) / (i0 - p0), 0.0, 1.0))
    p1, i1 = hex_to_lab(roles["paper"])[0], hex_to_lab(roles["ink"])[0]
    lab = hex_to_lab(colour)
    far = min(max(t * abs(i1 - p1), abs(c0 - p0)), abs(i1 - p1))  # as far in L* as in the base, if the ink allows
    lab[0] = p1 + far * np.sign(i1 - p1)
    return lab_to_hex(lab)


# ---- styles ----


def style_doc(base, image_path: Path, *, name: str, title: str | None = None) -> dict:
    """A user style document (as a TOML file holds it) for `base` (a Style) in the colours of the picture."""
    from app.styles.catalog import builtin_dir

    page = hex_to_lab(base.palette.get("paper", base.palette.get("background", "#ffffff")))[0]
    weight = abs(hex_to_lab(base.palette.get("ink", "#000000"))[0] - page)  # the base's ink against its paper
    contrast = min(max(INK_CONTRAST, 0.9 * weight), 80.0)
    roles = assign_roles(extract_colours(load_image(image_path)), dark=page < 40, contrast=contrast)
    src = Path(base.source) if base.source else None
    if src is not None and src.parent.resolve() == builtin_dir().resolve():
        doc: dict = {"base": base.name}
    else:  # a user style: its own document (a `base` in it still merges)
        import tomllib

        doc = tomllib.loads(src.read_text(encoding="utf-8")) if src is not None and src.is_file() else {}
    picture = Path(image_path).name
    doc.update(
        name=name,
        title=title or f"{base.title} like {picture}",
        description=f"{base.title} in the colours of {picture}.",
        palette=derive_palette(base.palette, roles),
    )
    typography = dict(doc.get("typography", {}))
    typography.update(
        title_color=roles["ink"], label_color=roles["ink"], ink=roles["ink"], halo_color=roles["paper"],
        cartouche_fill=roles["paper"],
    )  # fmt: skip
    doc["typography"] = typography
    return doc


def style_from_image(base, image_path: Path):
    """`base` (a Style) in the colours of the picture at `image_path`, in memory (same name)."""
    from app.styles.catalog import style_from_doc

    return style_from_doc(style_doc(base, image_path, name=base.name, title=base.title), Path(image_path))


def save_style(doc: dict, folder: Path) -> Path:
    """Write `doc` as <name>.toml in `folder` (made if missing); returns the path."""
    import tomli_w

    from app.styles.catalog import style_from_doc

    path = Path(folder) / f"{doc['name']}.toml"
    style_from_doc(doc, path)  # refuse a document the catalog would not load
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_bytes(tomli_w.dumps(doc).encode("utf-8"))
    tmp.replace(path)
    return path


# ---- the preview stage ----


def transfer_palette(sketch: np.ndarray, image: np.ndarray, *, strength: float = 0.8) -> np.ndarray:
    """The sketch (RGB uint8) with its colour statistics moved towards the image's (Reinhard: mean and spread
    per L*a*b* channel). Lightness contrast is never reduced (the map's lines and shapes must survive), and the
    sketch's darkest 5% (its ink) keeps its lightness, so img2img still sees the map.

    Where it plugs in: app/jobs/render.py, on the procedural sketch just before it goes to the preview stage's
    img2img (Z-Image has no image prompt), kept as stages["sketch_styled"]; the final stage (FLUX.2 Klein) is
    to take the picture itself as a second reference image instead.
    """
    src = rgb_to_lab(np.asarray(sketch)[..., :3])
    ref = rgb_to_lab(np.asarray(Image.fromarray(np.asarray(image, np.uint8)[..., :3]).resize((128, 128))))
    flat, rflat = src.reshape(-1, 3), ref.reshape(-1, 3)
    mu, sd = flat.mean(0), flat.std(0) + 1e-6
    rmu, rsd = rflat.mean(0), rflat.std(0) + 1e-6
    scale = rsd / sd
    scale[0] = np.clip(scale[0], 1.0, 1.5)  # keep (never lose) lightness contrast
    scale[1:] = np.clip(scale[1:], 0.5, 1.5)  # a wilder spread of colour falls out of the gamut
    lo, hi = np.percentile(flat[:, 0], [1, 99])
    scale[0] = min(scale[0], 96 / max(hi - lo, 1e-6))  # the lightness range must fit in 2..98, not clip
    rmu[0] = np.clip(rmu[0], 2 + (mu[0] - lo) * scale[0], 98 - (hi - mu[0]) * scale[0])
    out = (src - mu) * scale + rmu
    ink = src[..., 0] <= np.percentile(src[..., 0], 5)
    out[..., 0] = np.where(ink, np.minimum(out[..., 0], src[..., 0]), out[..., 0])
    out = _mix(src, out, float(np.clip(strength, 0, 1)))
    out[..., 0] = np.clip(out[..., 0], 0, 100)
    return np.round(lab_to_rgb(into_gamut(out))).astype(np.uint8)
