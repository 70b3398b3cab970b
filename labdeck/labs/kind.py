"""A throwaway kind cluster for `labs run --target kind`.

The cluster is named after the deck, its kubeconfig lives in the run's
temporary folder (the user's ~/.kube/config is left alone), and the shell that
runs the steps gets KUBECONFIG pointing at it.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path


NEEDED = ("docker", "kind", "kubectl")


def missing_tools() -> list[str]:
    return [t for t in NEEDED if shutil.which(t) is None]


def cluster_name(deck: str) -> str:
    """kind names become container and DNS names: lowercase, digits, dashes."""
    name = re.sub(r"[^a-z0-9-]+", "-", f"labdeck-{deck}".lower()).strip("-")
    return name[:40].rstrip("-")


def kind_config(manifest: Path | None, values: dict | None = None) -> Path | None:
    """The manifest's optional `kind-config:` (a path relative to the manifest),
    from the deck model's values when given (a labs.json run reads the manifest)."""
    if manifest is None:
        return None
    if values is not None:
        value = values.get("kind-config")
        return (manifest.parent / str(value)) if value else None
    if manifest.suffix not in (".yml", ".yaml"):
        return None
    from ..diagnostics import BuildError, Diagnostics
    from ..manifest import load_manifest
    try:        # the deck's own manifest loader: a manifest it refuses is not silently ignored
        values = load_manifest(manifest, Diagnostics()).values
    except BuildError as e:
        raise KindError(str(e.diagnostic)) from None
    value = values.get("kind-config")
    return (manifest.parent / str(value)) if value else None


class KindError(Exception):
    pass


class KindCluster:
    def __init__(self, name: str, workdir: Path, config: Path | None = None, log=print):
        self.name = name
        self.kubeconfig = workdir / "kubeconfig"
        self.config = config
        self.log = log
        self.created = False

    def create(self) -> None:
        cmd = ["kind", "create", "cluster", "--name", self.name,
               "--kubeconfig", str(self.kubeconfig), "--wait", "180s"]
        if self.config:
            cmd += ["--config", str(self.config)]
        self.log(f"kind: creating cluster {self.name}")
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            # kind may have left a half-made cluster behind
            self.created = True
            tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or [""]
            raise KindError(f"kind create cluster failed: {tail[0]}")
        self.created = True

    def env(self) -> dict[str, str]:
        return {"KUBECONFIG": str(self.kubeconfig)}

    def events(self) -> str:
        """What a person would look at when a step failed."""
        p = subprocess.run(["kubectl", "--kubeconfig", str(self.kubeconfig), "get",
                            "events,all", "-A"], capture_output=True, text=True, timeout=60)
        return f"$ kubectl get events,all -A\n{p.stdout}{p.stderr}"

    def delete(self) -> None:
        if not self.created:
            return
        self.log(f"kind: deleting cluster {self.name}")
        subprocess.run(["kind", "delete", "cluster", "--name", self.name,
                        "--kubeconfig", str(self.kubeconfig)], capture_output=True, text=True)
