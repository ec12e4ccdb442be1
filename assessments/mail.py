"""E-mail backends of our own: Django's console backend with the links masked."""

import copy

from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend

from .sms import mask_links


class MaskedConsoleEmailBackend(ConsoleEmailBackend):
    """``EMAIL_URL=consolemail://``: e-mails printed with every link shown as its host only (an
    invitation's link is the candidate's credential; a terminal's scrollback is a log). The body
    and its alternatives are masked before encoding, so no line wrap can split a link."""

    def write_message(self, message):
        masked = copy.copy(message)
        masked.body = mask_links(message.body) if isinstance(message.body, str) else message.body
        if getattr(message, "alternatives", None):
            masked.alternatives = [
                type(alt)(mask_links(alt.content) if isinstance(alt.content, str) else alt.content, alt.mimetype)
                for alt in message.alternatives
            ]
        super().write_message(masked)
