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
    m.write_text("title: t\nkind-config: kind/cluster.yaml\ncontent:\n- a.md\n")
    assert kind.kind_config(m) == tmp_path / "kind" / "cluster.yaml"
    m.write_text("title: t\ncontent:\n- a.md\n")
    assert kind.kind_config(m) is None
    # read by the deck's manifest loader: a broken manifest is an error, not "no config"
    m.write_text("title: t\nkind-config: [unclosed\n")
    with pytest.raises(kind.KindError, match=r"deck\.yml:\d+: error: "):
        kind.kind_config(m)


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


# kind cannot be installed on this machine: stand-ins for docker/kind/kubectl
# that log their arguments check the wiring of the kind target (cluster named
# after the deck, KUBECONFIG in the shell, events on failure, deletion).
STUB = """#!/bin/bash
echo "$(basename "$0") $*" >> "$LABDECK_STUB_LOG"
if [ "$(basename "$0")" = kind ] && [ "$1" = create ]; then
  while [ $# -gt 0 ]; do [ "$1" = --kubeconfig ] && echo "apiVersion: v1" > "$2"; shift; done
fi
if [ "$(basename "$0")" = kubectl ]; then echo "EVENTS-FROM-STUB"; fi
exit 0
"""


def stub_tools(tmp_path, monkeypatch):
    bindir = tmp_path / "stubs"
    bindir.mkdir()
    for tool in kind.NEEDED:
        (bindir / tool).write_text(STUB)
        (bindir / tool).chmod(0o755)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("LABDECK_STUB_LOG", str(log))
    return log


def test_kind_target_wiring_with_stand_in_tools(tmp_path, monkeypatch):
    import xml.etree.ElementTree as ET
    from labdeck.labs.commands import main
    log = stub_tools(tmp_path, monkeypatch)
    deck = tmp_path / "deck.yml"
    (tmp_path / "ch.md").write_text("# Cluster\n\n---\n\n## Steps\n\n.lab[\n\n"
                                    "```bash\ntest -s \"$KUBECONFIG\"\n```\n\n"
                                    "```bash\nfalse\n```\n\n]\n")
    deck.write_text("title: Cluster deck\nkind-config: kind.yaml\ncontent:\n- ch.md\n")
    junit = tmp_path / "junit.xml"
    assert main(["run", str(deck), "--target", "kind", "--junit", str(junit)]) == 1
    calls = log.read_text().splitlines()
    create = [c for c in calls if c.startswith("kind create cluster")]
    assert len(create) == 1 and "--name labdeck-deck" in create[0]
    assert f"--config {tmp_path / 'kind.yaml'}" in create[0]
    assert any(c.startswith("kubectl") and "get events,all -A" in c for c in calls)
    assert calls[-1].startswith("kind delete cluster --name labdeck-deck")
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    assert cases[0].find("failure") is None          # the shell saw KUBECONFIG
    assert "EVENTS-FROM-STUB" in cases[1].find("system-out").text


def test_keep_cluster_leaves_it_running(tmp_path, monkeypatch):
    from labdeck.labs.commands import main
    import tempfile
    log = stub_tools(tmp_path, monkeypatch)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))   # the kept run folder lands here
    assert main(["run", str(FIXTURES / "faults.yml"), "--target", "kind", "--chapter", "1",
                 "--keep-cluster"]) == 1
    assert not any(c.startswith("kind delete") for c in log.read_text().splitlines())
    kept = list(tmp_path.glob("labdeck-faults-*/kubeconfig"))
    assert len(kept) == 1        # the cluster's kubeconfig stays usable
