"""Load a YAML document into plain Python data while remembering where each value was.

``load_yaml(text)`` returns ``(data, lines)`` where ``lines`` maps a path such as
``("slo", "threshold")`` or ``("playbook", 2)`` to its 1-based line number, so
schema errors can name the line. Keys are also recorded under
``path + (key, KEY_LINE)`` — the line of the key itself, used for unknown keys.

Hostile input is refused before it can cost anything: the document size, the
nesting depth and the node count are bounded, and anchors/aliases (the "billion
laughs" vector) are refused outright — a service definition never needs them.
"""

from __future__ import annotations

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

MAX_DOCUMENT_BYTES = 64 * 1024
MAX_DEPTH = 20
MAX_NODES = 5_000
KEY_LINE = object()


class YamlError(ValueError):
    """The text is not a usable YAML document; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None):
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases and bounds depth and size."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, AliasEvent):
            raise YamlError("aliases (*name) are not allowed", line)
        if isinstance(event, ScalarEvent | CollectionStartEvent) and event.anchor:
            raise YamlError("anchors (&name) are not allowed", line)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise YamlError(f"document has more than {MAX_NODES} values", line)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlError(f"document is nested deeper than {MAX_DEPTH} levels", line)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _line(node) -> int:
    return node.start_mark.line + 1


_PLAIN_TAGS = {MappingNode: "tag:yaml.org,2002:map", SequenceNode: "tag:yaml.org,2002:seq"}


def _to_python(loader, node, path, lines):
    lines[path] = _line(node)
    plain = _PLAIN_TAGS.get(type(node))
    if plain and node.tag != plain:
        raise YamlError(f"tag {node.tag!r} is not allowed", _line(node))
    if isinstance(node, MappingNode):
        result = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise YamlError("mapping keys must be plain scalars", _line(key_node))
            key = loader.construct_object(key_node)
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                raise YamlError(f"duplicate key {key!r}", _line(key_node))
            lines[(*path, key, KEY_LINE)] = _line(key_node)
            result[key] = _to_python(loader, value_node, (*path, key), lines)
        return result
    if isinstance(node, SequenceNode):
        return [_to_python(loader, item, (*path, i), lines) for i, item in enumerate(node.value)]
    return loader.construct_object(node)


def load_yaml(text: str | bytes) -> tuple[object, dict]:
    """Parse one YAML document; raise ``YamlError`` naming the line on any problem."""
    if isinstance(text, bytes):
        size = len(text)
    else:
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:  # lone surrogates: not text at all
            raise YamlError(f"document is not valid Unicode: {exc.reason}") from None
    # The one size check of every YAML document (API, admin upload, manage.py, policies):
    # callers read at most MAX_DOCUMENT_BYTES + 1 bytes and leave the refusal to this line.
    if size > MAX_DOCUMENT_BYTES:
        raise YamlError(f"document is larger than {MAX_DOCUMENT_BYTES} bytes")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise YamlError(f"document is not UTF-8: {exc.reason}") from None
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise YamlError("document is empty", 1)
        lines: dict = {}
        return _to_python(loader, node, (), lines), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            problem = f"{exc.context}, {exc.problem}"
        raise YamlError(problem, mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise YamlError(str(exc)) from None
    except RecursionError:
        raise YamlError(f"document is nested deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()
