"""Read any GDAL vector source through pyogrio's raw API (no geopandas, no pyarrow); GeoPackage and FlatGeobuf."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pyogrio
import pyogrio.errors
import shapely
from pyogrio import raw as ogr_raw

from app.errors import InputError
from app.jobs.cancel import NEVER
from app.jobs.progress import NULL_PROGRESS
from app.mapdata.limits import DEFAULT_LIMITS, Limits
from app.mapdata.readers import RawFeatures
from app.mapdata.reproject import to_lonlat

OGR_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FieldError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.CRSError,
    RuntimeError,
    ValueError,
    OSError,
    TypeError,
)


def ignore_gdal_warnings() -> None:
    """GDAL reports recoverable trouble as Python warnings from pyogrio; we report problems ourselves."""
    warnings.filterwarnings("ignore", module=r"pyogrio(\..*)?")
    # Attributed to our call, not to pyogrio: a file sniffed as GeoJSON that GDAL opens with a many-layer driver.
    warnings.filterwarnings("ignore", message="More than one layer found", category=UserWarning)


ignore_gdal_warnings()


_GDAL_ADVICE = ("It might help", "Try ", "You might", "Consider ")


def _gdal_problem(e: Exception) -> str:
    """GDAL's message, cut to what helps a person: no path echo, no driver advice, one short clause."""
    text = " ".join(str(e).split()) or type(e).__name__
    for advice in _GDAL_ADVICE:
        cut = text.find(advice)
        if cut > 0:
            text = text[:cut]
    text = text.split(" ; ")[0].strip().rstrip(".;:, ")
    if ": " in text and "/" in text.split(": ")[0]:  # "/path/to/file.geojson: message" → "message"
        text = text.split(": ", 1)[1]
    return text[:160] or type(e).__name__


def _plain(v) -> str:
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def _list_text(items: list) -> str:
    """A list property as one text, items joined by "; " like OSM's multi-value tags: ["x", "y"] → "x; y"."""
    return "; ".join(_plain(v) for v in items)


def _json_text(text: str) -> str:
    """An array or object GDAL hands over as JSON text (from a GeoJSON property): arrays → "x; y", objects compact."""
    try:
        v = json.loads(text)
    except ValueError:
        return text
    return _list_text(v) if isinstance(v, list) else _plain(v)


def _props_from_columns(names, columns, n: int, json_fields=()) -> list[dict]:
    """Columns → one dict per row of plain Python values, leaving out empty ones (None, NaN, NaT, "", []).

    List fields (numpy arrays per row) and JSON fields (`json_fields`) become text: a property is a tag, not a table.
    """
    props: list[dict] = [{} for _ in range(n)]
    for name, col in zip(names, columns):
        col = np.asarray(col)
        if col.dtype.kind == "f":
            present = ~np.isnan(col)
        elif col.dtype.kind == "M":
            present = ~np.isnat(col)
            col = col.astype(str)
        elif col.dtype == object:
            is_json = name in json_fields
            values = col.tolist()
            for i in [i for i, v in enumerate(values) if v is not None]:  # most tags are on few features
                v = _object_value(values[i], is_json)
                if v is not None and v != "":
                    props[i][name] = v
            continue
        else:
            present = np.ones(n, bool)
        idx = np.flatnonzero(present)
        for i, v in zip(idx.tolist(), col[idx].tolist()):
            props[i][name] = v
    return props


def _object_value(v, is_json: bool):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray):  # an IntegerList, RealList or StringList field
        return _list_text(v.tolist())
    if is_json and isinstance(v, str) and v.startswith(("[", "{")):
        return _json_text(v)
    return v


def list_layers(path, *, shown=None) -> list[str]:
    shown = shown or path
    try:
        layers = pyogrio.list_layers(str(path))
        return [str(name) for name, gtype in layers if gtype is not None]
    except OGR_ERRORS as e:
        raise InputError(f"the file is corrupt or cannot be read ({_gdal_problem(e)})", path=shown) from None


