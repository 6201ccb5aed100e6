"""Errors shared by tasks across apps."""


class TransientError(Exception):
    """A failure worth retrying later (network blip, 5xx, rate limit).

    Tasks built on ``hms_site.celery.HmsTask`` retry these automatically with
    the project's one finite back-off policy; any other exception fails the task.
    """

    def __init__(self, message: str = "", *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after
