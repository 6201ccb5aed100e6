from django.urls import path

from ops import views

app_name = "ops_pages"

urlpatterns = [
    path("war-room/", views.war_room, name="war-room"),
    path("war-room/state.json", views.war_room_state, name="war-room-state"),
]
