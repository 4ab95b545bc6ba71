"""The package layout: top-level folders mapped into ``slique``, for normal and editable installs."""

import subprocess
import sys
import zipfile
from pathlib import Path

import slique


ROOT = Path(__file__).resolve().parent.parent


def test_public_imports():
    from slique.hdl import BoundedSlique, ZeroSlique
    from slique.sim import BoundedSlique as GoldenBoundedSlique, ZeroSlique as GoldenZeroSlique
    import slique.bench, slique.boards, slique.firmware  # noqa: F401
    assert BoundedSlique.__name__ == GoldenBoundedSlique.__name__
    assert ZeroSlique.__name__ == GoldenZeroSlique.__name__


def test_folders_map_into_the_package():
    import slique.bench, slique.hdl, slique.sim
    assert Path(slique.hdl.__file__).parent == ROOT / "hdl"
    assert Path(slique.sim.__file__).parent == ROOT / "sim"
    assert Path(slique.bench.__file__).parent == ROOT / "bench"


def test_wheel_holds_every_module(tmp_path):
    """A normal (non-editable) install gets the same modules as the source tree."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel, = tmp_path.glob("slique-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, package in [("hdl", "slique/hdl"), ("sim", "slique/sim"), ("bench", "slique/bench"),
                            ("sim/benches", "slique/sim/benches"), ("src/slique", "slique")]:
        for module in (ROOT / folder).glob("*.py"):
            assert f"{package}/{module.name}" in names, module