def read_layer(
    path,
    layer=None,
    *,
    limits: Limits = DEFAULT_LIMITS,
    shown=None,
    budget: int | None = None,
    count_first=True,
    open_options: dict | None = None,
) -> RawFeatures:
    """One layer as RawFeatures in its own CRS (`path` may be the file's bytes). `shown` is the path named in errors
    (e.g. the zip, not its member).

    count_first=False skips the counting pass (for drivers that parse the whole file on open, like GeoJSON).
    open_options: GDAL open options of the driver (e.g. GeoJSON's ARRAY_AS_STRING).
    """
    opts = open_options or {}
    shown = shown or path
    budget = limits.max_features if budget is None else budget
    try:
        # Count first: pyogrio preallocates `max_features` rows, so only pass it the real count (+1: reading
        # past the last feature is what makes pyogrio report GDAL errors on records it could not read).
        count = -1
        if count_first:
            count = pyogrio.read_info(str(path), layer=layer, force_feature_count=True, **opts)["features"]
        if count > budget:
            raise InputError(f"the file has more than {limits.max_features:,} features", path=shown)
        limit = count + 1 if count >= 0 else None
        src = path if isinstance(path, bytes) else str(path)  # bytes: a document in memory
        meta, _fids, wkb, columns = ogr_raw.read(src, layer=layer, max_features=limit, **opts)
        with np.errstate(invalid="ignore"):  # NaN coordinates: clean_geometries drops them, and names them
            geoms = shapely.from_wkb(wkb, on_invalid="fix") if len(wkb) else np.empty(0, object)
    except OGR_ERRORS as e:
        raise InputError(f"the file is corrupt or cannot be read ({_gdal_problem(e)})", path=shown) from None
    except UnboundLocalError:  # pyogrio 0.13 get_crs, after a CRS text (a .prj) that is not UTF-8 failed to decode
        raise InputError("the file's coordinate system (.prj) is corrupt or not UTF-8 text", path=shown) from None
    except shapely.errors.GEOSException as e:
        raise InputError(f"the file holds broken geometry ({_gdal_problem(e)})", path=shown) from None
    if len(geoms) > budget:
        raise InputError(f"the file has more than {limits.max_features:,} features", path=shown)
    geoms = np.asarray(geoms, dtype=object)
    subtypes = meta.get("ogr_subtypes") or []
    json_fields = {f for f, sub in zip(meta["fields"], subtypes) if sub == "OFSTJSON"}
    props = _props_from_columns(meta["fields"], columns, len(geoms), json_fields)
    return RawFeatures(geoms, props, meta.get("crs"))


def read_all_layers(
    path, *, limits: Limits = DEFAULT_LIMITS, progress=NULL_PROGRESS, cancel=NEVER, shown=None, skip=()
) -> list[tuple[str, RawFeatures]]:
    layers = [name for name in list_layers(path, shown=shown) if name not in skip]
    out, total = [], 0
    for i, name in enumerate(layers):
        cancel.check()
        progress("read", i, len(layers), f"layer {name}")
        raw = read_layer(path, name, limits=limits, shown=shown, budget=limits.max_features - total)
        total += len(raw)
        out.append((name, raw))
    return out


def read_ogr(path, *, limits: Limits = DEFAULT_LIMITS, progress=NULL_PROGRESS, cancel=NEVER) -> RawFeatures:
    """Every layer of a GeoPackage, FlatGeobuf or other GDAL source, reprojected per layer when CRSs differ."""
    parts = [raw for _, raw in read_all_layers(path, limits=limits, progress=progress, cancel=cancel)]
    if len({p.crs for p in parts}) > 1:
        parts = [to_lonlat(p, path) for p in parts]
    return RawFeatures.concat(parts)


read_gpkg = read_ogr
read_fgb = read_ogr
