"""The Terraform providers' schemas, offline, from the CDK-for-Terraform prebuilt provider packages.

`terraform init` cannot download providers here, so the schemas come from PyPI's
`cdktn-provider-*` wheels, pinned below (package version -> provider version). Each wheel
carries a jsii tarball whose generated JavaScript (`package/lib/<resource>/**/*.js`) holds,
for every resource, data source, ephemeral resource and the provider block:

- `static tfResourceType = "aws_s3_bucket"` on the class;
- one comment per attribute and nested block, at every nesting level, with its snake_case
  name and flags: `// bucket - computed: true, optional: true, required: false`, followed
  by `_x = new <Class>(this, "bucket", ...)` when the value is nested (a block, or a
  computed object such as `describe_output`);
- the `*ToHclTerraform` functions (and the class's `synthesizeHclAttributes`), which map the
  configurable properties to their HCL names and say which are blocks (`isBlock: true`).

The jsii assembly (`.jsii`) has the same structs but neither the snake_case names nor the
`computed` flag, so it is not read. `ensure` downloads a wheel once (`pip download --no-deps`,
sha256-checked), extracts a compact JSON into `.cache/provider-schemas/` keyed by package
version and extraction format, and deletes the wheel. `python provider_schema.py ensure`
is what `scripts/test static` runs; `load` reads the cache (and builds it when missing);
`python provider_schema.py describe PACKAGE VERSION` prints the pin of another version.

JSON format: {"provider": ..., "provider_version": ..., "provider_config": BLOCK,
"resource": {type: BLOCK}, "data": {type: BLOCK}, "ephemeral": {type: BLOCK}} where a BLOCK
maps each name to its flags ("r" required, "o" optional, "c" computed, "b" written as a
block, "*" contents not described: a recursive schema cut short, or an `any` the generator
used for a too deep one), or to [flags, BLOCK] when
the value has named parts (a nested block or object).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NamedTuple

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "provider-schemas"
# Bump when the extraction or the JSON layout changes: old cache files are then ignored.
FORMAT = 1


@dataclass(frozen=True)
class Pin:
    """One provider: the prebuilt package pinned exactly, and the provider version it was generated from."""

    name: str  # local name and resource type prefix: aws_..., snowflake_...
    source: str  # registry source, as in required_providers
    version: str  # provider version the package was generated from (checked on extraction)
    package: str  # PyPI distribution
    package_version: str
    sha256: str  # of the wheel

    @property
    def cache_file(self) -> Path:
        return CACHE / f"{self.package}-{self.package_version}.v{FORMAT}.json"


PINS = {
    pin.name: pin
    for pin in [
        Pin(
            name="aws",
            source="hashicorp/aws",
            version="6.69.1",
            package="cdktn-provider-aws",
            package_version="25.8.1",
            sha256="2ffa579cb88b063cb3a9937e43c519391e876845768f51638a848bdf2ce9f354",
        ),
        Pin(
            name="snowflake",
            source="snowflakedb/snowflake",
            version="2.22.0",
            package="cdktn-provider-snowflake",
            package_version="18.3.0",
            sha256="120e51005aa6357de6f3269e92d1449688691e8c0a4fa4eaa592db6b008e0df2",
        ),
    ]
}


# ---------------------------------------------------------------------------------------
# The schema model
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attr:
    """An attribute or nested block of a block schema."""

    name: str
    required: bool
    optional: bool
    computed: bool
    block: bool  # written as a nested block (`name { ... }`), not `name = ...`
    nested: Block | None  # the named parts of a block or of an object value
    opaque: bool  # may have named parts that the schema does not describe

    @property
    def argument(self) -> bool:
        """Can be set in the configuration."""
        return self.required or self.optional


class Block:
    """The attributes and nested blocks at one nesting level."""

    def __init__(self, raw: dict):
        self._raw = raw

    def __contains__(self, name: str) -> bool:
        return name in self._raw

    def __iter__(self) -> Iterator[Attr]:
        return (self[name] for name in self._raw)

    def __getitem__(self, name: str) -> Attr:
        value = self._raw[name]
        flags, nested = (value, None) if isinstance(value, str) else (value[0], Block(value[1]))
        return Attr(name, "r" in flags, "o" in flags, "c" in flags, "b" in flags, nested, "*" in flags)

    def get(self, name: str) -> Attr | None:
        return self[name] if name in self else None


@dataclass(frozen=True)
class Schema:
    """One provider's schema at the pinned version."""

    pin: Pin
    provider_config: Block
    kinds: dict[str, dict[str, dict]]  # "resource" | "data" | "ephemeral" -> type -> raw block

    def block(self, kind: str, rtype: str) -> Block | None:
        raw = self.kinds[kind].get(rtype)
        return None if raw is None else Block(raw)


