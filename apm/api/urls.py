from rest_framework.routers import SimpleRouter

from apm.api.escalations import EscalationViewSet, TicketViewSet
from apm.api.policies import EscalationPolicyViewSet
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

urlpatterns = router.urls
