"""Choice widgets whose options are rendered once, then marked per value.

Django renders every <option> through its own template: the time-zone list's ~490 options cost
tens of milliseconds on every page. The list is the same for every visitor; only which option is
selected differs. So Django's own rendering runs once per (name, attributes, choices) with nothing
selected, and each render after that inserts `selected` into the chosen options: the same HTML,
as accessible as before (a real <select> with <optgroup>s and labels).
"""

import copy
import threading

from django import forms
from django.utils.html import escape
from django.utils.safestring import mark_safe

_MAX_CACHED = 512  # distinct option lists and option tags: a few dozen per form, never reached in practice
_cache: dict[tuple, str] = {}
_lock = threading.Lock()


class CachedOptionsSelect(forms.Select):
    """forms.Select with the options rendered once; only for single choice without option attributes."""

    def __deepcopy__(self, memo):
        # Every form copies its fields' widgets; ChoiceWidget's own copy sets `choices` again, and its
        # setter normalises all ~490 zones (most of a signup POST's CPU time). They are normalised.
        obj = copy.copy(self)
        obj.attrs = self.attrs.copy()
        obj._choices = copy.copy(self._choices)
        memo[id(self)] = obj
        return obj

    def render(self, name, value, attrs=None, renderer=None):
        final_attrs = self.build_attrs(self.attrs, attrs)
        # repr() of the choices: a fraction of a millisecond for the ~490 zones, and never stale.
        key = (type(self), name, repr(sorted(final_attrs.items())), repr(self.choices))
        html = _cache.get(key)
        if html is None:
            html = str(super().render(name, None, attrs, renderer))
            with _lock:
                if len(_cache) >= _MAX_CACHED:
                    _cache.clear()
                _cache[key] = html
        for chosen in self.format_value(value)[:1]:
            option = f'<option value="{escape(chosen)}">'
            html = html.replace(option, f'<option value="{escape(chosen)}" selected>', 1)
        return mark_safe(html)  # noqa: S308 - Django's own rendering, with an escaped value added


class _CachedOptionTags:
    """Each option's tag (a checkbox, a radio button) rendered once; `checked` added per render.

    Templates that lay options out themselves (`{% for option in form.topics %}{{ option.tag }}`)
    render one template per option and page. The tag differs between visitors only in `checked`,
    which Django puts last: it is inserted there, so the HTML is the same as Django's.
    """

    def _render(self, template_name, context, renderer=None):
        data = context.get("widget", {})
        if template_name != self.option_template_name or "selected" not in data:
            return super()._render(template_name, context, renderer)
        attrs = dict(data["attrs"])
        checked = attrs.pop("checked", False)
        plain = {**data, "attrs": attrs, "selected": False}
        key = (type(self), template_name, repr(sorted(plain.items(), key=lambda item: item[0])))
        html = _cache.get(key)
        if html is None:
            html = str(super()._render(template_name, {**context, "widget": plain}, renderer))
            with _lock:
                if len(_cache) >= _MAX_CACHED:
                    _cache.clear()
                _cache[key] = html
        if checked:
            end = html.index(">", html.index("<input"))
            html = f"{html[:end]} checked{html[end:]}"
        return mark_safe(html)  # noqa: S308 - Django's own rendering, with an attribute added


class CachedCheckboxSelectMultiple(_CachedOptionTags, forms.CheckboxSelectMultiple):
    pass


class CachedRadioSelect(_CachedOptionTags, forms.RadioSelect):
    pass


def _cached_render(key: tuple, render) -> str:
    html = _cache.get(key)
    if html is None:
        html = str(render())
        with _lock:
            if len(_cache) >= _MAX_CACHED:
                _cache.clear()
            _cache[key] = html
    return html


class CachedCheckboxInput(forms.CheckboxInput):
    """forms.CheckboxInput rendered once per (name, attributes); `checked` added per render, last, as
    Django puts it."""

    def render(self, name, value, attrs=None, renderer=None):
        if self.format_value(value) is not None:  # a submitted "on" is rendered as value="on"
            return super().render(name, value, attrs, renderer)
        final_attrs = self.build_attrs(self.attrs, attrs)
        key = (type(self), name, repr(sorted(final_attrs.items())))
        unchecked = super().render
        html = _cached_render(key, lambda: unchecked(name, False, attrs, renderer))
        if self.check_test(value):
            if not html.endswith(">") or html.count("<") != 1:  # not the one <input …> Django renders
                return super().render(name, value, attrs, renderer)
            html = f"{html[:-1]} checked>"
        return mark_safe(html)  # noqa: S308 - Django's own rendering, with an attribute added


class CachedTextarea(forms.Textarea):
    """forms.Textarea rendered empty once per (name, attributes); the value, escaped, goes where
    Django's template puts it (after the newline that follows the opening tag)."""

    def render(self, name, value, attrs=None, renderer=None):
        final_attrs = self.build_attrs(self.attrs, attrs)
        key = (type(self), name, repr(sorted(final_attrs.items())))
        empty = super().render
        html = _cached_render(key, lambda: empty(name, None, attrs, renderer))
        text = self.format_value(value)
        if text:
            if not html.endswith("\n</textarea>"):  # not the template this was written for
                return super().render(name, value, attrs, renderer)
            html = f"{html.removesuffix('</textarea>')}{escape(text)}</textarea>"
        return mark_safe(html)  # noqa: S308 - Django's own rendering, with the value escaped
