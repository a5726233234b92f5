from app.settings import SCHEMA, Settings


def test_round_trip(tmp_path):
    s = Settings(style="ink", tier_override="cuda-8gb")
    s.add_recent("/a.gpx")
    s.add_recent("/b.gpx")
    s.add_recent("/a.gpx")
    s.save(tmp_path)
    loaded = Settings.load(tmp_path)
    assert loaded == s
    assert loaded.recent_files == ["/a.gpx", "/b.gpx"]


def test_missing_and_corrupt_files_give_defaults(tmp_path):
    assert Settings.load(tmp_path) == Settings()
    Settings.path(tmp_path).write_text("this is = = not toml")
    assert Settings.load(tmp_path) == Settings()


def test_wrong_types_are_ignored_not_fatal(tmp_path):
    Settings.path(tmp_path).write_text('schema = 1\nstyle = 5\ntheme = "dark"\nunknown = 1\n')
    s = Settings.load(tmp_path)
    assert s.style == "watercolor" and s.theme == "dark"


def test_migration_from_schema_0(tmp_path):
    Settings.path(tmp_path).write_text('default_style = "poster"\n')
    s = Settings.load(tmp_path)
    assert s.style == "poster" and s.schema == SCHEMA
