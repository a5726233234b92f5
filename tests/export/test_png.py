import json
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from app.errors import AppError, InputError
from app.export import png
from app.export.chunks import MAX_TEXT_BYTES, SIGNATURE
from app.export.metadata import build_metadata
from app.export.png import read_metadata, read_parameters, write_png

SHA = "ab" * 32


def _meta(**kw):
    args = dict(
        style="watercolor",
        engine="procedural",
        seed=42,
        size=(64, 48),
        inputs=[{"name": "town.osm.pbf", "sha256": SHA, "format": "osm-pbf"}],
        bounds=(10.0, 59.0, 10.05, 59.03),
        crs="EPSG:3857",
    )
    args.update(kw)
    return build_metadata(**args)


def _image(h=48, w=64, channels=3):
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (h, w, channels), dtype=np.uint8)


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_round_trip_metadata_and_pixels(tmp_path):
    meta = _meta(extra={"prompt": "a harbour town, watercolor", "models": [{"id": "z-image-turbo", "variant": "q8"}]})
    img = _image()
    out = write_png(tmp_path / "map.png", img, meta)
    assert out == tmp_path / "map.png"
    assert read_metadata(out) == meta
    with Image.open(out) as im:
        assert np.array_equal(np.asarray(im), img)
    assert _leftovers(tmp_path) == []


def test_rgba_and_pil_input(tmp_path):
    rgba = _image(channels=4)
    write_png(tmp_path / "a.png", rgba, _meta())
    with Image.open(tmp_path / "a.png") as im:
        assert im.mode == "RGBA"
        assert np.array_equal(np.asarray(im), rgba)
    write_png(tmp_path / "b.png", Image.fromarray(_image()), _meta())
    assert read_metadata(tmp_path / "b.png")["style"] == "watercolor"


def test_parameters_chunk_is_readable_by_pillow(tmp_path):
    meta = _meta(extra={"prompt": "a harbour town", "steps": 8})
    out = write_png(tmp_path / "map.png", _image(), meta)
    text = read_parameters(out)
    assert text.startswith("a harbour town\n")
    for part in ("Style: watercolor", "Engine: procedural", "Seed: 42", "Size: 64x48", "Steps: 8"):
        assert part in text
    assert "town.osm.pbf (sha256 abababababab" in text
    with Image.open(out) as im:  # what other tools (A1111 readers, exiftool...) see
        assert im.info["parameters"] == text
        assert json.loads(im.info["mapbrush"]) == meta


def test_unicode_title_survives(tmp_path):
    title = "Ålesund — 港町 🗺️"
    meta = _meta(title=title)
    out = write_png(tmp_path / "map.png", _image(), meta)
    assert read_metadata(out)["title"] == title
    assert f"Title: {title}" in read_parameters(out)
    assert title.encode("utf-8") in out.read_bytes()  # stored as UTF-8 (iTXt), not escaped


def test_dpi_round_trip(tmp_path):
    out = write_png(tmp_path / "map.png", _image(), _meta(), dpi=300)
    with Image.open(out) as im:
        assert im.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    out2 = write_png(tmp_path / "nodpi.png", _image(), _meta())
    with Image.open(out2) as im:
        assert "dpi" not in im.info


def test_metadata_chunks_come_before_image_data(tmp_path):
    out = write_png(tmp_path / "map.png", _image(), _meta())
    data = out.read_bytes()
    assert data.index(b"iTXtmapbrush") < data.index(b"IDAT")


def test_overwrite_replaces_file_and_keeps_permissions(tmp_path):
    target = tmp_path / "map.png"
    write_png(target, _image(), _meta(seed=1))
    os.chmod(target, 0o640)
    write_png(target, _image(), _meta(seed=2))
    assert read_metadata(target)["seed"] == 2
    if os.name == "posix":
        assert target.stat().st_mode & 0o777 == 0o640
    assert _leftovers(tmp_path) == []


