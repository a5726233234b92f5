from __future__ import annotations

import pytest

from app.mapdata.classify import classify, feature_name
from app.mapdata.model import Kind

LINE, AREA, POINT = "LineString", "MultiPolygon", "Point"


@pytest.mark.parametrize(
    ("tags", "geom", "kind"),
    [
        ({"highway": "motorway"}, LINE, Kind.MOTORWAY),
        ({"highway": "trunk_link"}, LINE, Kind.PRIMARY),
        ({"highway": "secondary"}, LINE, Kind.SECONDARY),
        ({"highway": "tertiary_link"}, LINE, Kind.TERTIARY),
        ({"highway": "living_street"}, LINE, Kind.RESIDENTIAL),
        ({"highway": "service"}, LINE, Kind.SERVICE),
        ({"highway": "steps"}, LINE, Kind.PATH),
        ({"highway": "bus_stop"}, POINT, Kind.OTHER),
        ({"highway": "pedestrian", "area": "yes"}, AREA, Kind.OTHER),
        ({"railway": "tram"}, LINE, Kind.RAIL),
        ({"railway": "abandoned"}, LINE, Kind.OTHER),
        ({"railway": "station", "name": "Hbf"}, POINT, Kind.POI),
        ({"waterway": "river"}, LINE, Kind.WATERWAY),
        ({"waterway": "riverbank"}, AREA, Kind.WATER),
        ({"natural": "water"}, AREA, Kind.WATER),
        ({"landuse": "reservoir"}, AREA, Kind.WATER),
        ({"natural": "wood"}, AREA, Kind.FOREST),
        ({"landuse": "forest"}, AREA, Kind.FOREST),
        ({"leisure": "park"}, AREA, Kind.PARK),
        ({"landuse": "grass"}, AREA, Kind.PARK),
        ({"boundary": "national_park"}, AREA, Kind.PARK),
        ({"building": "yes"}, AREA, Kind.BUILDING),
        ({"building": "no"}, AREA, Kind.OTHER),
        ({"place": "city", "name": "X"}, POINT, Kind.PLACE),
        ({"boundary": "administrative", "admin_level": "8"}, AREA, Kind.ADMIN),
        ({"amenity": "cafe"}, POINT, Kind.POI),
        ({"natural": "coastline"}, LINE, Kind.OTHER),
        ({"natural": "sea"}, AREA, Kind.SEA),
        ({"HIGHWAY": "primary"}, LINE, Kind.PRIMARY),  # attribute names in capitals (shapefiles)
        ({"fclass": "residential"}, LINE, Kind.RESIDENTIAL),  # Geofabrik shapefiles
        ({"fclass": "forest"}, AREA, Kind.FOREST),
        ({"ADMIN": "France", "ISO_A3": "FRA", "NAME": "France"}, AREA, Kind.ADMIN),  # Natural Earth countries
        ({"featurecla": "Admin-0 country", "NAME": "Chile"}, AREA, Kind.ADMIN),
        ({"FEATURECLA": "Populated place", "NAME": "Lima"}, POINT, Kind.PLACE),
        ({"featurecla": "Lake"}, AREA, Kind.WATER),
        ({"featurecla": "River"}, LINE, Kind.WATERWAY),
        ({"featurecla": "Ocean"}, AREA, Kind.SEA),
        ({"colour": "red"}, POINT, Kind.OTHER),
        ({}, AREA, Kind.OTHER),
    ],
)
def test_classify(tags, geom, kind):
    assert classify(tags, geom) is kind


def test_geometry_matters():
    assert classify({"highway": "primary"}, AREA) is Kind.OTHER
    assert classify({"place": "island"}, AREA) is Kind.OTHER
    assert classify({"building": "yes"}, LINE) is Kind.OTHER


@pytest.mark.parametrize(
    ("props", "name"),
    [
        ({"name": "A"}, "A"),
        ({"NAME": "B"}, "B"),
        ({"Name": " C "}, "C"),
        ({"name": "", "name_en": "D"}, "D"),
        ({"ADMIN": "E"}, "E"),
        ({"name": float("nan")}, None),
        ({"name": 42}, "42"),
        ({"ref": "A1"}, None),
    ],
)
def test_feature_name(props, name):
    assert feature_name(props) == name