def load(name: str) -> Schema:
    pin = PINS[name]
    raw = json.loads(ensure(pin).read_text())
    kinds = {kind: raw[kind] for kind in ("resource", "data", "ephemeral")}
    return Schema(pin, Block(raw["provider_config"]), kinds)


def provider_of(rtype: str) -> str | None:
    """The pinned provider a resource type belongs to, by its prefix."""
    prefix = rtype.split("_", 1)[0]
    return prefix if prefix in PINS else None


# ---------------------------------------------------------------------------------------
# Download and cache
# ---------------------------------------------------------------------------------------


def ensure(pin: Pin) -> Path:
    """The cache file of `pin`, built first when missing (downloads the wheel once)."""
    if pin.cache_file.is_file():
        return pin.cache_file
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        wheel = _download(pin.package, pin.package_version, Path(tmp))
        digest = _sha256(wheel)
        if digest != pin.sha256:
            raise RuntimeError(f"{wheel.name}: sha256 {digest}, pinned {pin.sha256} (see tests/terraform/README.md)")
        schema = extract(wheel, pin)
        partial = pin.cache_file.with_suffix(".partial")
        partial.write_text(json.dumps(schema, separators=(",", ":"), sort_keys=True))
        partial.replace(pin.cache_file)
    for stale in CACHE.glob(f"{pin.package}-*.json"):
        if stale != pin.cache_file:
            stale.unlink()
    return pin.cache_file


def _download(package: str, version: str, into: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--only-binary=:all:", "--dest", str(into), f"{package}=={version}"],
        check=True,
    )
    (wheel,) = into.glob("*.whl")
    return wheel


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def describe(package: str, version: str) -> str:
    """What to write into PINS for a package version (for a bump): its sha256 and provider version."""
    with tempfile.TemporaryDirectory() as tmp:
        wheel = _download(package, version, Path(tmp))
        package_json, _ = _javascript_by_directory(wheel, sources=False)
        provider = package_json["cdktf"]["provider"]
        return (f'package="{package}", package_version="{version}", sha256="{_sha256(wheel)}",\n'
                f'source="{provider["name"].removeprefix("registry.terraform.io/")}", version="{provider["version"]}"')


# ---------------------------------------------------------------------------------------
# Extraction from the generated JavaScript
# ---------------------------------------------------------------------------------------

_FLAGS = re.compile(r"^ {4}// (\w+) - computed: (true|false), optional: (true|false), required: (true|false)$")
_MEMBER = re.compile(r'^ {4}_\w+ = new (?:\w+\.)?(\w+)\(this, "(\w+)"')
_ELEMENT = re.compile(r"return new (?:\w+\.)?(\w+)\(this\.terraformResource")
_RESOURCE_TYPE = re.compile(r'^ {4}static tfResourceType = "(\w+)";$', re.M)
_HCL_ENTRY = re.compile(r"^ +(\w+): \{\n +value: (.*),\n +isBlock: (true|false),$", re.M)
_STRUCT_FUNCTION = re.compile(r"(?:\b(\w+)\.)?\b(\w+ToHclTerraform)\b")
_BASES = {
    "cdktn.TerraformResource": "resource",
    "cdktn.TerraformDataSource": "data",
    "cdktn.TerraformEphemeralResource": "ephemeral",
    "cdktn.TerraformProvider": "provider",
}