def test_encoder_failure_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "map.png"
    write_png(target, _image(), _meta(seed=1))
    before = target.read_bytes()
    cmyk = Image.new("CMYK", (16, 16))  # PNG cannot hold CMYK: the encoder fails after the temp file exists
    with pytest.raises(AppError) as err:
        write_png(target, cmyk, _meta(seed=2))
    assert err.value.path == str(target)
    assert target.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_failure_after_writing_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "map.png"
    write_png(target, _image(), _meta(seed=1))
    before = target.read_bytes()
    written = []

    def full_disk(fd):
        written.append(os.fstat(fd).st_size)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(png.os, "fsync", full_disk)
    with pytest.raises(AppError, match="No space left"):
        write_png(target, _image(), _meta(seed=2))
    assert written and written[0] > 0  # the PNG bytes were written before the failure
    assert target.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_failure_on_new_file_leaves_nothing(tmp_path):
    class Boom:
        def __array__(self, dtype=None, copy=None):
            raise RuntimeError("conversion failed")

    with pytest.raises(RuntimeError):
        write_png(tmp_path / "map.png", Boom(), _meta())
    assert list(tmp_path.iterdir()) == []


def test_bad_images_and_folders(tmp_path):
    with pytest.raises(TypeError):
        write_png(tmp_path / "a.png", np.zeros((4, 4, 3), np.float32), _meta())
    with pytest.raises(ValueError):
        write_png(tmp_path / "a.png", np.zeros((4, 4, 2), np.uint8), _meta())
    with pytest.raises(ValueError):
        write_png(tmp_path / "a.png", _image(), _meta(), dpi=0)
    with pytest.raises(AppError, match="folder"):
        write_png(tmp_path / "missing" / "a.png", _image(), _meta())
    assert list(tmp_path.iterdir()) == []


def test_png_without_our_chunk_gives_none(tmp_path):
    plain = tmp_path / "plain.png"
    Image.fromarray(_image()).save(plain)
    assert read_metadata(plain) is None
    assert read_parameters(plain) is None


def test_chunk_after_image_data_is_found(tmp_path):
    plain = tmp_path / "plain.png"
    Image.fromarray(_image()).save(plain)
    data = plain.read_bytes()
    payload = b"mapbrush\0" + json.dumps({"schema": 1, "style": "ink"}).encode()
    chunk = struct.pack(">I", len(payload)) + b"tEXt" + payload + struct.pack(">I", zlib.crc32(b"tEXt" + payload))
    iend = data.rindex(b"IEND") - 4
    plain.write_bytes(data[:iend] + chunk + data[iend:])
    assert read_metadata(plain) == {"schema": 1, "style": "ink"}


def test_non_png_raises_input_error_naming_file(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("hello, I am not a picture")
    with pytest.raises(InputError) as err:
        read_metadata(bad)
    assert err.value.path == str(bad)
    assert "not a PNG" in err.value.one_line()
    with pytest.raises(InputError, match="not found"):
        read_metadata(tmp_path / "nope.png")


def test_corrupt_png_raises_input_error(tmp_path):
    good = write_png(tmp_path / "map.png", _image(), _meta())
    data = good.read_bytes()
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated") as err:
        read_metadata(truncated)
    assert err.value.path == str(truncated)

    bad_crc = tmp_path / "badcrc.png"  # one changed digit: still valid JSON, but the checksum no longer fits
    bad_crc.write_bytes(data.replace(b'"seed":42', b'"seed":43'))
    with pytest.raises(InputError, match="corrupt"):
        read_metadata(bad_crc)


def test_garbled_json_is_input_error(tmp_path):
    plain = tmp_path / "x.png"
    im = Image.fromarray(_image())
    info = PngInfo()
    info.add_itxt("mapbrush", "{not json")
    im.save(plain, pnginfo=info)
    with pytest.raises(InputError, match="metadata"):
        read_metadata(plain)


def test_compressed_text_bomb_is_refused(tmp_path):
    plain = tmp_path / "bomb.png"
    info = PngInfo()
    info.add_itxt("mapbrush", " " * (MAX_TEXT_BYTES + 10), zip=True)
    Image.fromarray(_image()).save(plain, pnginfo=info)
    assert plain.stat().st_size < 200_000
    with pytest.raises(InputError, match="too large"):
        read_metadata(plain)


def test_reading_a_huge_png_does_not_decode_pixels(tmp_path):
    # A header claiming 100,000 x 100,000 pixels (a decompression bomb for decoders) with our chunk.
    def chunk(ctype, payload):
        return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", zlib.crc32(ctype + payload))

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    text = b"mapbrush\0\0\0\0\0" + b'{"schema":1}'
    idat = zlib.compress(b"\0" * 1000)
    path = tmp_path / "huge.png"
    path.write_bytes(
        SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"iTXt", text) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    assert read_metadata(path) == {"schema": 1}
