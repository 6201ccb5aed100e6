from rest_framework.routers import SimpleRouter

from apm.api.views import BaselineViewSet, DeviationViewSet, ProgramViewSet

router = SimpleRouter()
router.register("programs", ProgramViewSet, basename="program")
router.register("baselines", BaselineViewSet, basename="baseline")
router.register("deviations", DeviationViewSet, basename="deviation")

urlpatterns = router.urls
