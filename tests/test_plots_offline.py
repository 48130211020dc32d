"""`dvc plots show` draws with no network: .dvc/config points DVC at .dvc/plots/offline.html, which has Vega,
Vega-Lite and vega-embed inlined instead of DVC's script tags for a CDN.

Without a browser: the template loads no script from anywhere, holds the placeholder DVC fills in, and bundles the
major versions whose CDN scripts dvc-render's own page loads. With Chromium (Debian's `chromium`; skipped with one
line without it): `dvc plots show` in a temporary DVC repository configured as this one is, opened headless with
every host unresolvable and an unreachable proxy, draws each plot (vega-embed's canvas of marks); DVC's own page,
the same plots, draws none, which shows that the browser had no network to fetch a library from.
"""

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dvc_render.vega
import pytest

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / ".dvc" / "plots" / "offline.html"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
BUNDLED = re.compile(r"<script>/\*! (vega|vega-lite|vega-embed) (\d+)\.\d+\.\d+ \| BSD-3-Clause \| Copyright")
# vega-embed's marks: a canvas (its default renderer) or an svg, in the div DVC made for the plot
DRAWN = re.compile(r'<(canvas|svg)\b[^>]*class="marks"[^>]*>', re.I)


def config_template():
    """The html_template of the repository's .dvc/config, as DVC resolves it (relative to .dvc/)."""
    config = configparser.ConfigParser(inline_comment_prefixes=("#",))
    config.read(REPO / ".dvc" / "config")
    return (REPO / ".dvc" / config["plots"]["html_template"]).resolve()


def test_the_template_is_dvcs_default_and_loads_nothing_from_the_network():
    page = TEMPLATE.read_text(encoding="utf-8")
    assert config_template() == TEMPLATE.resolve()
    assert re.findall(r"<script\b[^>]*>", page, re.I) == ["<script>"] * 3  # three inline scripts, no src
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.I)
    # dvc-render substitutes {plot_divs} (required) and {refresh_tag}; {scripts} would bring back its CDN tags
    assert page.count("{plot_divs}") == 1 and page.count("{refresh_tag}") == 1 and "{scripts}" not in page
    assert page.index("</script>\n<style>") < page.index("{plot_divs}")  # the libraries load before the plots' code


def test_the_bundled_majors_are_those_dvc_render_loads_from_its_cdn():
    """dvc-render's templates are Vega-Lite v5 specs drawn by the vega / vega-lite / vega-embed its page loads: an
    upgrade of dvc-render to other majors fails here until the bundle follows."""
    cdn = dict(re.findall(r"/npm/(vega|vega-lite|vega-embed)@(\d+)\.", dvc_render.vega.VegaRenderer.SCRIPTS))
    bundled = dict(BUNDLED.findall(TEMPLATE.read_text(encoding="utf-8")))
    assert set(cdn) == {"vega", "vega-lite", "vega-embed"} and bundled == cdn


def browser():
    found = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    if not found:
        pytest.skip("no Chromium: apt-get install chromium for the offline plots page test")
    return found


def dvc(repo, *args):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"dvc {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def rendered_dom(chromium, page, profile):
    """The page's DOM after 5 s of virtual time, in headless Chromium that can reach no host."""
    done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}",
                           "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
                           "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "</html>" in done.stdout, done.stderr[-2000:]
    return done.stdout


PLOTS = """\
plots:
  - curve.tsv:
      x: epoch
      y: UA
  - confusion.json:
      template: confusion
      x: actual
      y: predicted
"""


@pytest.mark.pipeline
def test_dvc_plots_show_draws_every_plot_with_no_network(tmp_path):
    chromium = browser()
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    dvc(repo, "init", "-q")
    shutil.copy(REPO / ".dvc" / "config", repo / ".dvc" / "config")  # this repository's settings: the template
    (repo / ".dvc" / "plots").mkdir(exist_ok=True)
    shutil.copy(TEMPLATE, repo / ".dvc" / "plots" / TEMPLATE.name)
    (repo / "dvc.yaml").write_text(PLOTS)
    (repo / "curve.tsv").write_text("epoch\tUA\n1\t31.5\n2\t44.0\n3\t52.25\n")
    (repo / "confusion.json").write_text('[{"actual": "anger", "predicted": "anger"}, '
                                         '{"actual": "anger", "predicted": "fear"}, '
                                         '{"actual": "fear", "predicted": "fear"}]')

    dvc(repo, "plots", "show", "--out", "offline")
    page = repo / "offline" / "index.html"
    html = page.read_text(encoding="utf-8")
    assert html.count("vegaEmbed(") == 2 and "cdn.jsdelivr.net/npm" not in html
    dom = rendered_dom(chromium, page, tmp_path / "profile")
    assert len(DRAWN.findall(dom)) == 2, dom[-3000:]  # each plot drawn
    assert dom.count('class="vega-embed') == 2

    # the control: DVC's own page (no html_template) loads Vega from its CDN, which this browser cannot reach
    dvc(repo, "config", "--unset", "plots.html_template")
    dvc(repo, "plots", "show", "--out", "cdn")
    cdn_page = repo / "cdn" / "index.html"
    assert "cdn.jsdelivr.net/npm/vega@" in cdn_page.read_text(encoding="utf-8")
    assert DRAWN.findall(rendered_dom(chromium, cdn_page, tmp_path / "profile-cdn")) == []
