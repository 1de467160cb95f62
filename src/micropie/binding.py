"""Handler metadata, and filling a handler's arguments from the request.

Rules:
- ``HandlerParam`` and ``HandlerInfo`` are frozen dataclasses computed once per function with
  ``inspect`` (``handler_info``); the route cache keeps them beside the function they describe,
  so a request whose handler is cached does no introspection.
- Sources, first hit wins: path segments (positional parameters, in order; ``*args`` takes the
  rest; a segment a middleware set that is not a str binds as it is to an unannotated
  parameter and converts as a JSON value would to an annotated one), the query string, form fields, the top-level keys of a JSON object body, multipart
  files, then the default. From the query string and form fields the first value that is not
  blank is taken: a blank value (``?n=``, ``n=``) counts as absent, as in MicroPie.
  Keyword-only parameters skip the path. ``**kwargs`` takes every other query, form, JSON and
  file name (the first value of each). The session is never a source.
- A list parameter (``list[int]``…, see ``conversion``) takes every value from the first source
  that has its name, in order: all non-blank query values, else all non-blank form values, else
  a JSON array, else every file uploaded under the name; a path segment fills it with one
  element. Sources are not merged, as for scalars. While a multipart body is still being parsed
  more values may come, so a list not found in the query waits for the whole parse
  (``FieldPending(None)``); uploads keep streaming into their spooled queues meanwhile.
- A parameter with a converter gets its value converted; defaults are used as written.
- ``bind`` never waits. If a value may still arrive in a multipart body being parsed, it raises
  ``FieldPending`` and the caller waits for the parse, then binds again from the start.
"""

import inspect
from dataclasses import dataclass
from typing import Any, Final

from micropie.conversion import ConversionError, Converter, converter_for
from micropie.errors import HTTPError
from micropie.request import Request, all_filled, first_filled

POSITIONAL: Final = 0
VAR_POSITIONAL: Final = 1
KEYWORD_ONLY: Final = 2
VAR_KEYWORD: Final = 3

_KINDS: Final = {
    inspect.Parameter.POSITIONAL_ONLY: POSITIONAL,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: POSITIONAL,
    inspect.Parameter.VAR_POSITIONAL: VAR_POSITIONAL,
    inspect.Parameter.KEYWORD_ONLY: KEYWORD_ONLY,
    inspect.Parameter.VAR_KEYWORD: VAR_KEYWORD,
}


class _NoDefault:
    def __repr__(self) -> str:
        return "<no default>"


NO_DEFAULT: Final = _NoDefault()

# The path segments of a request that has none; only ever read.
_NO_SEGMENTS: Final[list[Any]] = []


@dataclass(frozen=True)
class HandlerParam:
    name: str
    kind: int
    # Any, not object: mypyc fails to build a dataclass with an ``object`` field (KeyError
    # 'object' at import). The value is whatever default the handler declares, or NO_DEFAULT.
    default: Any
    converter: Converter | None
    # Annotated as a list: binding gathers every value of the name (the converter's ``many``).
    many: bool
    # Text from the path, query or a form is the value as it is (no converter, or ``str``).
    keeps_text: bool


@dataclass(frozen=True)
class HandlerInfo:
    params: tuple[HandlerParam, ...]
    accepts_positional: bool
    is_coroutine: bool
    takes_var_kwargs: bool
    names: frozenset[str]


class FieldPending(Exception):
    """A parameter's value may still arrive in the multipart body being parsed."""

    def __init__(self, name: str | None) -> None:
        super().__init__(name)
        self.name = name


def _signature(function: Any) -> inspect.Signature:
    try:
        return inspect.signature(function, eval_str=True)
    except (NameError, SyntaxError, TypeError):
        # An annotation that does not evaluate stays text; conversion reads simple names.
        return inspect.signature(function)


def handler_info(function: Any, skip_first: bool) -> HandlerInfo:
    """Metadata of ``function``; ``skip_first`` drops the parameter that receives the app."""
    params: list[HandlerParam] = []
    accepts_positional = False
    skipped = not skip_first
    for parameter in _signature(function).parameters.values():
        kind = _KINDS[parameter.kind]
        if not skipped and kind == POSITIONAL:
            skipped = True
            continue
        if kind == POSITIONAL or kind == VAR_POSITIONAL:
            accepts_positional = True
        default: object = NO_DEFAULT if parameter.default is inspect.Parameter.empty else parameter.default
        annotation = parameter.annotation
        converter = None if annotation is inspect.Parameter.empty else converter_for(annotation)
        many = converter is not None and converter.many
        keeps_text = converter is None or converter.keeps_text
        params.append(HandlerParam(parameter.name, kind, default, converter, many, keeps_text))
    # A callable object whose __call__ is async counts too.
    is_coroutine = inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        getattr(type(function), "__call__", None)
    )
    return HandlerInfo(
        params=tuple(params),
        accepts_positional=accepts_positional,
        is_coroutine=is_coroutine,
        takes_var_kwargs=any(param.kind == VAR_KEYWORD for param in params),
        names=frozenset(param.name for param in params),
    )


