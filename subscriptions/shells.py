"""Pages rendered once and filled in per request: what is the same for every visitor is a cached shell.

A shell is a template rendered with markers where per-visitor values go. Per request the view hands
over those values and the page is the shell joined with them: no template rendering, no form
widgets, no topic query. Three kinds of hole:

- `{% csrf_token %}`, anywhere in the page: always a hole, filled with this request's token (so a
  form added to a cached page can never carry another visitor's token);
- named values: the view's context builder puts `hole("name")` where the value goes (a form's
  initial, an object's attribute) and passes the value per request; it is escaped when filled;
- `{% pervisitor %}…{% endpervisitor %}` blocks (template library `shells`): rendered per request
  with the request's context (messages, `request.GET` flags), everything outside them once.

A shell is keyed by template and `variant` (whatever the template branches on, such as a status)
and rebuilt per deploy (it lives in process memory), after `invalidate()` (topics saved or deleted,
settings changed: subscriptions.receivers), and at the latest after MAX_AGE_SECONDS. Shells are
rendered against a blank request, so nothing of the visitor who happened to build one can end up
in it. Values that filters transform (`|length`, `|date`) cannot be holes: put them in `variant`.
"""

import re
import secrets
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template import RequestContext, Template
from django.template.base import NodeList
from django.template.loader import get_template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

# Random per process, so no submitted or stored text can contain a marker.
_MARK = secrets.token_hex(8)
_HOLE = re.compile(rf"pb{_MARK}(\w+?){_MARK}")
_CSRF = "csrf_token"
_BLOCK_PREFIX = "block_"
_GENERATION_KEY = "subscriptions:shells:generation"
# How often a process asks the shared cache whether another process invalidated the shells.
GENERATION_CHECK_SECONDS = 1.0
# A shell is rebuilt after this long even without a signal (topics changed by a bulk UPDATE).
MAX_AGE_SECONDS = 300.0


def hole(name: str) -> SafeString:
    """The marker for the per-visitor value `name` (letters, digits, underscores)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or name == _CSRF or name.startswith(_BLOCK_PREFIX):
        raise ValueError(f"not a usable hole name: {name!r}")
    return _marker(name)


def _marker(name: str) -> SafeString:
    return mark_safe(f"pb{_MARK}{name}{_MARK}")  # noqa: S308 - letters, digits and underscores only


@dataclass
class _Shell:
    parts: list[str]  # even indexes: literal HTML; odd: hole names
    blocks: list[NodeList]
    template: Template  # the blocks' template: its engine's context processors and loaders
    built: float = field(default_factory=time.monotonic)


class _BlockRecorder:
    """Context value that makes `{% pervisitor %}` leave a marker and keep its nodelist."""

    def __init__(self) -> None:
        self.nodelists: list[NodeList] = []

    def marker(self, nodelist: NodeList) -> SafeString:
        self.nodelists.append(nodelist)
        return _marker(f"{_BLOCK_PREFIX}{len(self.nodelists) - 1}")


RECORDER_CONTEXT_KEY = "_shell_recorder"

_lock = threading.Lock()
_shells: dict[tuple, _Shell] = {}
_remembered: dict[str, tuple[float, Any]] = {}  # name: (when built, value)
_state = {"generation": None, "checked": 0.0}


def invalidate() -> None:
    """Drop every shell, in this process now and in the others within GENERATION_CHECK_SECONDS."""
    generation = secrets.token_hex(8)
    cache.set(_GENERATION_KEY, generation, timeout=None)
    with _lock:
        _clear()
        _state["generation"] = generation


def clear_local() -> None:
    """Drop this process's shells (tests, where a rolled-back topic sends no signal)."""
    with _lock:
        _clear()


def _clear() -> None:
    _shells.clear()
    _remembered.clear()


def remember(name: str, build: Callable[[], Any]) -> Any:
    """`build()`'s value, kept with the shells and dropped with them (the active topics, say).

    Shared by the threads of a process: the value must never be changed by its users.
    """
    _check_generation()
    held = _remembered.get(name)
    if held is None or time.monotonic() - held[0] > MAX_AGE_SECONDS:
        held = _remembered[name] = (time.monotonic(), build())
    return held[1]


def _check_generation() -> None:
    now = time.monotonic()
    if now - _state["checked"] < GENERATION_CHECK_SECONDS:
        return
    generation = cache.get(_GENERATION_KEY)
    with _lock:
        _state["checked"] = now
        if generation != _state["generation"]:
            _clear()
            _state["generation"] = generation


def _blank_request(request: HttpRequest) -> HttpRequest:
    blank = HttpRequest()
    blank.method = "GET"
    # Not the visitor's path: a confirm page's path carries that visitor's secret token.
    blank.path = blank.path_info = "/"
    return blank


