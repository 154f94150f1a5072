"""Change-list inputs built without templates are the inputs Django's templates build."""

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin.options import ModelAdmin

from config.admin_lists import TemplateFreeLists, template_free
from papers.models import Topic

_ODD = 'Ada "<b>" & Lovelace\'s'


@pytest.mark.parametrize(
    "widget, value, attrs",
    [
        (forms.CheckboxInput(), True, {"id": "id_form-0-active"}),
        (forms.CheckboxInput(), False, {"id": "id_form-0-active", "class": "x"}),
        (forms.CheckboxInput(), "on", {}),
        (forms.NumberInput(attrs={"min": 0}), 7, {"id": "id_form-0-display_order"}),
        (forms.NumberInput(), None, {"required": True, "disabled": False}),
        (forms.TextInput(attrs={"placeholder": _ODD}), _ODD, {"aria-label": _ODD}),
        (forms.HiddenInput(), 42, {"id": "id_form-0-id"}),
    ],
)
def test_template_free_inputs_render_what_djangos_templates_render(widget, value, attrs):
    fast = template_free(type(widget))(attrs=widget.attrs)
    assert str(fast.render("form-0-field", value, attrs)) == str(widget.render("form-0-field", value, attrs))


def test_the_action_checkbox_is_djangos_markup():
    row = type("Row", (), {"pk": 17, "__str__": lambda self: _ODD})()
    plain = ModelAdmin(Topic, admin.site)
    ours = type("Ours", (TemplateFreeLists, ModelAdmin), {})(Topic, admin.site)
    assert str(ours.action_checkbox(row)) == str(plain.action_checkbox(row))


@pytest.mark.django_db
def test_every_registered_admin_has_template_free_lists_and_list_edits_still_save(admin_client):
    assert all(isinstance(model_admin, TemplateFreeLists) for model_admin in admin.site._registry.values())
    topic = Topic.objects.create(slug="lists-test", name="Lists test", display_order=5, active=True)
    page = admin_client.get("/admin/papers/topic/").content.decode()
    assert f'name="_selected_action" value="{topic.pk}" class="action-select"' in page
    rows = list(Topic.objects.order_by("display_order", "name"))
    data = {"form-TOTAL_FORMS": str(len(rows)), "form-INITIAL_FORMS": str(len(rows)), "_save": "Save"}
    for n, row in enumerate(rows):
        data[f"form-{n}-id"] = str(row.pk)
        data[f"form-{n}-display_order"] = str(row.display_order)
        if row.active:
            data[f"form-{n}-active"] = "on"
    position = rows.index(topic)
    data[f"form-{position}-display_order"] = "9"
    data.pop(f"form-{position}-active")
    assert admin_client.post("/admin/papers/topic/", data).status_code == 302
    topic.refresh_from_db()
    assert (topic.display_order, topic.active) == (9, False)
