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


def test_window_choices_round_trip(tmp_path):
    s = Settings(aspect="2:3", size=[3000, 4500], hidden_layers=["paths", "labels"], export_dir=str(tmp_path))
    s.export_size, s.export_dpi = "A3", 150
    s.save(tmp_path)
    loaded = Settings.load(tmp_path)
    assert loaded == s
    assert (loaded.aspect, loaded.size, loaded.hidden_layers) == ("2:3", [3000, 4500], ["paths", "labels"])


def test_schema_1_file_gains_the_window_defaults(tmp_path):
    Settings.path(tmp_path).write_text('schema = 1\nstyle = "ink"\nexport_dir = "/maps"\n')
    s = Settings.load(tmp_path)
    assert (s.schema, s.style, s.export_dir) == (SCHEMA, "ink", "/maps")
    assert (s.aspect, s.size, s.hidden_layers) == ("4:3", [2400, 1800], [])


def test_bad_sizes_and_lists_are_ignored(tmp_path):
    Settings.path(tmp_path).write_text(
        'schema = 2\nsize = [0, 99999]\nhidden_layers = [1, 2]\naspect = "3:4"\nrecent_files = ["/a.gpx"]\n'
    )
    s = Settings.load(tmp_path)
    assert s.size == [2400, 1800] and s.hidden_layers == [] and s.aspect == "3:4"
    assert s.recent_files == ["/a.gpx"]
    Settings.path(tmp_path).write_text("schema = 2\nsize = [800, 600, 1]\n")
    assert Settings.load(tmp_path).size == [2400, 1800]
