"""The shell scripts' choices, run in bash as the scripts run them."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
VENV = Path(sys.prefix)  # the virtual environment this test runs in
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _wheel(links: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> None:
    """An empty wheel whose metadata is all pip reads while it resolves."""
    dist = f"{name.replace('-', '_')}-{version}"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {requirement}\n" for requirement in requires
    )
    with zipfile.ZipFile(links / f"{dist}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"{dist}.dist-info/METADATA", metadata)
        wheel.writestr(
            f"{dist}.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{dist}.dist-info/RECORD", "")


def _torch_pin() -> str:
    pyproject = (ROOT / "backend" / "pyproject.toml").read_text()
    return pyproject.split('"torch==', 1)[1].split('"', 1)[0]


def _bash(script: str, tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """``script`` after sourcing bootstrap.sh, with pip seeing only the wheels in tmp/links
    and a PATH whose only extra is tmp/bin."""
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("PIP_", "JEEX_"))
    }
    env.update(
        {
            "JEEX_VENV": str(VENV),
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(tmp_path / "links"),
            "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin",
        }
    )
    env.update(variables)
    return subprocess.run(
        ["bash", "-c", f"source {ROOT / 'scripts' / 'bootstrap.sh'}\n{script}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    (tmp_path / "links").mkdir()
    (tmp_path / "bin").mkdir()
    return tmp_path


def _offers_cuda_torch(machine: Path) -> None:
    _wheel(machine / "links", "torch", _torch_pin(), ("nvidia-cublas-cu12",))
    _wheel(machine / "links", "nvidia-cublas-cu12", "12.8.0")


def _has_gpu(machine: Path) -> None:
    fake = machine / "bin" / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'GPU 0: Test GPU'\n")
    fake.chmod(0o755)


@pytest.mark.parametrize(
    ("choice", "gpu", "expected"),
    [
        ("auto", False, CPU_INDEX),
        ("auto", True, ""),
        ("cpu", True, CPU_INDEX),
        ("cuda", False, ""),
    ],
)
def test_pytorch_comes_from_the_cpu_index_only_where_pypi_would_bring_cuda_unasked(
    machine: Path, choice: str, gpu: bool, expected: str
) -> None:
    _offers_cuda_torch(machine)
    if gpu:
        _has_gpu(machine)
    result = _bash("jeex_torch_index", machine, JEEX_TORCH=choice)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_a_cpu_build_the_machine_already_offers_is_kept(machine: Path) -> None:
    _wheel(machine / "links", "torch", _torch_pin())
    result = _bash("jeex_torch_index", machine)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_an_unknown_torch_choice_stops_naming_the_values(machine: Path) -> None:
    result = _bash("jeex_torch_index", machine, JEEX_TORCH="gpu")
    assert result.returncode == 1
    assert "JEEX_TORCH must be auto, cpu or cuda, not 'gpu'" in result.stderr


def test_pip_shows_a_line_per_package_and_its_end_when_it_fails(machine: Path) -> None:
    _wheel(machine / "links", "torch", _torch_pin())
    target = machine / "downloaded"
    fetched = _bash(f"jeex_pip download --no-deps -d {target} torch=={_torch_pin()}", machine)
    assert fetched.returncode == 0, fetched.stderr
    assert f"Processing {machine / 'links'}/torch-" in fetched.stderr
    assert list(target.iterdir())

    failed = _bash("jeex_pip install no-such-package==1", machine)
    assert failed.returncode == 1
    assert "error: pip install failed" in failed.stderr
    assert "No matching distribution found for no-such-package==1" in failed.stderr
