"""KML/KMZ as people make them: GroundOverlays, super-overlays behind NetworkLinks, hostile hrefs and links."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import InputError
from app.mapdata.io import read_file
from app.mapdata.limits import Limits
from app.mapdata.model import Kind
from app.mapdata.readers import kml_overlays
from tests.mapdata.kml_samples import (
    BOX,
    LEVEL_COLOURS,
    WINDOW,
    ground_overlay,
    image_bytes,
    kml,
    network_link,
    placemarks,
    super_overlay_kmz,
    village_kml,
    write_kmz,
)


def test_ground_overlay_is_a_raster_not_a_polygon(tmp_path):
    data = read_file(village_kml(tmp_path))
    assert len(data) == 4 and set(data.kinds) == {Kind.POI}  # GDAL's box polygon is gone
    assert sorted(data.names) == ["Bodesce", "Mlino", "Ribno", "Zasip"]
    (r,) = data.rasters
    assert r.name == "Old survey" and r.image.shape == (120, 160, 4) and r.image[..., 3].min() == 255
    # Rotated 12° counter-clockwise about the centre: the lower-left corner moves east and south.
    centre = np.array([(BOX[0] + BOX[2]) / 2, (BOX[1] + BOX[3]) / 2])
    assert np.allclose(r.corners.mean(axis=0), centre)
    assert r.corners[0, 0] > BOX[0] and r.corners[0, 1] < BOX[1]
    assert data.bounds() == pytest.approx(WINDOW)


def test_an_overlay_counts_towards_the_bounds_only_when_drawn(tmp_path):
    """The California-to-Sicily strip: placemarks in Sicily, a GroundOverlay box in California."""
    far = (-122.5, 37.5, -122.0, 38.0)
    sicily = [("Cefalù", 14.02, 38.04), ("Enna", 14.28, 37.57)]
    body = placemarks(sicily) + ground_overlay("Bay Area", "bay.jpg", far)
    path = tmp_path / "trip.kml"
    path.write_text(kml(body))
    data = read_file(path)  # bay.jpg is missing: nothing is drawn there, so nothing is framed there
    assert data.rasters == [] and data.bounds() == pytest.approx((14.02, 37.57, 14.28, 38.04))
    assert any("GroundOverlay 'Bay Area'" in w and "bay.jpg is not in the KML's folder" in w for w in data.warnings)
    (tmp_path / "bay.jpg").write_bytes(image_bytes(40, 40))
    assert read_file(path).bounds() == pytest.approx((-122.5, 37.5, 14.28, 38.04))


def test_a_kml_of_ground_overlays_only_is_a_map(tmp_path):
    (tmp_path / "scan.png").write_bytes(image_bytes(64, 48, fmt="PNG"))
    path = tmp_path / "scan.kml"
    path.write_text(kml(ground_overlay("Scan", "scan.png")))
    data = read_file(path)
    assert len(data) == 0 and len(data.rasters) == 1 and data.bounds() == pytest.approx(BOX)


def test_lat_lon_quad(tmp_path):
    (tmp_path / "q.jpg").write_bytes(image_bytes(32, 32))
    quad = "14.08,46.35 14.13,46.351 14.125,46.37 14.081,46.372"
    path = tmp_path / "quad.kml"
    corners = f"<gx:LatLonQuad><coordinates>{quad}</coordinates></gx:LatLonQuad>"
    path.write_text(kml(f"<GroundOverlay><name>Q</name><Icon><href>q.jpg</href></Icon>{corners}</GroundOverlay>"))
    (r,) = read_file(path).rasters
    assert r.corners.tolist() == [[float(v) for v in p.split(",")] for p in quad.split()]


def test_super_overlay_kmz_uses_its_finest_level_over_the_coarse_one(tmp_path):
    data = read_file(super_overlay_kmz(tmp_path / "survey.kmz"))
    assert len(data) == 0
    colours = [tuple(int(v) for v in r.image[128, 128, :3]) for r in data.rasters]
    assert len(colours) == 5
    # Bottom first: the red level-0 tile, then the four green level-1 quarters over it.
    assert np.allclose(colours[0], LEVEL_COLOURS[0], atol=12)
    assert all(np.allclose(c, LEVEL_COLOURS[1], atol=12) for c in colours[1:])
    assert data.bounds() == pytest.approx(BOX)
    assert not data.warnings


def test_super_overlay_stops_at_the_level_that_fits_the_target(tmp_path, monkeypatch):
    # Level 1 is 512 px across the pyramid: over a 300-px target it is not read, level 0 is.
    monkeypatch.setattr(kml_overlays, "TARGET_PX", 300)
    data = read_file(super_overlay_kmz(tmp_path / "survey.kmz"))
    assert len(data.rasters) == 1
    assert np.allclose(data.rasters[0].image[128, 128, :3], LEVEL_COLOURS[0], atol=12)


def test_hostile_kmz(tmp_path):
    """URLs, paths out of the archive, a link cycle, links nested too deep, things we do not draw."""
    deep = kml_overlays.MAX_LINK_DEPTH + 3
    members = {
        "doc.kml": kml(
            placemarks()
            + ground_overlay("Good", "files/ok.jpg")
            + ground_overlay("Remote", "https://tiles.example.com/a.jpg")
            + ground_overlay("Local file URL", "file:///etc/hostname")
            + ground_overlay("Escape", "../../outside.jpg")
            + ground_overlay("Absolute", "/etc/hostname")
            + network_link("Live", "http://example.com/live.kml")
            + network_link("Cycle", "a.kml")
            + network_link("Chain", "chain/0.kml")
            + "<PhotoOverlay><name>Sunset</name><Icon><href>files/ok.jpg</href></Icon></PhotoOverlay>"
            + "<Placemark><name>Chapel</name><Model><Link><href>chapel.dae</href></Link></Model></Placemark>"
        ),
        "files/ok.jpg": image_bytes(40, 30),
        "a.kml": kml(network_link("back", "b.kml")),
        "b.kml": kml(network_link("forth", "a.kml") + network_link("home", "doc.kml")),
    }
    for i in range(deep):
        members[f"chain/{i}.kml"] = kml(network_link(f"step {i + 1}", f"{i + 1}.kml"))
    data = read_file(write_kmz(tmp_path / "hostile.kmz", members))
    assert [r.name for r in data.rasters] == ["Good"]
    assert len(data) == 4
    text = "\n".join(data.warnings)
    assert "GroundOverlay 'Remote' (image: remote link https://tiles.example.com/a.jpg)" in text
    assert "GroundOverlay 'Local file URL' (image: remote link file:///etc/hostname)" in text
    assert "GroundOverlay 'Escape' (image: ../../outside.jpg is outside the KMZ, refused)" in text
    assert "absolute path /etc/hostname refused" in text
    assert "NetworkLink 'Live' (remote link http://example.com/live.kml)" in text
    assert "skipped PhotoOverlay 'Sunset' (photo overlays are not drawn)" in text
    assert "skipped Model 'Chapel' (3D models are not drawn)" in text
    assert "without geometry" not in text  # the Model placemark is named once, not counted again
    depth = kml_overlays.MAX_LINK_DEPTH
    assert f"NetworkLink 'step {depth}' (links nested deeper than {depth} are not followed)" in text


def test_hrefs_out_of_a_kml_folder_are_refused(tmp_path):
    (tmp_path / "secret.jpg").write_bytes(image_bytes(20, 20))
    folder = tmp_path / "maps"
    folder.mkdir()
    (folder / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    path = folder / "escape.kml"
    body = placemarks() + ground_overlay("Up", "../secret.jpg") + ground_overlay("Symlink", "link.jpg")
    path.write_text(kml(body))
    data = read_file(path)
    assert data.rasters == []
    assert "skipped GroundOverlay 'Up' (image: ../secret.jpg is outside the KML's folder, refused)" in data.warnings
    assert "skipped GroundOverlay 'Symlink' (image: link.jpg is outside the KML's folder, refused)" in data.warnings


def test_linked_documents_are_bounded_in_count(tmp_path, monkeypatch):
    monkeypatch.setattr(kml_overlays, "MAX_LINKED_DOCUMENTS", 3)
    members = {"doc.kml": kml("".join(network_link(f"part {i}", f"p{i}.kml") for i in range(6)))}
    for i in range(6):
        members[f"p{i}.kml"] = kml(placemarks([(f"P{i}", 14.0 + i / 100, 46.3)]))
    data = read_file(write_kmz(tmp_path / "parts.kmz", members))
    assert sorted(data.names) == ["P0", "P1"]  # doc.kml and two linked documents
    assert sum("more than 3 linked documents" in w for w in data.warnings) == 4


def test_placemarks_of_linked_documents_are_read(tmp_path):
    members = {"doc.kml": kml(network_link("Huts", "layers/huts.kml")), "layers/huts.kml": kml(placemarks())}
    data = read_file(write_kmz(tmp_path / "huts.kmz", members))
    assert sorted(data.names) == ["Bodesce", "Mlino", "Ribno", "Zasip"]


def test_image_decoding_is_bounded(tmp_path):
    path = village_kml(tmp_path)
    data = read_file(path, limits=Limits(max_image_pixels=160 * 120 - 1))
    assert data.rasters == []
    assert "skipped GroundOverlay 'Old survey' (its image scan.jpg is too large: 160×120)" in data.warnings
    (tmp_path / "scan.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    data = read_file(path)
    assert data.rasters == [] and any("scan.jpg is not a JPEG, PNG" in w for w in data.warnings)


def test_a_broken_kml_in_a_kmz_names_the_users_file(tmp_path):
    kmz = write_kmz(tmp_path / "trip.kmz", {"doc.kml": kml(placemarks()).replace("</Placemark>", "", 1)})
    with pytest.raises(InputError) as e:
        read_file(kmz)
    line = e.value.one_line()
    assert line.startswith(f"{kmz}: doc.kml in the KMZ is corrupt or truncated (not valid XML: mismatched tag")
    assert "/tmp/" not in line.replace(str(tmp_path), "") and "mapbrush-kmz" not in line
