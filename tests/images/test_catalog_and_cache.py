"""Recipes, cache keys and the cache, and the push's refusal of images we cannot build: no root, no network."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import images.build as build_mod
import images.push as push_mod
from images.catalog import PAUSE_IMAGE, Recipe, UnbuildableImage, recipe_for, recipes, split_reference

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("ref, expect", [
    ("mariadb:10.11", ("mariadb", "10.11")),
    ("docker.io/library/mariadb:10.11", ("mariadb", "10.11")),
    ("docker.io/zenmldocker/zenml-server:0.98.0", ("zenmldocker/zenml-server", "0.98.0")),
    ("registry.k8s.io/pause:3.10", ("registry.k8s.io/pause", "3.10")),
    ("localhost:5000/x/y:1", ("localhost:5000/x/y", "1")),
])
def test_split_reference(ref, expect):
    assert split_reference(ref) == expect


def test_every_image_of_the_local_stack_and_the_node_has_a_recipe():
    assert {r.name for r in recipes().values()} == {"zenml-server", "mariadb", "postgres", "pause"}
    for ref in ("zenmldocker/zenml-server:0.98.0", "zenmldocker/zenml-server:0.97.0", "mariadb:10.11", "postgres:15",
                "docker.io/library/postgres:15", PAUSE_IMAGE):
        recipe, version = recipe_for(ref)
        assert version == ref.rsplit(":", 1)[1] and recipe.directory.is_dir()


@pytest.mark.parametrize("ref, words", [
    ("mysql:8.4.3", ["mysql:8.4.3", "no recipe builds mysql"]),
    ("mariadb:11.4", ["mariadb:11.4", "10.11"]),
    # The stack's default control-plane tag: Debian bookworm has PostgreSQL 15 only, and the message says so.
    ("postgres:16.6", ["postgres:16.6", "cannot build version '16.6'", "one of 15 (the major version Debian bookworm ships)"]),
    ("zenmldocker/zenml-server:latest", ["X.Y.Z"]),
    ("mariadb@sha256:" + "0" * 64, ["digest"]),
    ("mariadb", ["no tag"]),
])
def test_unbuildable_references_say_why(ref, words):
    with pytest.raises(UnbuildableImage) as info:
        recipe_for(ref)
    for w in words:
        assert w in str(info.value)


def _copy_recipe(tmp_path: Path, name: str) -> Recipe:
    real = next(r for r in recipes().values() if r.name == name)
    copy = tmp_path / name
    shutil.copytree(real.directory, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return Recipe(real.name, real.repository, copy, real.module)


def test_cache_key_covers_version_and_every_recipe_file(tmp_path):
    server = _copy_recipe(tmp_path, "zenml-server")
    mariadb = _copy_recipe(tmp_path, "mariadb")
    k98, k97 = build_mod.cache_key(server, "0.98.0"), build_mod.cache_key(server, "0.97.0")
    assert k98 != k97 and k98 == build_mod.cache_key(server, "0.98.0")
    other = build_mod.cache_key(mariadb, "10.11")
    (server.directory / "customize.sh").write_text((server.directory / "customize.sh").read_text() + "\n# changed\n")
    assert build_mod.cache_key(server, "0.98.0") != k98  # the edited recipe rebuilds
    assert build_mod.cache_key(mariadb, "10.11") == other  # the others do not
    script = mariadb.directory / "entrypoint.sh"
    script.chmod(script.stat().st_mode ^ 0o100)  # the executable bit is part of the recipe too
    assert build_mod.cache_key(mariadb, "10.11") != other


def _fake_recipe(tmp_path: Path, calls: list) -> Recipe:
    d = tmp_path / "fake"
    d.mkdir(exist_ok=True)
    (d / "recipe.txt").write_text("v1")

    def fake_build(version, work, layout, log, pip_cache):
        calls.append(version)
        (layout / "blobs" / "sha256").mkdir(parents=True)
        (layout / "blobs" / "sha256" / "0").write_bytes(b"x" * 10)
        (layout / "index.json").write_text("{}")
        log.write_text("built\n")

    return Recipe("fake", "example/fake", d, SimpleNamespace(build=fake_build, check_version=lambda v: None))


def test_build_is_cached_by_key_and_rebuilds_on_change(tmp_path, monkeypatch):
    calls: list = []
    recipe = _fake_recipe(tmp_path, calls)
    monkeypatch.setenv("ZENML_PLATFORM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(build_mod, "recipe_for", lambda ref: (recipe, ref.rsplit(":", 1)[1]))
    monkeypatch.setattr(build_mod.os, "geteuid", lambda: 0)
    first = build_mod.build("example/fake:1")
    assert not first.cached and calls == ["1"]
    layout = Path(first.layout)
    assert layout == tmp_path / "cache" / "images" / "fake" / first.key
    meta = json.loads((layout / "build.json").read_text())
    assert meta["reference"] == "example/fake:1" and meta["size_bytes"] == 10 and (layout / "build.log").is_file()
    again = build_mod.build("example/fake:1")
    assert again.cached and again.layout == first.layout and calls == ["1"]  # nothing rebuilt
    (recipe.directory / "recipe.txt").write_text("v2")
    changed = build_mod.build("example/fake:1")
    assert not changed.cached and changed.key != first.key and calls == ["1", "1"]
    assert not list((tmp_path / "cache" / "images" / "fake").glob(".work-*"))  # no scratch left behind


def test_a_cached_image_is_found_while_another_version_builds(tmp_path, monkeypatch):
    """A lookup of a built key must not wait for a build of another version of the same image."""
    import threading

    calls: list = []
    recipe = _fake_recipe(tmp_path, calls)
    inside, release = threading.Event(), threading.Event()
    quick = recipe.module.build

    def slow_for_v2(version, work, layout, log, pip_cache):
        if version == "2":
            inside.set()
            release.wait(20)
        quick(version, work, layout, log, pip_cache)

    recipe = Recipe(recipe.name, recipe.repository, recipe.directory, SimpleNamespace(build=slow_for_v2, check_version=lambda v: None))
    monkeypatch.setenv("ZENML_PLATFORM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(build_mod, "recipe_for", lambda ref: (recipe, ref.rsplit(":", 1)[1]))
    monkeypatch.setattr(build_mod.os, "geteuid", lambda: 0)
    build_mod.build("example/fake:1")
    builder = threading.Thread(target=build_mod.build, args=("example/fake:2",))
    builder.start()
    try:
        assert inside.wait(10)
        found = {}
        lookup = threading.Thread(target=lambda: found.setdefault("image", build_mod.build("example/fake:1")))
        lookup.start()
        lookup.join(timeout=5)
        assert not lookup.is_alive(), "the lookup waited for the other version's build"
        assert found["image"].cached
    finally:
        release.set()
        builder.join(timeout=20)
        lookup.join(timeout=20)


def test_a_failed_build_leaves_no_layout_and_keeps_its_log(tmp_path, monkeypatch):
    recipe = _fake_recipe(tmp_path, [])

    def failing(version, work, layout, log, pip_cache):
        log.write_text("step 1\nboom\n")
        raise build_mod.BuildError("boom")

    recipe = Recipe(recipe.name, recipe.repository, recipe.directory, SimpleNamespace(build=failing, check_version=lambda v: None))
    monkeypatch.setenv("ZENML_PLATFORM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(build_mod, "recipe_for", lambda ref: (recipe, "1"))
    monkeypatch.setattr(build_mod.os, "geteuid", lambda: 0)
    with pytest.raises(build_mod.BuildError):
        build_mod.build("example/fake:1")
    parent = tmp_path / "cache" / "images" / "fake"
    assert build_mod.cached("example/fake:1") is None
    assert [p.name for p in parent.iterdir() if not p.name.startswith(".")] == [f"failed-{build_mod.cache_key(recipe, '1')}.log"]


def test_push_refuses_the_whole_list_when_one_image_cannot_be_built(monkeypatch):
    def must_not_build(*a, **k):
        raise AssertionError("nothing may be built or pushed")

    monkeypatch.setattr(push_mod, "build", must_not_build)
    monkeypatch.setattr(push_mod, "copy_image", must_not_build)
    with pytest.raises(UnbuildableImage) as info:
        push_mod.push_pairs([("mariadb:10.11", "127.0.0.1:5000/mariadb:10.11"),
                             ("mysql:8.4.3", "127.0.0.1:5000/mysql:8.4.3")])
    assert "mysql:8.4.3" in str(info.value) and "mariadb:10.11" not in str(info.value)


@pytest.mark.parametrize("registry, loopback", [
    ("127.0.0.1:5000", True), ("localhost:5000/zenml", True), ("[::1]:5000", True), ("127.5.0.1", True),
    ("registry.corp.internal:5000", False), ("10.0.0.1:5000", False), ("localhost.evil.example:5000", False),
])
def test_tls_verification_is_only_skipped_for_loopback(registry, loopback):
    assert push_mod.is_loopback(registry) is loopback


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "images.push", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_push_cli_bad_input_exits_2_without_traceback():
    bad = _cli("--registry", "http://127.0.0.1:5000", "--stack", "local")
    assert bad.returncode == 2 and "--registry" in bad.stderr and "Traceback" not in bad.stderr
    # A stack whose database is MySQL needs mysql:8.4.3, which no recipe builds: refused up front.
    from images.build import stack_images

    mysql_stacks = [name for name in ("airgapped-kubernetes", "hybrid-kubernetes")
                    if any(src.startswith("mysql:") for src, _ in stack_images(name))]
    if not mysql_stacks:
        pytest.skip("no example stack with an in-cluster MySQL database")
    out = _cli("--registry", "127.0.0.1:5000", "--stack", mysql_stacks[0])
    assert out.returncode == 2, out.stderr
    assert "mysql:" in out.stderr and "no recipe builds mysql" in out.stderr and "Traceback" not in out.stderr