def _convert(param: HandlerParam, value: object) -> object:
    converter = param.converter
    if converter is None:
        return value
    try:
        return converter.convert(value)
    except ConversionError:
        raise HTTPError(400, f"Parameter '{param.name}' must be {converter.expected}") from None


def _convert_segment(param: HandlerParam, segment: object) -> object:
    # A segment is text from the path, or whatever a middleware set (see the rules).
    if param.many:
        return _convert(param, [segment])
    if param.keeps_text and isinstance(segment, str):
        return segment
    return _convert(param, segment)


class Arguments:
    """Positional and keyword arguments for one handler call."""

    def __init__(self, args: list[object], kwargs: dict[str, object]) -> None:
        self.args = args
        self.kwargs = kwargs


def bind(info: HandlerInfo, request: Request, parsing: bool, skip: int = 0) -> Arguments:
    """Arguments for a handler described by ``info``, leaving out its first ``skip`` parameters.

    ``request.path_params`` bind positionally; ``parsing`` is true while a multipart body may
    still add fields. Raises ``HTTPError`` 400 or ``FieldPending``.
    """
    args: list[object] = []
    kwargs: dict[str, object] = {}
    path = request._path_params or _NO_SEGMENTS
    position = 0
    path_end = len(path)
    params = info.params
    for index in range(skip, len(params)):
        param = params[index]
        kind = param.kind
        if kind == VAR_POSITIONAL:
            while position < path_end:
                args.append(_convert_segment(param, path[position]))
                position += 1
            continue
        if kind == VAR_KEYWORD:
            continue
        if kind == POSITIONAL and position < path_end:
            args.append(_convert_segment(param, path[position]))
            position += 1
            continue
        value = _lookup_all(request, param, parsing) if param.many else _lookup(request, param, parsing)
        if kind == KEYWORD_ONLY:
            kwargs[param.name] = value
        else:
            args.append(value)
    if info.takes_var_kwargs:
        if parsing:
            raise FieldPending(None)
        _collect_extras(request, info.names, kwargs)
    return Arguments(args, kwargs)


def _lookup(request: Request, param: HandlerParam, parsing: bool) -> object:
    name = param.name
    text = first_filled(request.query_params.get(name))
    if text is not None:
        return text if param.keeps_text else _convert(param, text)
    fields = request._body_params
    if fields is not None:
        text = first_filled(fields.get(name))
        if text is not None:
            return text if param.keeps_text else _convert(param, text)
    document = request._json
    if isinstance(document, dict) and name in document:
        return _convert(param, document[name])
    files = request._files
    if files is not None:
        upload = files.get(name)
        if upload is not None:
            return _convert(param, upload)
    if parsing:
        raise FieldPending(name)
    if param.default is not NO_DEFAULT:
        return param.default
    raise HTTPError(400, f"Missing required parameter '{name}'")


def _lookup_all(request: Request, param: HandlerParam, parsing: bool) -> object:
    name = param.name
    texts = all_filled(request.query_params.get(name))
    if texts is not None:
        return _convert(param, texts)
    if parsing:
        raise FieldPending(None)
    fields = request._body_params
    texts = None if fields is None else all_filled(fields.get(name))
    if texts is not None:
        return _convert(param, texts)
    document = request._json
    if isinstance(document, dict) and name in document:
        return _convert(param, document[name])
    uploads = request.all_files(name)
    if uploads:
        return _convert(param, uploads)
    if param.default is not NO_DEFAULT:
        return param.default
    raise HTTPError(400, f"Missing required parameter '{name}'")


def _collect_extras(request: Request, bound: frozenset[str], kwargs: dict[str, object]) -> None:
    for source in (request.query_params, request.body_params):
        for name, values in source.items():
            if name not in bound and name not in kwargs:
                text = first_filled(values)
                if text is not None:
                    kwargs[name] = text
    document = request._json
    if isinstance(document, dict):
        for key, value in document.items():
            if isinstance(key, str) and key not in bound and key not in kwargs:
                kwargs[key] = value
    for name, upload in request.files.items():
        if name not in bound and name not in kwargs:
            kwargs[name] = upload
