"""Check terraform/ against the pinned providers' schemas (provider_schema.py), offline.

What `check(root)` reports, as `Finding`s (rule: what):

- type:      a resource, data source, ephemeral resource, mock or override whose type the
             provider of its prefix (aws_, snowflake_) does not have, or a prefix no schema
             is pinned for;
- argument:  an argument or nested block unknown at its nesting level (`dynamic "x"` blocks
             included), a computed-only attribute set, an attribute written as a block;
- required:  a required argument or nested block missing (a `dynamic` block counts);
- reference: `TYPE.NAME.ATTR...` / `data.TYPE.NAME.ATTR...` in any expression (locals,
             outputs, module arguments, other resources, `check` and tftest asserts) naming an
             attribute that does not exist, at any depth the schema describes
             (`describe_output[0].external_id`), or a resource the module does not declare;
- unset:     a reference reading an optional, non-computed argument that the referenced block
             does not set: it is null after apply, the provider never fills it in;
- mock:      a tftest/tfmock `defaults` or override `values` naming an attribute the type does
             not have, or mock `defaults` for a non-computed attribute (mocks only generate
             computed attributes, so such a default is never used);
- pin:       a `required_providers` entry that is not `~> X.Y.Z` / `~> X.Y` starting at the
             schema version checked against, or names another source; a module using a
             provider it does not declare.

The configuration is read with python-hcl2 through hcl.py; references are found by scanning
the expression parts (`${...}`) of every string value, with the string literals inside them
blanked. Text of heredocs and of files read by templatefile() is not checked.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import hcl  # noqa: E402
import provider_schema  # noqa: E402
from provider_schema import Attr, Block, Schema  # noqa: E402

META_ARGUMENTS = {
    "resource": {"count", "for_each", "provider", "depends_on", "lifecycle", "connection", "provisioner"},
    "data": {"count", "for_each", "provider", "depends_on", "lifecycle"},
    "ephemeral": {"count", "for_each", "provider", "depends_on", "lifecycle"},
}
# Types of Terraform itself (the built-in provider): no schema package, nothing to check.
BUILTIN_TYPES = {"terraform_data", "terraform_remote_state"}
# Top-level blocks whose expressions name addresses rather than read values.
ADDRESS_BLOCKS = {"moved", "import", "removed"}


@dataclass(frozen=True, order=True)
class Finding:
    file: str  # relative to the checked directory
    rule: str
    where: str
    message: str
    line: int = field(default=0, compare=False)

    def __str__(self) -> str:
        at = f"{self.file}:{self.line}" if self.line else self.file
        return f"{at}: [{self.rule}] {self.where}: {self.message}"


# ---------------------------------------------------------------------------------------
# Expressions and references
# ---------------------------------------------------------------------------------------


def expression_text(value: str) -> str:
    """The expression parts of an HCL template string, string literals inside them blanked.

    `"arn:${data.aws_partition.current.partition}:iam"` -> " data.aws_partition.current.partition "
    Nested templates (`"${a == "x${b.c}" ? 1 : 2}"`) keep their own expressions. Single quotes
    delimit strings too: bc-python-hcl2 renders list literals inside expressions as Python reprs.
    """
    out: list[str] = []
    n = len(value)

    def template(i: int, quote: str | None) -> int:
        while i < n:
            c = value[i]
            if quote and c == "\\":
                i += 2
            elif quote and c == quote:
                return i + 1
            elif value.startswith(("$${", "%%{"), i):
                i += 3
            elif value.startswith(("${", "%{"), i):
                out.append(" ")
                i = expression(i + 2)
                out.append(" ")
            else:
                i += 1
        return i

    def expression(i: int) -> int:
        depth = 0
        while i < n:
            c = value[i]
            if c in "\"'":
                out.append(" ")
                i = template(i + 1, c)
                continue
            if c in "([{":
                depth += 1
            elif c in ")]}":
                if depth == 0:
                    return i + 1
                depth -= 1
            out.append(c)
            i += 1
        return i

    template(0, None)
    return "".join(out)


_NAME = r"[A-Za-z_][\w-]*"
_REFERENCE = re.compile(
    rf"(?<![\w.\]])(?:(data|ephemeral)\s*\.\s*)?([a-z][a-z0-9]*_[a-z0-9_]+)\s*\.\s*({_NAME})"
    rf"((?:\s*\[[^\[\]]*\]|\s*\.\s*(?:{_NAME}|\*|\d+))*)")
_STEP = re.compile(rf"\[([^\[\]]*)\]|\.\s*({_NAME}|\*|\d+)")


@dataclass(frozen=True)
class Reference:
    kind: str  # "resource" | "data" | "ephemeral"
    rtype: str
    name: str
    path: tuple[str, ...]  # attribute names after the instance key; "[]" for an index step

    @property
    def address(self) -> str:
        prefix = "" if self.kind == "resource" else f"{self.kind}."
        return f"{prefix}{self.rtype}.{self.name}"

    def __str__(self) -> str:
        return self.address + "".join("[]" if step == "[]" else f".{step}" for step in self.path)


_ITERATORS = re.compile(rf"\bfor\s+({_NAME})(?:\s*,\s*({_NAME}))?\s+in\b")


def references(value: str) -> Iterator[Reference]:
    """Resource and data source references in the expressions of a string value.

    Candidates are `name_with_underscore.name...` not preceded by a dot (so not `var.aws_x`,
    `module.m.aws_x`); the iteration variables of for expressions are left out.
    """
    text = expression_text(value)
    iterators = {name for pair in _ITERATORS.findall(text) for name in pair if name}
    for match in _REFERENCE.finditer(text):
        kind, rtype, name, rest = match.groups()
        if kind is None and rtype in iterators:
            continue
        steps = []
        for index, attribute in _STEP.findall(rest):
            steps.append("[]" if attribute in ("", "*") or attribute.isdigit() else attribute)
        if steps and steps[0] == "[]":  # the instance key of count / for_each
            steps = steps[1:]
        yield Reference(kind or "resource", rtype, name, tuple(steps))


def strings(value: Any) -> Iterator[str]:
    """Every string in a parsed value (keys of object literals included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


# ---------------------------------------------------------------------------------------
# The configuration
# ---------------------------------------------------------------------------------------


@dataclass
class Module:
    directory: Path
    files: dict[Path, dict]
    # (kind, type, name) -> body
    blocks: dict[tuple[str, str, str], dict] = field(default_factory=dict)
    calls: dict[str, Path] = field(default_factory=dict)  # module call name -> local source directory


def _entries(tree: dict, kind: str) -> Iterator[tuple[str, str, dict]]:
    """(type, name, body) of resource/data/ephemeral blocks, `check`-scoped data sources included."""
    yield from hcl.typed_blocks(tree, kind)
    if kind == "data":
        for _, check in hcl.blocks(tree, "check"):
            yield from hcl.typed_blocks(check, "data")


def load_module(directory: Path) -> Module:
    files = {path: hcl.load(path) for path in sorted(directory.glob("*.tf"))}
    module = Module(directory, files)
    for tree in files.values():
        for kind in META_ARGUMENTS:
            for rtype, name, body in _entries(tree, kind):
                module.blocks[(kind, rtype, name)] = body
        for name, body in hcl.blocks(tree, "module"):
            source = str(body.get("source", ""))
            if source.startswith(("./", "../")):
                module.calls[name] = (directory / source).resolve()
    return module


def config_directories(root: Path) -> list[Path]:
    """Every directory of .tf files under root (root module, modules/*, any other)."""
    return sorted({path.parent for path in root.rglob("*.tf") if not _hidden(path, root)})


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _line_of(path: Path, needles: tuple[str, ...], after: int = 0) -> int:
    """The first line from `after` on holding every needle (0 when none does), for readable findings."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if number >= after and all(needle in line for needle in needles):
            return number
    return 0


# ---------------------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------------------


class Checker:
    def __init__(self, root: Path, schemas: dict[str, Schema]):
        self.root = root.resolve()
        self.schemas = schemas
        self.findings: set[Finding] = set()
        self.modules = {d.resolve(): load_module(d) for d in config_directories(self.root)}

    # -- reporting -----------------------------------------------------------------------

    def report(self, path: Path, rule: str, where: str, message: str,
               needles: tuple[str, ...] = (), after: int = 0) -> None:
        line = _line_of(path, needles, after) if needles else after
        self.findings.add(Finding(str(path.relative_to(self.root)), rule, where, message, line))

    # -- schemas -------------------------------------------------------------------------

    def schema_block(self, path: Path, kind: str, rtype: str, context: str) -> Block | None:
        """The schema of a type, or None after reporting why there is none (None for built-ins too)."""
        if rtype in BUILTIN_TYPES:
            return None
        provider = provider_schema.provider_of(rtype)
        if provider is None:
            self.report(path, "type", f"{kind} {rtype}",
                        f"no provider schema is pinned for the prefix of {rtype} (provider_schema.PINS)", (rtype,))
            return None
        schema = self.schemas[provider]
        block = schema.block(kind, rtype)
        if block is None:
            self.report(path, "type", f"{kind} {rtype}",
                        f"{schema.pin.source} {schema.pin.version} has no {kind} type {rtype} ({context})", (rtype,))
        return block

    # -- configuration blocks -------------------------------------------------------------

    def check_body(self, path: Path, where: str, body: dict, block: Block, meta: set[str], start: int) -> None:
        """Arguments and nested blocks of one block body against its schema, recursively.

        `start` is the line of the block's header: findings point at the first line from there
        on that names what they are about.
        """
        present = set()
        for key, value in body.items():
            if key in meta:
                continue
            if key == "dynamic":
                for label, spec in self._dynamic_blocks(value):
                    present.add(label)
                    attr = block.get(label)
                    if attr is None or not attr.block:
                        what = "unknown" if attr is None else "not a nested block"
                        self.report(path, "argument", f"{where}.{label}", f"dynamic block: {what}",
                                    ("dynamic", label), start)
                        continue
                    for content in spec.get("content", []):
                        self._check_nested(path, f"{where}.{label}", attr, content, start)
                continue
            present.add(key)
            attr = block.get(key)
            if attr is None:
                self.report(path, "argument", f"{where}.{key}", "unknown argument or block at this level",
                            (key,), start)
            elif not attr.argument:
                self.report(path, "argument", f"{where}.{key}", "computed-only attribute, cannot be set",
                            (key,), start)
            elif attr.block:
                for nested_body in value if isinstance(value, list) else [value]:
                    if isinstance(nested_body, dict):
                        self._check_nested(path, f"{where}.{key}", attr, nested_body, start)
        for attr in block:
            if attr.required and attr.name not in present:
                kind = "block" if attr.block else "argument"
                self.report(path, "required", f"{where}.{attr.name}", f"required {kind} missing", (), start)

    def _check_nested(self, path: Path, where: str, attr: Attr, body: dict, start: int) -> None:
        if attr.nested is not None and not attr.opaque:
            line = _line_of(path, (attr.name,), start) or start
            self.check_body(path, where, body, attr.nested, set(), line)

    @staticmethod
    def _dynamic_blocks(value: Any) -> Iterator[tuple[str, dict]]:
        for entry in value if isinstance(value, list) else [value]:
            for label, spec in entry.items():
                yield label, spec

    def check_blocks(self, module: Module) -> None:
        for path, tree in module.files.items():
            for kind, meta in META_ARGUMENTS.items():
                for rtype, name, body in _entries(tree, kind):
                    block = self.schema_block(path, kind, rtype, f"{rtype}.{name}")
                    if block is not None:
                        start = _line_of(path, (kind, f'"{rtype}"', f'"{name}"'))
                        self.check_body(path, f"{rtype}.{name}", body, block, meta, start)
            self.check_providers(path, tree)

    def check_providers(self, path: Path, tree: dict) -> None:
        for name, body in hcl.blocks(tree, "provider"):
            schema = self.schemas.get(name)
            if schema is None:
                self.report(path, "type", f"provider {name}", "no provider schema is pinned for it",
                            ("provider", f'"{name}"'))
                continue
            start = _line_of(path, ("provider", f'"{name}"'))
            self.check_body(path, f"provider {name}", body, schema.provider_config, {"alias", "version"}, start)

    # -- references ------------------------------------------------------------------------

    def check_references(self, path: Path, values: Iterable[str], module: Module) -> None:
        for value in values:
            for ref in references(value):
                self.check_reference(path, ref, module)

    def check_reference(self, path: Path, ref: Reference, module: Module) -> None:
        if provider_schema.provider_of(ref.rtype) is None:
            return  # a built-in type, a dynamic block's iterator (`not_principals.value`), ...
        block = self.schema_block(path, ref.kind, ref.rtype, f"referenced as {ref}")
        if block is None:
            return
        body = module.blocks.get((ref.kind, ref.rtype, ref.name))
        where = str(ref)
        if body is None:
            self.report(path, "reference", where,
                        f"{module.directory.relative_to(self.root.parent)} declares no {ref.address}",
                        (ref.address,))
            return
        if not ref.path:
            return
        attr = block.get(ref.path[0])
        if attr is None:
            self.report(path, "reference", where, f"{ref.rtype} has no attribute {ref.path[0]}",
                        (ref.address, ref.path[0]))
            return
        if not attr.computed and not self._sets(body, attr.name):
            self.report(path, "unset", where,
                        f"{attr.name} is an optional, non-computed argument that {ref.address} does not set: "
                        "it is null after apply", (ref.address, attr.name))
        for step in ref.path[1:]:
            if step == "[]":
                continue
            if attr.nested is None or attr.opaque:
                return  # a map, a JSON-ish object or a cut recursion: keys are not in the schema
            nested = attr.nested.get(step)
            if nested is None:
                self.report(path, "reference", where, f"{attr.name} of {ref.rtype} has no attribute {step}",
                            (ref.address, step))
                return
            attr = nested

    @staticmethod
    def _sets(body: dict, name: str) -> bool:
        if name in body:
            return True
        return any(label == name for label, _ in Checker._dynamic_blocks(body.get("dynamic", [])))

    def check_module_references(self, module: Module) -> None:
        for path, tree in module.files.items():
            values = [value for kind, entries in tree.items() if kind not in ADDRESS_BLOCKS
                      for value in strings(entries)]
            self.check_references(path, values, module)

    # -- provider requirements ---------------------------------------------------------------

    def check_pins(self, module: Module) -> None:
        declared: dict[str, tuple[Path, dict]] = {}
        for path, tree in module.files.items():
            for terraform in tree.get("terraform", []):
                for required in terraform.get("required_providers", []):
                    for name, spec in hcl.as_map(required).items():
                        declared[name] = (path, hcl.as_map(spec) if not isinstance(spec, str) else {"version": spec})
        for name, (path, spec) in declared.items():
            self._check_pin(path, name, spec)
        used = {provider_schema.provider_of(rtype) for _, rtype, _ in module.blocks} - {None}
        for name in sorted(used - set(declared)):
            first = next(iter(module.files))
            self.report(first, "pin", f"required_providers.{name}",
                        f"{module.directory.name} uses {name} resources but does not declare the provider "
                        f"(source {provider_schema.PINS[name].source})")

    def _check_pin(self, path: Path, name: str, spec: dict) -> None:
        pin = provider_schema.PINS.get(name)
        where = f"required_providers.{name}"
        if pin is None:
            self.report(path, "pin", where, "no provider schema is pinned for it (provider_schema.PINS)", (name,))
            return
        source = str(spec.get("source", "")).lower().removeprefix("registry.terraform.io/")
        if source != pin.source:
            self.report(path, "pin", where, f"source {spec.get('source')!r}, the schema checked is {pin.source}",
                        (str(spec.get("source")),))
        constraint = str(spec.get("version", ""))
        wanted = f'"~> {pin.version}"' + (f' or "~> {pin.version[:-2]}"' if pin.version.endswith(".0") else "")
        if not admits_exactly(constraint, pin.version):
            self.report(path, "pin", where,
                        f"version {constraint!r} must be {wanted}: the schema checked is {pin.source} {pin.version}",
                        (constraint,) if constraint else (name,))

    # -- tests and mocks ----------------------------------------------------------------------

    def check_test_file(self, path: Path) -> None:
        tree = hcl.load(path)
        root_module = self.modules.get(self._test_root(path))
        for name, body in hcl.blocks(tree, "mock_provider"):
            self.check_mocks(path, body, name)
        self.check_overrides(path, tree, None)
        self.check_providers(path, tree)
        for run_name, run in hcl.blocks(tree, "run"):
            module = root_module
            for module_block in run.get("module", []):
                source = str(module_block.get("source", ""))
                if source.startswith(("./", "../")):
                    module = self.modules.get((self._test_root(path) / source).resolve())
            self.check_overrides(path, run, module)
            if module is None:
                continue
            conditions = [str(assertion.get("condition", "")) for assertion in run.get("assert", [])]
            self.check_references(path, conditions, module)

    def _test_root(self, path: Path) -> Path:
        """The module a test file tests: the parent of its tests/ directory, or its own directory."""
        directory = path.parent.resolve()
        return directory.parent if directory.name == "tests" else directory

    def check_mock_file(self, path: Path) -> None:
        self.check_mocks(path, hcl.load(path), None)

    def check_mocks(self, path: Path, body: dict, provider: str | None) -> None:
        """mock_resource/mock_data blocks (of a mock_provider or a .tfmock.hcl file) and its overrides."""
        for block_kind, kind in (("mock_resource", "resource"), ("mock_data", "data")):
            for rtype, mock in hcl.blocks(body, block_kind):
                if provider is not None and provider_schema.provider_of(rtype) not in (provider, None):
                    self.report(path, "type", f"{block_kind} {rtype}",
                                f"mock_provider {provider!r} cannot mock a type of another provider", (rtype,))
                    continue
                schema = self.schema_block(path, kind, rtype, block_kind)
                if schema is None:
                    continue
                defaults = hcl.as_map(mock.get("defaults", {}))
                self.check_values(path, f"{block_kind} {rtype}.defaults", defaults, schema, (rtype,),
                                  mock_defaults=True)
        self.check_overrides(path, body, None)

    def check_overrides(self, path: Path, body: dict, module: Module | None) -> None:
        for block_kind in ("override_resource", "override_data"):
            for override in body.get(block_kind, []):
                target = expression_text(str(override.get("target", ""))).strip()
                parsed = _override_target(target)
                if parsed is None:
                    self.report(path, "mock", f"{block_kind} {target}", "target is not a resource address",
                                (target,))
                    continue
                calls, kind, rtype, name = parsed
                schema = self.schema_block(path, kind, rtype, block_kind)
                if schema is None:
                    continue
                target_module = self._follow(module, calls)
                if target_module is not None and (kind, rtype, name) not in target_module.blocks:
                    self.report(path, "mock", f"{block_kind} {target}",
                                f"{target_module.directory.relative_to(self.root.parent)} declares no "
                                f"{kind} {rtype}.{name}", (target,))
                values = hcl.as_map(override.get("values", {}))
                self.check_values(path, f"{block_kind} {target}.values", values, schema, (target,),
                                  mock_defaults=False)

    def _follow(self, module: Module | None, calls: list[str]) -> Module | None:
        for call in calls:
            if module is None or call not in module.calls:
                return None
            module = self.modules.get(module.calls[call])
        return module

    def check_values(self, path: Path, where: str, values: dict, block: Block, needles: tuple[str, ...],
                     mock_defaults: bool) -> None:
        """Attribute names of mock `defaults` / override `values`; with mock_defaults, computed ones only."""
        for key, value in values.items():
            attr = block.get(key)
            if attr is None:
                self.report(path, "mock", f"{where}.{key}", "unknown attribute", (key,), _line_of(path, needles))
                continue
            if mock_defaults and not attr.computed:
                self.report(path, "mock", f"{where}.{key}",
                            "not a computed attribute: mocks only generate computed ones, this default is never used",
                            (key,), _line_of(path, needles))
            if attr.nested is not None and not attr.opaque:
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, dict):
                        self.check_values(path, f"{where}.{key}", item, attr.nested, needles, mock_defaults=False)

    # -- everything -------------------------------------------------------------------------

    def run(self) -> list[Finding]:
        for module in self.modules.values():
            self.check_blocks(module)
            self.check_module_references(module)
            self.check_pins(module)
        for path in sorted(self.root.rglob("*.tftest.hcl")):
            if not _hidden(path, self.root):
                self.check_test_file(path)
        for path in sorted(self.root.rglob("*.tfmock.hcl")):
            if not _hidden(path, self.root):
                self.check_mock_file(path)
        return sorted(self.findings)


def _override_target(target: str) -> tuple[list[str], str, str, str] | None:
    """`module.a.module.b.data.aws_x.y[0]` -> (["a", "b"], "data", "aws_x", "y")."""
    parts = [re.sub(r"\[.*?\]", "", part) for part in target.replace(" ", "").split(".")]
    calls = []
    while len(parts) >= 2 and parts[0] == "module":
        calls.append(parts[1])
        parts = parts[2:]
    kind = "resource"
    if parts and parts[0] in ("data", "ephemeral"):
        kind, parts = parts[0], parts[1:]
    if len(parts) != 2:
        return None
    return calls, kind, parts[0], parts[1]


_PESSIMISTIC = re.compile(r"^\s*~>\s*(\d+)\.(\d+)(?:\.(\d+))?\s*$")


def admits_exactly(constraint: str, version: str) -> bool:
    """`~> X.Y.Z` / `~> X.Y` whose lowest admitted version is `version` (no other form)."""
    match = _PESSIMISTIC.match(constraint)
    if not match:
        return False
    major, minor, patch = match.groups()
    return (int(major), int(minor), int(patch or 0)) == tuple(int(p) for p in version.split("."))


def load_schemas() -> dict[str, Schema]:
    return {name: provider_schema.load(name) for name in provider_schema.PINS}


def check(root: Path, schemas: dict[str, Schema] | None = None) -> list[Finding]:
    return Checker(root, schemas or load_schemas()).run()


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else provider_schema.REPO / "terraform"
    findings = check(root)
    for finding in findings:
        print(finding)
    versions = ", ".join(f"{p.source} {p.version} ({p.package} {p.package_version})"
                         for p in provider_schema.PINS.values())
    print(f"{len(findings)} finding(s) against {versions}", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
