"""E-mail through Django's mail backend (``EMAIL_URL``): the target lists the recipients."""

import smtplib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email

from ops.channels.base import ChannelError, ChannelKind, Message


def recipients(target: str) -> list[str]:
    return [address.strip() for address in target.replace(";", ",").split(",") if address.strip()]


class EmailChannel(ChannelKind):
    kind = "email"
    label = "E-mail"

    def validate(self, channel) -> dict[str, str]:
        addresses = recipients(channel.target)
        if not addresses:
            return {"target": "List one or more e-mail addresses, separated by commas."}
        bad = []
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            return {"target": f"Not an e-mail address: {', '.join(bad)}."}
        return {}

    def send(self, channel, message: Message) -> dict:
        to = recipients(channel.target)
        domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
        message_id = f"<{message.marker}@{domain}>"
        subject = message.subject or message.text.splitlines()[0][:120]
        email = EmailMessage(
            subject=subject,
            body=message.text,
            to=to,
            headers={"Message-ID": message_id, "X-HMS-Notification": message.marker},
            connection=get_connection(timeout=message.timeout()),
        )
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(f"{a} ({c} {r!r})" for a, (c, r) in exc.recipients.items())
            raise ChannelError(f"recipients refused: {refused}", permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            raise ChannelError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=exc.smtp_code >= 500
            ) from exc
        except TimeoutError as exc:
            raise ChannelError(
                f"SMTP timeout: {exc}", permanent=False, maybe_delivered=True
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"SMTP: {type(exc).__name__}: {exc}", permanent=False) from exc
        return {"recipients": to, "message_id": message_id}
