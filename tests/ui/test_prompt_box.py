"""The window's prompt box says what the AI render's prompt will say: the map as the render describes it."""

import threading


def test_the_prompt_box_shows_the_renders_words_for_the_map(qtbot, window, load_map, town, hike, monkeypatch):
    import app.mapdata.titles as titles
    from app.jobs.ai import build_prompt
    from app.jobs.render import prompt_subject

    on_gui = []
    real = titles.map_phrase

    def watched(data, subject=None):
        on_gui.append(threading.current_thread() is threading.main_thread())
        return real(data, subject)

    monkeypatch.setattr(titles, "map_phrase", watched)
    s, panel = window.session, window.style_panel
    with qtbot.waitSignal(s.subject_ready, timeout=60000):
        load_map(window, [hike])
    assert on_gui and not any(on_gui)  # the window worked the words out off the GUI thread
    template = panel.styles[panel.current_style()].prompt.template
    place, what = prompt_subject(s.composition.request(s.inputs), s.data, s.sketch.groups)  # as render() asks
    assert what.startswith("hiking map of ")  # not "a map of …": a hike, named after the town it is near
    assert panel.prompt.toPlainText() == build_prompt(template, place, what=what)

    # a style change keeps the words, in the new style's template
    with qtbot.waitSignal(window.sketch_shown, timeout=30000):
        panel.cards["ink"].click()
    assert panel.prompt.toPlainText() == build_prompt(panel.styles["ink"].prompt.template, place, what=what)

    # other data: a street map of a town
    with qtbot.waitSignal(s.subject_ready, timeout=60000):
        s.remove_files([str(hike)])
        s.add_files([town])
    assert s.subject[1].endswith("map of Salthaven") and s.subject[1] != "map of Salthaven"
    assert panel.prompt.toPlainText() == build_prompt(panel.styles["ink"].prompt.template, *s.subject[:1],
                                                      what=s.subject[1])  # fmt: skip
    assert s.subject[1] in panel.prompt.toPlainText()
