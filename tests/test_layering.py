"""The layering rules of DESIGN.md, proved: Qt only in app/ui, torch only in app/inference."""

import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import app

ROOT = Path(app.__file__).resolve().parent.parent

BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys
    BLOCKED = {blocked!r}
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"blocked import of {{name}}")
            return None
    sys.meta_path.insert(0, Block())
    import importlib
    for mod in {modules!r}:
        importlib.import_module(mod)
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    assert not leaked, leaked
    print("imported", len({modules!r}))
    """
)


def _modules(exclude: str) -> list[str]:
    names = ["app"]
    for info in pkgutil.walk_packages([str(ROOT / "app")], prefix="app."):
        if info.name == exclude or info.name.startswith(exclude + "."):
            continue
        names.append(info.name)
    return names


def _run(blocked: set[str], modules: list[str]) -> subprocess.CompletedProcess:
    code = BLOCKER.format(blocked=sorted(blocked), modules=modules)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_everything_outside_ui_imports_without_qt():
    modules = _modules("app.ui")
    assert len(modules) > 10
    proc = _run({"PySide6", "shiboken6"}, modules)
    assert proc.returncode == 0, proc.stderr


def test_everything_outside_inference_imports_without_torch():
    modules = _modules("app.inference")
    proc = _run({"torch", "diffusers", "transformers", "accelerate"}, modules)
    assert proc.returncode == 0, proc.stderr


def test_cli_help_imports_neither_torch_nor_qt():
    code = (
        "import sys, contextlib, io\n"
        "from app.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "    main(['styles'])\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'diffusers')]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
