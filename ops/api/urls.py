from rest_framework.routers import SimpleRouter

from ops.api.audit import AuditEntryViewSet
from ops.api.notifications import NotificationViewSet

router = SimpleRouter()
router.register("audit", AuditEntryViewSet, basename="audit")
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = router.urls
