"""gunicorn's logger with secrets out of the access and error logs (see ``config.logredact``)."""

import re

from gunicorn.glogging import Logger

from .logredact import install_on, redact


class RedactingGunicornLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        install_on(self.error_log)
        install_on(self.access_log)
        # The atoms the access log format prints: only these are redacted (gunicorn offers one per
        # request header and environ variable too, which are never written: redacting every one of
        # them on every request was measurable under load).
        self._printed_atoms = {
            key.lower() if key.startswith("{") else key  # header atoms are looked up lowercased
            for key in re.findall(r"%\((.*?)\)s", cfg.access_log_format or "")
        }

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        printed = getattr(self, "_printed_atoms", None)
        for key, value in atoms.items():
            if isinstance(value, str) and (printed is None or key in printed):
                atoms[key] = redact(value)
        atoms["u"] = "-"  # the HTTP Basic user name (a key prefix or tenant slug)
        return atoms
