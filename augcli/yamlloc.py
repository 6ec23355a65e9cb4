"""Safe YAML loading that remembers where every value came from, so errors can say file:line:col."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

YamlPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Location:
    """A place in a recipe file (1-based line and column, as editors show them)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


def format_path(path: YamlPath) -> str:
    """`augment[1].OneOf.transforms[0]`: the path as a user reads it in the YAML."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


@dataclass
class LoadedYaml:
    """The document's data plus a location for every key and value in it."""

    data: Any
    locations: dict[YamlPath, Location]
    duplicates: list[tuple[YamlPath, Location, Location]]  # (path, repeated key, first occurrence)


MAX_DEPTH = 64  # collections inside collections; a real recipe needs a dozen
MAX_NODES = 20_000  # values after aliases are expanded; a real recipe has hundreds


class YamlLimitError(yaml.MarkedYAMLError):
    """A document that parses but that augcli refuses to build (alias bombs, self-reference, depth,
    values that are not finite numbers): raised before anything is constructed, at the offending place."""


def _refused(problem: str, mark: Any) -> YamlLimitError:
    return YamlLimitError(problem=problem, problem_mark=mark)


class _Loader(yaml.SafeLoader):
    """The safe loader with YAML 1.2's scalars: a date is text, and a number must be finite."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """A value its tag cannot read (`!!float x`, `!!int y`, `!!bool maybe`) is a located error, not
        the constructor's ValueError or KeyError."""
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except Exception:  # ValueError, KeyError, IndexError (`!!float` of nothing): whatever the constructor raised
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise _refused(f"{tag} cannot read {str(node.value)[:40]!r}", node.start_mark) from None


def _text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


def _finite(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    value = yaml.SafeLoader.construct_yaml_float(loader, node)
    if value != value or value in (float("inf"), float("-inf")):
        raise _refused(f"'{node.value}' is not a finite number", node.start_mark)
    return value


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _text)
_Loader.add_constructor("tag:yaml.org,2002:float", _finite)


def check_limits(text: str) -> None:
    """Refuse, from the event stream (iterative: no recursion), what would hang or crash the loader:
    nesting deeper than MAX_DEPTH, aliases expanding past MAX_NODES values, and an alias inside the
    collection it names (a structure containing itself)."""
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = [[None, 0]]  # [anchor, size so far] per open collection
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            if any(frame[0] == event.anchor for frame in stack):
                problem = (
                    f"'*{event.anchor}' is inside the collection '&{event.anchor}' it names (it would contain itself)"
                )
                raise _refused(problem, event.start_mark)
            stack[-1][1] += sizes.get(event.anchor or "", 1)
        elif isinstance(event, yaml.ScalarEvent):
            stack[-1][1] += 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            stack.append([event.anchor, 1])
            if len(stack) > MAX_DEPTH + 1:
                problem = f"nested more than {MAX_DEPTH} levels deep"
                raise _refused(problem, event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, size = stack.pop()
            if anchor:
                sizes[anchor] = size
            stack[-1][1] += size
        else:
            continue
        if stack[-1][1] > MAX_NODES:
            problem = f"aliases expand the document past {MAX_NODES} values (an alias bomb?)"
            raise _refused(problem, event.start_mark)


def load_yaml(text: str, file: str) -> LoadedYaml:
    """Parse with the safe loader only; raise yaml.YAMLError (with marks) on syntax errors and on
    documents past the limits of `check_limits`."""
    check_limits(text)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return LoadedYaml(None, {}, [])
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    locations: dict[YamlPath, Location] = {}
    duplicates: list[tuple[YamlPath, Location, Location]] = []
    _walk(node, (), file, locations, duplicates)
    return LoadedYaml(data, locations, duplicates)


def _loc(node: yaml.Node, file: str) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _walk(
    node: yaml.Node,
    path: YamlPath,
    file: str,
    locations: dict[YamlPath, Location],
    duplicates: list[tuple[YamlPath, Location, Location]],
) -> None:
    locations.setdefault(path, _loc(node, file))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, Location] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            child = (*path, key)
            if key in seen:
                duplicates.append((child, _loc(key_node, file), seen[key]))
            else:
                seen[key] = _loc(key_node, file)
            # A key's own position is where the user looks first; its value's position is
            # kept under the same path only when the key is absent (never, for mappings).
            locations[child] = _loc(key_node, file)
            _walk(value_node, child, file, locations, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), file, locations, duplicates)


def describe_yaml_error(exc: yaml.YAMLError, file: str) -> tuple[str, Location | None]:
    """PyYAML's parser jargon as a sentence a recipe author understands, at the problem's position."""
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    problem = str(getattr(exc, "problem", None) or exc)
    context = str(getattr(exc, "context", None) or "")
    where = Location(file, problem_mark.line + 1, problem_mark.column + 1) if problem_mark else None
    at = f"line {context_mark.line + 1}, column {context_mark.column + 1}" if context_mark else "above"
    found = re.search(r"(?:found|got) '(.*)'$", problem)
    token = found.group(1) if found else ""
    closing = re.match(r"expected ',' or '(.)'", problem)
    if problem.startswith("expected <block end>"):
        block = f" (the block starting at line {context_mark.line + 1})" if context_mark else ""
        return f"this line's indentation does not match the lines above it{block}", where
    if closing:
        opener = {"]": "[", "}": "{"}.get(closing.group(1), closing.group(1))
        if token == "<stream end>":
            return f"the '{opener}' opened at {at} is never closed with '{closing.group(1)}'", where
        return (
            f"the '{opener}' opened at {at} is not closed: expected ',' or '{closing.group(1)}' before this "
            f"{_token(token)}",
            where,
        )
    if "quoted scalar" in context:
        return f"the quote opened at {at} is never closed", where
    bad_char = re.match(r"found character '(.*)' that cannot start any token", problem)
    if bad_char and bad_char.group(1) == "\\t":
        return "a tab character: YAML indents with spaces only", where
    if bad_char:
        return f"a value cannot start with '{bad_char.group(1)}'; put the value in quotes", where
    if problem.startswith("mapping values are not allowed"):
        return (
            "a ':' where a plain value was expected: put nested `key: value` pairs on their own, "
            "more indented lines or in {braces}, and quote text that contains ': '",
            where,
        )
    if problem.startswith("could not find expected ':'"):
        return f"the key at {at} is not followed by ':' (expected `key: value`)", where
    named = re.search(r"(?:alias|tag) '(.*)'", problem)
    if problem.startswith("found undefined alias") and named:
        return f"'*{named.group(1)}' refers to an anchor '&{named.group(1)}' that is not defined above it", where
    if "constructor for the tag" in problem and named:
        tag = named.group(1).replace("tag:yaml.org,2002:", "!!")
        return f"the tag '{tag}' is not allowed in a recipe (plain YAML only)", where
    if "another document" in problem:
        return "a recipe is one YAML document, but a second one starts here (remove the '---')", where
    if problem.startswith("found unhashable key"):
        return "a key must be a plain value, not a list or a mapping", where
    text = problem + (f" ({context})" if context else "")
    return text, where


def _token(token: str) -> str:
    return "point" if token.startswith("<") else f"'{token}'"
