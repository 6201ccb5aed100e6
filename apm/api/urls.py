from django.urls import path
from rest_framework.routers import SimpleRouter

from apm.api.escalations import EscalationViewSet, TicketViewSet
from apm.api.maintenance import MaintenanceWindowViewSet
from apm.api.policies import EscalationPolicyViewSet
from apm.api.review import ExplanationViewSet, ProgramReviewView, ProgramTrailView
from apm.api.routes import RouteViewSet
from apm.api.views import BaselineViewSet, DeviationViewSet, ProgramViewSet

router = SimpleRouter()
router.register("programs", ProgramViewSet, basename="program")
router.register("baselines", BaselineViewSet, basename="baseline")
router.register("deviations", DeviationViewSet, basename="deviation")
router.register("escalations", EscalationViewSet, basename="escalation")
router.register("escalation-policies", EscalationPolicyViewSet, basename="escalation-policy")
router.register("tickets", TicketViewSet, basename="ticket")
router.register("routes", RouteViewSet, basename="route")
router.register("explanations", ExplanationViewSet, basename="explanation")
router.register("maintenance-windows", MaintenanceWindowViewSet, basename="maintenance-window")

urlpatterns = [
    *router.urls,
    path("programs/<int:pk>/review/", ProgramReviewView.as_view(), name="program-review"),
    path("programs/<int:pk>/trail/", ProgramTrailView.as_view(), name="program-trail"),
]