@dataclass
class _Class:
    base: str
    body: str
    flags: dict[str, str]  # snake name -> "r"/"o"/"c"/"oc"...
    members: dict[str, str]  # snake name -> class of its value
    element: str | None  # for a list or map class: the class of its elements


class _Entry(NamedTuple):
    """One configurable argument or block in the generated HCL synthesis."""

    block: bool  # isBlock
    function: str | None  # the *ToHclTerraform function of its value, for a struct
    untyped: bool  # `any`: the generator gave up on a too deep schema (aws_wafv2_web_acl's statements)


@dataclass
class _Module:
    """The classes and *ToHclTerraform functions of one resource's directory."""

    classes: dict[str, _Class]
    functions: dict[str, dict[str, _Entry]]  # function name -> snake name -> entry


def _top_level_items(text: str, opener: re.Pattern) -> Iterator[tuple[re.Match, str]]:
    """(header match, body) of each top-level `class`/`function` (bodies end at a column-0 `}`)."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        header = opener.match(lines[i])
        if not header:
            i += 1
            continue
        end = lines.index("}", i + 1)
        yield header, "\n".join(lines[i + 1:end])
        i = end + 1


def _hcl_entries(body: str) -> dict[str, _Entry]:
    """The HCL entries (configurable arguments and blocks) of a synthesizeHclAttributes / *ToHclTerraform body."""
    entries = {}
    for name, value, is_block in _HCL_ENTRY.findall(body):
        functions = [fn for module, fn in _STRUCT_FUNCTION.findall(value) if module != "cdktn"]
        untyped = "cdktn.anyToHclTerraform(" in value
        entries[name] = _Entry(is_block == "true", functions[0] if functions else None, untyped)
    return entries


def _parse_class(base: str, body: str) -> _Class:
    flags: dict[str, str] = {}
    members: dict[str, str] = {}
    current = None
    for line in body.split("\n"):
        if m := _FLAGS.match(line):
            current, computed, optional, required = m.groups()
            flags[current] = "".join(
                letter for letter, on in (("r", required), ("o", optional), ("c", computed)) if on == "true")
        elif (m := _MEMBER.match(line)) and m.group(2) == current:
            members[current] = m.group(1)
    element = _ELEMENT.search(body) if base in ("cdktn.ComplexList", "cdktn.ComplexMap") else None
    return _Class(base, body, flags, members, element.group(1) if element else None)


_CLASS = re.compile(r"^class (\w+) extends ([\w.]+) \{$")
_FUNCTION = re.compile(r"^function (\w+ToHclTerraform)\(struct\) \{$")


def _parse_module(sources: list[str]) -> _Module:
    module = _Module({}, {})
    for text in sources:
        for header, body in _top_level_items(text, _CLASS):
            module.classes[header.group(1)] = _parse_class(header.group(2), body)
        for header, body in _top_level_items(text, _FUNCTION):
            module.functions[header.group(1)] = _hcl_entries(body)
    return module


class _Builder:
    def __init__(self, module: _Module):
        self.module = module
        self.unflagged: list[str] = []

    def block(self, cls: _Class | None, entries: dict[str, _Entry], path: str,
              outer: frozenset = frozenset()) -> dict:
        """The raw BLOCK of a class (attribute flags, computed parts) and its HCL entries (arguments).

        `outer` holds the classes of the enclosing levels: the generated code reuses a class for
        a recursive schema (aws_wafv2_web_acl_rule's statements), whose repetition is cut with "*".
        Provider blocks have no classes below the top level: their nested arguments come from
        the HCL entries alone, flagged optional.
        """
        outer = outer | {id(cls)}
        flags = cls.flags if cls else {}
        members = cls.members if cls else {}
        result = {}
        for name in [*flags, *(n for n in entries if n not in flags)]:
            entry = entries.get(name, _Entry(False, None, False))
            if name not in flags and cls is not None:
                self.unflagged.append(f"{path}.{name}")
            letters = flags.get(name, "o") + ("b" if entry.block else "")
            member = self._element(members.get(name))
            child_entries = self.module.functions.get(entry.function, {}) if entry.function else {}
            if entry.untyped or (member is not None and id(member) in outer):
                result[name] = letters + "*"
            elif member is not None or child_entries:
                nested = self.block(member, child_entries, f"{path}.{name}", outer)
                result[name] = [letters, nested] if nested else letters
            else:
                result[name] = letters
        return result

    def _element(self, class_name: str | None) -> _Class | None:
        """The class describing one value: a list's or map's element class, else the class itself."""
        seen = set()
        cls = self.module.classes.get(class_name) if class_name else None
        while cls is not None and cls.element is not None and cls.element not in seen:
            seen.add(cls.element)
            cls = self.module.classes.get(cls.element)
        return cls


def _javascript_by_directory(wheel: Path, sources: bool = True) -> tuple[dict, dict[str, list[str]]]:
    """package.json of the jsii tarball, and (with sources) the JavaScript under package/lib/<dir>/."""
    package_json: dict = {}
    by_directory: dict[str, list[str]] = {}
    with zipfile.ZipFile(wheel) as archive:
        (member,) = [n for n in archive.namelist() if n.endswith(".jsii.tgz")]
        with archive.open(member) as raw, tarfile.open(fileobj=raw, mode="r|gz") as tar:
            for entry in tar:
                if entry.name == "package/package.json":
                    package_json = json.load(tar.extractfile(entry))
                    if not sources:
                        break
                    continue
                parts = entry.name.split("/")
                if len(parts) < 4 or parts[1] != "lib" or not entry.name.endswith(".js"):
                    continue
                text = tar.extractfile(entry).read().decode()
                # Drop the inline source map (half of each file).
                text = text.split("\n//# sourceMappingURL=", 1)[0]
                by_directory.setdefault(parts[2], []).append(text)
    return package_json, by_directory


def extract(wheel: Path, pin: Pin) -> dict:
    package_json, sources = _javascript_by_directory(wheel)
    generated_from = package_json.get("cdktf", {}).get("provider", {})
    expected = f"registry.terraform.io/{pin.source}"
    if (generated_from.get("name"), generated_from.get("version")) != (expected, pin.version):
        raise RuntimeError(
            f"{pin.package} {pin.package_version} was generated from {generated_from}, pinned {expected} {pin.version}")
    result: dict = {"provider": pin.source, "provider_version": pin.version, "package": pin.package,
                    "package_version": pin.package_version, "provider_config": None,
                    "resource": {}, "data": {}, "ephemeral": {}}
    unflagged: list[str] = []
    for _, texts in sorted(sources.items()):
        module = _parse_module(texts)
        builder = _Builder(module)
        for class_name, cls in module.classes.items():
            kind = _BASES.get(cls.base)
            if kind is None:
                continue
            block = builder.block(cls, _hcl_entries(cls.body), class_name)
            if kind == "provider":
                result["provider_config"] = block
                continue
            (rtype,) = _RESOURCE_TYPE.findall(cls.body)
            result[kind][rtype] = block
        unflagged += builder.unflagged
    if unflagged or result["provider_config"] is None or not result["resource"]:
        raise RuntimeError(f"{pin.package}: the generated code has an unexpected shape; "
                           f"arguments without flags: {unflagged[:10]}")
    return result


def main(argv: list[str]) -> int:
    if argv[1:2] == ["describe"] and len(argv) == 4:
        print(describe(argv[2], argv[3]))
        return 0
    if argv[1:] != ["ensure"]:
        print(f"usage: {argv[0]} ensure | describe PACKAGE VERSION", file=sys.stderr)
        return 2
    for pin in PINS.values():
        if pin.cache_file.is_file():
            continue
        started = time.monotonic()
        ensure(pin)
        print(f"{pin.package} {pin.package_version} ({pin.source} {pin.version}): "
              f"schema extracted in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
