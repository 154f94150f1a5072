"""Admin for the suppression list that outlives erasure: found by typing the address, never listed by it.

The rows hold only hashes, so the search box hashes what is typed (an address) and looks that up.
Deleting a row lets the address sign up again (a person fixed their mailbox and asked to come back);
rows are never added or edited here.
"""

from django.contrib import admin

from .addresses import InvalidAddress, normalise_email
from .models import SuppressedAddress
from .suppression import address_hashes


@admin.register(SuppressedAddress)
class SuppressedAddressAdmin(admin.ModelAdmin):
    list_display = ("__str__", "suppressed_at", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("address_hash",)  # shows the search box; get_search_results does the lookup
    search_help_text = "Type the whole email address: only its hash is stored."

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        try:
            address = normalise_email(search_term)
        except InvalidAddress:
            return queryset.none(), False
        return queryset.filter(address_hash__in=address_hashes(address)), False
