"""The probe image made offline (no engine): which busybox is taken or refused, the build asked
of the engine, and the line that tells a user without a probe image how to make one."""

from __future__ import annotations

import io
import shutil
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader import defaults
from grader.doctor import Level, _probe_image
from grader.engine.facts import EngineInfo, ImageFacts
from grader.engine.sandbox import BuildOutcome, BuildSpec
from grader.errors import ProbeImageUnavailable, UsageError
from grader.setup.probe_image import (
    LABEL_BUSYBOX,
    ROLE,
    build_probe_image,
    ensure_probe_image_offline,
    find_busybox,
)
from tests.support.fake_engine import FakeEngine
from tests.support.images import static_busybox


@dataclass
class BuildingEngine(FakeEngine):
    """A fake engine that records the builds asked of it and tags what it built."""

    builds: list[BuildSpec] = field(default_factory=list)

    def build_bounded(self, spec: BuildSpec) -> BuildOutcome:
        self.builds.append(spec)
        built = ImageFacts(f"sha256:{len(self.builds):064d}", (spec.tag or "",), spec.labels)
        self.images_ = [i for i in self.images_ if spec.tag not in i.tags] + [built]
        return BuildOutcome(built.id, "", None, 0.1)


def context_files(spec: BuildSpec) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(spec.context)) as tar:
        return {member.name: member for member in tar.getmembers()}


def dynamic_busybox(folder: Path) -> Path:
    folder.mkdir()
    path = folder / "busybox"
    path.write_bytes(Path(sys.executable).resolve().read_bytes() + b"BusyBox v1.36.1 (x)")
    path.chmod(0o755)
    return path


def test_a_static_busybox_on_path_is_taken_over_a_dynamic_one(tmp_path: Path) -> None:
    dynamic = dynamic_busybox(tmp_path / "dynamic")
    (tmp_path / "static").mkdir()
    static = tmp_path / "static" / "busybox"
    shutil.copy2(static_busybox(), static)

    found = find_busybox(search_path=f"{dynamic.parent}:{static.parent}")

    assert found.path == static
    assert found.version.startswith("1.")


def test_only_a_dynamic_busybox_is_refused_with_the_reason(tmp_path: Path) -> None:
    dynamic = dynamic_busybox(tmp_path / "dynamic")

    with pytest.raises(UsageError) as refused:
        find_busybox(search_path=str(dynamic.parent))

    assert refused.value.text.en.startswith(f"{dynamic}: dynamically linked")


def test_the_build_asked_of_the_engine() -> None:
    engine = BuildingEngine()
    busybox = find_busybox()

    built = build_probe_image(engine, busybox)

    assert built is not None
    assert (built.tag, built.replaced) == (defaults.PROBE_IMAGE, False)
    (spec,) = engine.builds
    assert spec.tag == defaults.PROBE_IMAGE
    assert dict(spec.labels) == {defaults.LABEL_ROLE: ROLE, LABEL_BUSYBOX: busybox.version}
    files = context_files(spec)
    assert set(files) == {"Dockerfile", "busybox", "passwd", "group"}
    assert files["busybox"].mode == 0o755
    assert files["busybox"].size == busybox.path.stat().st_size


def test_an_image_already_there_is_kept_unless_replaced() -> None:
    engine = BuildingEngine(images_=[ImageFacts("sha256:old", (defaults.PROBE_IMAGE,))])
    busybox = find_busybox()

    kept = build_probe_image(engine, busybox)
    replaced = build_probe_image(engine, busybox, replace=True)

    assert kept is None
    assert replaced is not None
    assert replaced.replaced
    assert len(engine.builds) == 1


def test_a_busybox_of_another_architecture_is_refused() -> None:
    engine = BuildingEngine(info_=EngineInfo("fake://", "0", "1.41", "linux", "aarch64"))

    with pytest.raises(UsageError, match="is an x86_64 binary, the engine is aarch64"):
        build_probe_image(engine, find_busybox())

    assert engine.builds == []


def test_an_offline_demo_builds_the_probe_image_it_cannot_pull() -> None:
    engine = BuildingEngine()
    progress: list[str] = []

    ensure_probe_image_offline(engine, defaults.PROBE_IMAGE, progress.append)

    assert engine.image(defaults.PROBE_IMAGE) is not None
    assert progress[-1].startswith(f"probe image {defaults.PROBE_IMAGE}: built from ")


def test_an_offline_demo_with_no_busybox_says_how_to_make_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader.setup import probe_image

    monkeypatch.setattr(probe_image, "DEBIAN_BUSYBOX", tmp_path / "none")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(defaults.PROBE_IMAGE_ENV, raising=False)

    with pytest.raises(ProbeImageUnavailable, match="`grade probe-image build`"):
        ensure_probe_image_offline(BuildingEngine(), defaults.PROBE_IMAGE)


def test_a_missing_probe_image_says_how_to_make_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(defaults.PROBE_IMAGE_ENV, raising=False)

    default = ProbeImageUnavailable(defaults.PROBE_IMAGE, "offline").text
    other = ProbeImageUnavailable("my/busybox:1", "offline").text
    doctor = _probe_image(False, defaults.PROBE_IMAGE)

    assert "Offline, build it here from this machine's static busybox: " in default.en
    assert "`grade probe-image build` (or point" in default.en
    assert "`grade probe-image build --tag my/busybox:1`" in other.en
    assert "`grade probe-image build`" in default.fr
    assert "\n" not in default.en + default.fr
    assert doctor.level is Level.NOTE
    assert "(offline, build it here: `grade probe-image build`, or --probe-image" in (
        doctor.detail.en
    )