def _build(request: HttpRequest, template_name: str, context: dict[str, Any]) -> _Shell:
    recorder = _BlockRecorder()
    context = {**context, _CSRF: _marker(_CSRF), RECORDER_CONTEXT_KEY: recorder}
    template = get_template(template_name)
    html = template.render(context, _blank_request(request))
    return _Shell(parts=_HOLE.split(html), blocks=recorder.nodelists, template=template.template)


def _shell(request: HttpRequest, template_name: str, variant: Hashable, context: Callable) -> _Shell:
    _check_generation()
    key = (template_name, variant)
    shell = _shells.get(key)
    if shell is None or time.monotonic() - shell.built > MAX_AGE_SECONDS:
        shell = _build(request, template_name, context())
        with _lock:
            _shells[key] = shell
    return shell


def render_shell(
    request: HttpRequest,
    template_name: str,
    *,
    context: Callable[[], dict[str, Any]],
    values: Mapping[str, Any] | None = None,
    blocks_context: dict[str, Any] | None = None,
    variant: Hashable = (),
    status: int = 200,
) -> HttpResponse:
    """The page from its shell with this request's values; `context()` is called only to build one.

    `values` (a mapping: a dict, or a ChainMap with FormHoles) fills the named holes (escaped unless
    safe); `blocks_context` is what `{% pervisitor %}` blocks see besides the context processors' values.
    """
    shell = _shell(request, template_name, variant, context)
    values = {} if values is None else values
    out = []
    block_context = None
    for index, part in enumerate(shell.parts):
        if index % 2 == 0:
            out.append(part)
        elif part == _CSRF:
            out.append(conditional_escape(get_token(request)))
        elif part.startswith(_BLOCK_PREFIX):
            if block_context is None:
                block_context = RequestContext(request, blocks_context or {})
            nodelist = shell.blocks[int(part.removeprefix(_BLOCK_PREFIX))]
            with (
                block_context.bind_template(shell.template),
                block_context.render_context.push_state(shell.template),
            ):
                out.append(nodelist.render(block_context))
        else:
            out.append(conditional_escape(values[part]))
    return HttpResponse("".join(out), status=status)


# --- Forms in a shell ------------------------------------------------------------------------------
# A form whose values are the visitor's own (the manage page) goes into a shell with a hole where each
# field's widget and each choice's tag would be; per request the visitor's form renders just those
# (the choice widgets from their cached options: subscriptions.widgets), not the page around them.
_FIELD_HOLE = "field_"
_OPTION_HOLE = "option_"


def form_with_holes(form):
    """`form` (unbound, for the shell) with every widget rendering a hole instead of itself: the field
    `name` at `field_<name>`, its choice n (`{{ option.tag }}`) at `option_<name>_<n>`. Labels, ids,
    help texts and choice labels render as usual: they are the same for every visitor."""
    if form.prefix:  # holes are named by field name, which a prefix would change
        raise ValueError("a form with a prefix cannot go into a shell")
    for form_field in form.fields.values():
        _render_holes(form_field.widget)
    return form


def _render_holes(widget) -> None:
    """Make this widget instance (a form's own copy) render holes (see form_with_holes)."""
    render_template = widget._render
    option_template = getattr(widget, "option_template_name", None)

    def render(name, value, attrs=None, renderer=None):
        return hole(f"{_FIELD_HOLE}{name}")

    def render_option(template_name, context, renderer=None):
        data = context.get("widget", {})
        if template_name == option_template and "index" in data:
            return hole(f"{_OPTION_HOLE}{data['name']}_{data['index']}")
        return render_template(template_name, context, renderer)

    widget.render = render
    widget._render = render_option


class FormHoles:
    """The holes of `form_with_holes` filled from the visitor's `form`, rendered only when asked for."""

    def __init__(self, form) -> None:
        self._form = form
        self._options: dict[str, dict[str, Any]] = {}

    def __getitem__(self, key: str):
        if key.startswith(_FIELD_HOLE):
            name = key.removeprefix(_FIELD_HOLE)
            if name in self._form.fields:
                return self._form[name].__str__()  # Django's widget render: safe HTML
        elif key.startswith(_OPTION_HOLE):
            rest = key.removeprefix(_OPTION_HOLE)
            for name in sorted(self._form.fields, key=len, reverse=True):  # the longest name that fits
                if rest.startswith(f"{name}_"):
                    options = self._options.get(name)
                    if options is None:
                        options = self._options[name] = {str(o.data["index"]): o for o in self._form[name]}
                    option = options.get(rest.removeprefix(f"{name}_"))
                    if option is not None:
                        return option.tag()
        raise KeyError(key)
