"""The molecule widgets' pure parts: the 3D viewer HTML and where 3Dmol.js comes from."""

import molview
from chemnet import chem


def test_viewer_html_loads_3dmol_and_holds_the_molecule(monkeypatch, tmp_path):
    block = chem.conformer_molblock("CCO")
    local = tmp_path / "3Dmol-min.js"
    local.write_text("// stand-in")
    monkeypatch.setattr(molview, "THREEDMOL_JS", local)
    html = molview.view_html(block, style="sphere")
    assert "/app/static/3Dmol-min.js" in html and '"sphere"' in html
    assert block.splitlines()[-1].strip() in html  # the MOL block is embedded


def test_viewer_falls_back_to_the_cdn(monkeypatch, tmp_path):
    monkeypatch.setattr(molview, "THREEDMOL_JS", tmp_path / "absent.js")
    assert molview.threedmol_js_url().startswith("https://")
    assert "cdn.jsdelivr.net" in molview.view_html(chem.conformer_molblock("C"))


def test_unknown_style_draws_sticks():
    assert '"stick"' in molview.view_html(chem.conformer_molblock("CO"), style="nonsense")
