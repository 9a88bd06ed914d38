"""Locating packs and reading their files: built-in by name, user packs by path, and errors
that name the file and the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pack_builders import copy_ecs, replace_in

from seabridge.errors import PackError
from seabridge.packs import MANIFEST, Fields, Where, builtin_packs, load_pack


def test_ecs_is_a_builtin_pack() -> None:
    assert "ecs" in builtin_packs()
    pack = load_pack("ecs")
    assert (pack.id, pack.title, pack.version) == ("ecs", "East China Sea", "1")
    assert pack.languages == ("en", "ja", "zh")
    assert set(pack.files) >= {"parties", "features", "zones", "derived_zones"}
    assert pack.manifest == pack.path / MANIFEST
    assert pack.description


def test_every_listed_file_exists_and_parses() -> None:
    pack = load_pack("ecs")
    for key, name in pack.files.items():
        path = pack.file(key)
        assert path.is_file() and path.name == Path(name).name
        if name.endswith(".toml"):
            data = pack.read_toml(key)
        elif name.endswith((".yaml", ".yml")):
            data = yaml.safe_load(pack.read_text(key))
        else:
            data = pack.read_json(key)
        assert data, key


def test_unknown_builtin_pack_lists_the_builtin_ones() -> None:
    with pytest.raises(PackError, match=r"no built-in pack 'atlantis' \(built-in packs: .*ecs"):
        load_pack("atlantis")


def test_user_pack_by_path(tmp_path: Path) -> None:
    root = copy_ecs(tmp_path)
    replace_in(root / MANIFEST, 'id = "ecs"', 'id = "my-sea"')
    for given in (root, str(root), f"{tmp_path}/mypack/"):
        pack = load_pack(given)
        assert pack.id == "my-sea"
        assert pack.path == root.resolve()
        assert pack.file("zones") == root.resolve() / "zones.geojson"


def test_a_relative_path_needs_a_slash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy_ecs(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert load_pack("./mypack").path == (tmp_path / "mypack").resolve()
    assert load_pack(Path("mypack")).path == (tmp_path / "mypack").resolve()
    with pytest.raises(PackError, match=r"give a directory path \(e\.g\. \./mypack\)"):
        load_pack("mypack")


def test_missing_directory_and_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="no such pack directory"):
        load_pack(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PackError, match=r"empty: not a pack \(no pack\.toml in it\)"):
        load_pack(tmp_path / "empty")


def test_missing_file_names_the_file_and_the_files_key(tmp_path: Path) -> None:
    root = copy_ecs(tmp_path)
    (root / "parties.toml").unlink()
    pack = load_pack(root)
    with pytest.raises(PackError) as caught:
        pack.read_toml("parties")
    message = str(caught.value)
    assert str(root.resolve() / "parties.toml") in message
    assert "not found (named by [files] parties in" in message
    assert MANIFEST in message


def test_missing_files_key_names_the_manifest_and_the_key() -> None:
    pack = load_pack("ecs")
    with pytest.raises(PackError) as caught:
        pack.file("glossary")
    message = str(caught.value)
    assert message.startswith(f"{pack.manifest}: [files]: no 'glossary' entry")
    assert 'add glossary = "FILE"' in message


def test_bad_toml_names_the_file_line_and_column(tmp_path: Path) -> None:
    root = copy_ecs(tmp_path)
    replace_in(root / "parties.toml", 'state = "JP"', "state = JP")
    with pytest.raises(PackError) as caught:
        load_pack(root).read_toml("parties")
    assert re.search(
        r"parties\.toml: invalid TOML: .*\(at line \d+, column \d+\)", str(caught.value)
    )


def test_bad_json_names_the_file_line_and_column(tmp_path: Path) -> None:
    root = copy_ecs(tmp_path)
    replace_in(root / "zones.geojson", '"kind": "baseline",', '"kind": "baseline"')
    with pytest.raises(PackError, match=r"zones\.geojson: invalid JSON at line \d+, column \d+: "):
        load_pack(root).read_json("zones")


def test_json_must_be_an_object_and_utf8(tmp_path: Path) -> None:
    root = copy_ecs(tmp_path)
    (root / "zones.geojson").write_text("[]", encoding="utf-8")
    with pytest.raises(PackError, match=r"zones\.geojson: expected a JSON object"):
        load_pack(root).read_json("zones")
    (root / "zones.geojson").write_bytes(b'{"name": "\xff"}')
    with pytest.raises(PackError, match=r"zones\.geojson: not UTF-8 text"):
        load_pack(root).read_json("zones")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('id = "ecs"\n', "", r"pack\.toml: pack: missing required key 'id'"),
        ('id = "ecs"', 'id = "East China"', r"pack\.toml: pack\.id: 'East China' is not a pack id"),
        ('version = "1"', "version = 1", r"pack\.toml: pack\.version: expected a string, found an"),
        ('["en", "ja", "zh"]', '["ja", "zh"]', r"pack\.toml: pack\.languages: must include en"),
        (
            '["en", "ja", "zh"]',
            '["en", 3]',
            r"pack\.toml: pack\.languages\[1\]: expected a language",
        ),
        ('title = "', 'titel = "', r"pack\.toml: pack: missing required key 'title'"),
        (
            "[files]\n",
            '[files]\nglossary = "../../etc/passwd"\n',
            r"files\.glossary: .* inside the pack",
        ),
        ("[files]", "[file]", r"pack\.toml: missing required key 'files'"),
    ],
)
def test_manifest_errors_name_the_field(tmp_path: Path, old: str, new: str, message: str) -> None:
    root = copy_ecs(tmp_path)
    replace_in(root / MANIFEST, old, new)
    with pytest.raises(PackError, match=message):
        load_pack(root)


def test_unknown_manifest_key_is_an_error(tmp_path: Path) -> None:
    root = copy_ecs(tmp_path)
    replace_in(root / MANIFEST, 'version = "1"', 'version = "1"\nauthor = "me"')
    with pytest.raises(PackError, match=r"pack\.toml: pack: unknown key 'author' \(known keys: "):
        load_pack(root)


def test_fields_accessors_locate_every_problem() -> None:
    where = Where("f.toml")
    fields = Fields(
        {"a": 1, "b": True, "c": "x", "d": [1], "e": {"en": ""}, "n": float("nan")}, where
    )
    with pytest.raises(PackError, match=r"^f\.toml: a: expected a string, found an integer$"):
        fields.text("a")
    with pytest.raises(PackError, match=r"^f\.toml: b: expected an integer, found a boolean$"):
        fields.integer("b")
    with pytest.raises(PackError, match=r"^f\.toml: c: expected a number, found a string$"):
        fields.number("c")
    with pytest.raises(PackError, match=r"^f\.toml: n: nan is not a finite number$"):
        fields.number("n")
    with pytest.raises(PackError, match=r"^f\.toml: d: expected a table, found an array$"):
        fields.table("d")
    with pytest.raises(PackError, match=r"^f\.toml: e\.en: must not be empty$"):
        fields.names("e")
    with pytest.raises(PackError, match=r"^f\.toml: a: 1 is below the minimum 2$"):
        fields.integer("a", minimum=2)
    with pytest.raises(PackError, match=r"^f\.toml: c: 'x' is not one of y, z$"):
        fields.text("c", choices=("y", "z"))
    assert fields.text("absent", "fallback") == "fallback"
    assert fields.optional_text("also-absent") is None
    assert fields.flag("b") is True
    assert str(where.key("party").index(1).key("state")) == "f.toml: party[1].state"
