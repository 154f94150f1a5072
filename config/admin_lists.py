"""Change lists without a template per checkbox: the same HTML, built in Python.

Django renders every <input> of a change list through its form templates: each row's action
checkbox and each list_editable field, half a millisecond apiece, most of a 50-row page's time
(the topic list with its editable "active" and "order" spent 100 ms there). `TemplateFreeLists`,
mixed into every ModelAdmin by the Paperboy site, renders those inputs from the widget's own
context (`get_context`, which has no template in it) into exactly the markup Django's
`input.html` and `attrs.html` produce. Widgets that are not plain inputs (selects) keep Django's
templates. A test holds the two renderings equal.
"""

from functools import cache

from django import forms
from django.contrib.admin import helpers
from django.forms.widgets import Input
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _


def input_html(widget: dict) -> SafeString:
    """`django/forms/widgets/input.html` for a widget context: type, name, value, then the attributes
    (False ones left out, True ones bare), everything escaped as the template escapes it."""
    parts = [format_html('<input type="{}" name="{}"', widget["type"], widget["name"])]
    if widget["value"] is not None:
        parts.append(format_html(' value="{}"', widget["value"]))
    for name, value in widget["attrs"].items():
        if value is True:
            parts.append(format_html(" {}", name))
        elif value is not False:
            parts.append(format_html(' {}="{}"', name, value))
    parts.append(">")
    return mark_safe("".join(parts))  # noqa: S308 - every piece escaped by format_html


class TemplateFreeInput:
    """Mixed into an Input widget class: render without the form templates (see input_html)."""

    def render(self, name, value, attrs=None, renderer=None):
        return input_html(self.get_context(name, value, attrs)["widget"])


@cache
def template_free(widget_class: type) -> type:
    return type(f"TemplateFree{widget_class.__name__}", (TemplateFreeInput, widget_class), {})


def _plain_input(widget) -> bool:
    """An <input> rendered by Django's input.html alone (checkbox, number, text, hidden…), by a class
    that keeps Django's own render()."""
    if type(widget).render is not forms.Widget.render:
        return False
    return isinstance(widget, Input | forms.CheckboxInput) and widget.template_name in (
        "django/forms/widgets/input.html",
        "django/forms/widgets/checkbox.html",
        "django/forms/widgets/number.html",
        "django/forms/widgets/text.html",
        "django/forms/widgets/hidden.html",
    )


class TemplateFreeLists:
    """ModelAdmin mixin: the action checkboxes and list_editable inputs of a change list, template-free."""

    def action_checkbox(self, obj):
        """ModelAdmin.action_checkbox's markup (its column header is the change list's own)."""
        label = format_html(_("Select this object for an action - {}"), str(obj))
        attrs = {"class": "action-select", "aria-label": label}
        name, value = helpers.ACTION_CHECKBOX_NAME, str(obj.pk)
        return input_html({"type": "checkbox", "name": name, "value": value, "attrs": attrs})

    def get_changelist_form(self, request, **kwargs):
        form_class = super().get_changelist_form(request, **kwargs)

        class TemplateFreeForm(form_class):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                for field in self.fields.values():  # the form's own copies of the widgets
                    if _plain_input(field.widget) and not isinstance(field.widget, TemplateFreeInput):
                        field.widget.__class__ = template_free(type(field.widget))

        TemplateFreeForm.__name__ = form_class.__name__
        return TemplateFreeForm
