"""`labs run --target kind`: the missing-tool path here, a real cluster where docker+kind exist."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labdeck.labs import kind

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "labs"
RUN = "import sys; from labdeck.labs.commands import main; sys.exit(main(sys.argv[1:]))"


def test_missing_tools_say_so_in_one_line_and_exit_non_zero(tmp_path):
    # A PATH with bash and python only: no docker, no kind, no kubectl.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "bash").symlink_to(shutil.which("bash"))
    p = subprocess.run([sys.executable, "-c", RUN, "run", str(FIXTURES / "faults.yml"),
                        "--target", "kind"], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "PATH": str(bindir), "PYTHONPATH": str(ROOT)}, timeout=60)
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "missing: docker, kind, kubectl" in lines[0]
    assert "Traceback" not in p.stderr + p.stdout


def test_cluster_name_is_a_valid_kind_name():
    assert kind.cluster_name("K8s_Services.v2") == "labdeck-k8s-services-v2"
    assert len(kind.cluster_name("x" * 100)) <= 40


def test_kind_config_comes_from_the_manifest(tmp_path):
    m = tmp_path / "deck.yml"
    m.write_text("title: t\nkind-config: kind/cluster.yaml\ncontent: []\n")
    assert kind.kind_config(m) == tmp_path / "kind" / "cluster.yaml"
    m.write_text("title: t\ncontent: []\n")
    assert kind.kind_config(m) is None


HAVE_KIND = not kind.missing_tools()


@pytest.mark.skipif(not HAVE_KIND, reason="kind target needs docker, kind and kubectl on PATH: "
                    f"missing {', '.join(kind.missing_tools())}")
def test_kubernetes_sample_deck_runs_on_kind(tmp_path):
    decks = sorted((ROOT / "slides").glob("k8s*.yml"))
    assert decks, "a Kubernetes sample deck in slides/"
    junit = tmp_path / "junit.xml"
    p = subprocess.run([sys.executable, "-c", RUN, "run", str(decks[0]), "--target", "kind",
                        "--junit", str(junit)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                       timeout=3600)
    assert p.returncode == 0
    assert junit.exists()
