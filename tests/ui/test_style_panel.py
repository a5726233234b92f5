"""The final-model picker: filled from what this machine's tier offers, with licences and install commands."""

from app.jobs.ai import ModelChoice
from app.ui.composition import Composition
from app.ui.tasks import EngineStatus, StageState


def choice(ref, name, *, installed=True, default=False, commercial=False):
    return ModelChoice(ref, name, installed, default, "flux-non-commercial-license" if not commercial else "apache-2.0",
                       commercial, f"mapbrush models download {ref.replace(':', ' --variant ')}")  # fmt: skip


def status(*finals, controlnet=True):
    stages = {s: StageState(True, "", "m") for s in ("preview", "final")}
    return EngineStatus("RTX 4090", 24.0, "NVIDIA GPU, 24 GB", stages, list(finals), controlnet)


def test_the_final_model_picker_offers_installed_upgrades_only(qtbot, window):
    panel = window.style_panel
    assert not panel._form.isRowVisible(panel.final_model)  # nothing to pick before the probe
    window.session._probed(
        status(
            choice("flux2-klein-4b:bf16", "FLUX.2 [klein] 4B", default=True, commercial=True),
            choice("flux2-klein-9b:q4_k_m", "FLUX.2 [klein] 9B"),
            choice("flux2-dev:q4_k_m", "FLUX.2 [dev]", installed=False),
        )
    )
    combo = panel.final_model
    assert panel._form.isRowVisible(combo) and combo.count() == 3
    assert combo.itemText(0) == "FLUX.2 [klein] 4B (default)" and combo.itemData(0) == ""
    assert "non-commercial" in combo.itemText(1)
    dev = combo.model().item(2)
    assert not dev.isEnabled() and "mapbrush models download flux2-dev --variant q4_k_m" in dev.toolTip()

    combo.setCurrentIndex(1)
    assert window.session.composition.final_model == "flux2-klein-9b:q4_k_m"
    assert window.session.can_run("final") == (True, "")
    assert window.session.composition.ai_options().final_model == "flux2-klein-9b:q4_k_m"


def test_a_picked_model_that_is_gone_falls_back_to_the_default(qtbot, window):
    s = window.session
    s._probed(status(choice("a:bf16", "A", default=True), choice("b:q4", "B")))
    window.style_panel.final_model.setCurrentIndex(1)
    assert s.composition.final_model == "b:q4"
    s._probed(status(choice("a:bf16", "A", default=True), choice("b:q4", "B", installed=False)))
    ok, why = s.can_run("final")  # still picked, but removed meanwhile: say how to get it back
    assert not ok and "mapbrush models download b --variant q4" in why
    s._probed(status(choice("a:bf16", "A", default=True)))  # a tier without upgrades
    assert s.composition.final_model == "" and not window.style_panel._form.isRowVisible(window.style_panel.final_model)


def test_the_composition_keeps_ai_choices_out_of_the_sketch_key():
    c = Composition()
    assert c.with_(guide="img2img", final_model="x:y", creativity=0.9).sketch_key() == c.sketch_key()
    assert c.with_(margin=0.1).sketch_key() != c.sketch_key()
