"""The pinned Python environment of the network scripts (requirements.txt, made by setup.sh):
each script calls ensure_pinned_env(__file__) before importing numpy, onnx, onnxruntime or
openvino, and re-runs itself in the venv when the running Python lacks the pinned versions."""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def pins():
    lines = (HERE / "requirements.txt").read_text().splitlines()
    return dict(line.split("==") for line in lines if "==" in line and not line.startswith("#"))


def ensure_pinned_env(script):
    """Re-run the running script in the venv of setup.sh unless the pinned packages of
    requirements.txt are importable already."""
    from importlib import metadata
    try:
        if all(metadata.version(name) == ver for name, ver in pins().items()):
            return
    except metadata.PackageNotFoundError:
        pass
    if os.environ.get("QNN_NETWORKS_REEXEC") == "1":
        sys.exit(f"{Path(script).name}: {sys.executable} does not have the versions of requirements.txt")
    python = subprocess.run(["bash", str(HERE / "setup.sh")], check=True, stdout=subprocess.PIPE,
                            text=True).stdout.strip().splitlines()[-1]
    os.environ["QNN_NETWORKS_REEXEC"] = "1"
    os.execv(python, [python, str(Path(sys.argv[0]).resolve()), *sys.argv[1:]])
