from django.urls import path

from . import views

app_name = "subscriptions"

urlpatterns = [
    path("", views.home, name="home"),
]
