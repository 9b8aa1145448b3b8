"""What a clone and a wheel carry: the licence, the data's notice, docs in the repository, and a
README first command that leaves the clone clean."""
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_licence_file_and_metadata():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert "LICENSE" in project["project"]["license-files"]
    data = project["tool"]["setuptools"]["package-data"]["matcalc.train"]
    assert "datasets/NOTICE" in data         # the CC BY 4.0 notice travels with the data


def test_the_data_notice_names_its_licence_and_authors():
    notice = (ROOT / "matcalc" / "train" / "datasets" / "NOTICE").read_text()
    assert "CC BY 4.0" in notice and "Alpaydin" in notice and "Kaynak" in notice


def test_readme_points_inside_the_repository():
    readme = (ROOT / "README.md").read_text()
    assert "../shared" not in readme
    for doc in ("docs/DESIGN.md", "docs/seeds.md"):
        assert doc in readme and (ROOT / doc).is_file()


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="not a git checkout (an installed copy): nothing to keep clean")
def test_the_first_commands_outputs_are_ignored():
    """`matcalc train` writes mlp.npz and mlp.history.json into the folder it runs in."""
    out = subprocess.run(["git", "check-ignore", "mlp.npz", "mlp.history.json"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.stdout.split() == ["mlp.npz", "mlp.history.json"]
