"""The streamed PNG encoder (app/export/pngencode.py): Pillow decodes the same pixels, the chunks are the ones Pillow
writes, the DPI is in pHYs, and no second full-size copy of the picture is made."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from app import parallel
from app.errors import InputError
from app.export import pngencode
from app.export.chunks import SIGNATURE
from app.export.png import read_metadata, read_rgb, write_png
from app.jobs.render import MAX_SIDE


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, each CRC checked."""
    assert data[:8] == SIGNATURE
    out, i = [], 8
    while i < len(data):
        (n,), ctype = struct.unpack(">I", data[i : i + 4]), data[i + 4 : i + 8]
        body, crc = data[i + 8 : i + 8 + n], struct.unpack(">I", data[i + 8 + n : i + 12 + n])[0]
        assert zlib.crc32(ctype + body) == crc, ctype
        out.append((ctype, body))
        i += 12 + n
    return out


def encode(pixels, info=(), dpi=None) -> bytes:
    f = io.BytesIO()
    pngencode.write_png_stream(f, pixels, info, dpi=dpi)
    return f.getvalue()


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im)


def painted(h: int, w: int, c: int = 3) -> np.ndarray:
    """Smooth ramps with noise: every filter byte value and wrap-around (0 - 255) occurs."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:h, 0:w]
    base = (x * 3 + y * 5)[..., None] + np.arange(c) * 40
    return ((base + rng.integers(-3, 4, (h, w, c))) % 256).astype(np.uint8)


@pytest.mark.parametrize(("shape", "band"), [((37, 53, 3), None), ((300, 101, 3), 2000), ((64, 33, 4), 500),
                                             ((20, 17), 100), ((1, 1, 3), None)])  # fmt: skip
def test_pillow_decodes_the_same_pixels(shape, band, monkeypatch):
    if band:  # several bands: the rows across a band's edge are filtered against the band above
        monkeypatch.setattr(pngencode, "BAND_BYTES", band)
    img = painted(*shape[:2], *(shape[2:] or (1,)))
    img = img[..., 0] if len(shape) == 2 else img
    assert np.array_equal(decode(encode(img)), img)


def test_a_view_that_is_not_contiguous_is_encoded_as_it_looks(monkeypatch):
    monkeypatch.setattr(pngencode, "BAND_BYTES", 3000)
    big = painted(90, 120, 4)
    view = big[5:85:2, 100:3:-3, :3]  # strided, reversed, channels cut
    assert np.array_equal(decode(encode(view)), view)


def test_the_chunks_are_the_ones_pillow_writes():
    img = painted(40, 30)
    info = PngInfo()
    info.add_itxt("mapbrush", '{"title": "Ærøskøbing"}')
    info.add_text("parameters", "watercolor, seed 1")
    info.add(b"mbIm", b"ref.webp\0RIFF")
    info.add(b"zzAf", b"after", after_idat=True)
    ours = [c for c in chunks(encode(img, info.chunks, dpi=300)) if c[0] != b"IDAT"]
    f = io.BytesIO()
    Image.fromarray(img).save(f, format="PNG", pnginfo=info, dpi=(300, 300))
    pillows = [c for c in chunks(f.getvalue()) if c[0] != b"IDAT"]
    assert ours == pillows
    assert [c[0] for c in ours] == [b"IHDR", b"iTXt", b"tEXt", b"mbIm", b"pHYs", b"zzAf", b"IEND"]


@pytest.mark.parametrize("dpi", [300, 72, 227.55, 1200])
def test_phys_holds_the_dpi(tmp_path, dpi):
    out = write_png(tmp_path / "map.png", painted(16, 16), {"app": "mapbrush"}, dpi=dpi)
    (phys,) = [body for ctype, body in chunks(out.read_bytes()) if ctype == b"pHYs"]
    x, y, unit = struct.unpack(">IIB", phys)
    assert unit == 1 and x == y == round(dpi / 0.0254)  # pixels per metre
    with Image.open(out) as im:
        assert im.info["dpi"] == pytest.approx((dpi, dpi), abs=0.02)
    assert read_metadata(out) == {"app": "mapbrush"}
    no_dpi = write_png(tmp_path / "screen.png", painted(16, 16), {})
    assert b"pHYs" not in [c[0] for c in chunks(no_dpi.read_bytes())]


@pytest.mark.parametrize("threads", [1, 3])
def test_no_second_full_size_copy_is_made(tmp_path, monkeypatch, threads):
    for name, value in (("BAND_BYTES", 128 * 1024), ("FEED_BYTES", 32 * 1024), ("IDAT_BYTES", 32 * 1024)):
        monkeypatch.setattr(pngencode, name, value)
    monkeypatch.setattr(parallel, "THREADS", threads)  # with several: a few bands deflating at once, no more
    img = painted(1024, 2048)  # 6 MiB
    view = img[:, ::-1]  # not contiguous: no whole-image (nor whole-band) contiguous copy is made of it either
    write_png(tmp_path / "warm.png", img[:16], {})  # imports and caches on the way are not the picture's
    tracemalloc.start()
    try:
        write_png(tmp_path / "map.png", view, {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < img.nbytes / 2  # a band of rows, zlib's own state (~0.3 MiB) and a chunk of output
    with Image.open(tmp_path / "map.png") as im:
        assert np.array_equal(np.asarray(im), view)
    parallel.shutdown()


@pytest.mark.parametrize("threads", [1, 4])
def test_the_pieces_deflated_apart_are_one_zlib_stream_as_small_as_one_deflate(monkeypatch, threads):
    """Bands deflated on several threads, each primed with the 32 KiB before it: zlib inflates the IDAT data as one
    stream (its Adler-32 checked) to the filtered rows, and the stream is within 1% of deflating it all at once."""
    monkeypatch.setattr(pngencode, "BAND_BYTES", 40_000)  # 30 pieces
    monkeypatch.setattr(parallel, "THREADS", threads)
    img = painted(400, 1000)
    data = encode(img)
    stream = b"".join(body for ctype, body in chunks(data) if ctype == b"IDAT")
    raw = zlib.decompress(stream)  # raises on a bad stream or a wrong Adler-32
    up = np.zeros((400, 3001), np.uint8)
    up[:, 0] = pngencode.UP
    up[:, 1:] = np.diff(img.reshape(400, 3000), axis=0, prepend=np.zeros((1, 3000), np.uint8))
    assert raw == up.tobytes()
    assert len(stream) <= 1.01 * len(zlib.compress(up.tobytes(), 1))
    assert np.array_equal(decode(data), img)
    parallel.shutdown()


def _header_only_png(path, w, h):
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    f = io.BytesIO()
    pngencode.chunk(f, b"IHDR", ihdr)
    pngencode.chunk(f, b"IDAT", zlib.compress(b"\0" * 64))
    pngencode.chunk(f, b"IEND")
    path.write_bytes(SIGNATURE + f.getvalue())
    return path


def test_read_rgb_takes_pictures_up_to_the_cap_and_refuses_larger_in_one_line(tmp_path, monkeypatch):
    edge = painted(2, MAX_SIDE)
    write_png(tmp_path / "edge.png", edge, {})
    assert np.array_equal(read_rgb(tmp_path / "edge.png"), edge)
    # a PNG over Pillow's decompression-bomb limit but within the cap is ours (16384² is 268 Mpx): read anyway
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    small = painted(40, 40)
    write_png(tmp_path / "small.png", small, {})
    assert np.array_equal(read_rgb(tmp_path / "small.png"), small)
    with pytest.raises(InputError) as err:
        read_rgb(_header_only_png(tmp_path / "wide.png", MAX_SIDE + 1, 2))
    assert f"image is too large ({MAX_SIDE + 1}x2; at most {MAX_SIDE} pixels a side)" in err.value.one_line()
    assert "\n" not in err.value.one_line()
