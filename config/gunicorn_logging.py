"""gunicorn's logger with secrets out of the access and error logs (see ``config.logredact``)."""

from gunicorn.glogging import Logger

from .logredact import install_on, redact


class RedactingGunicornLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        install_on(self.error_log)
        install_on(self.access_log)

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if isinstance(value, str):
                atoms[key] = redact(value)
        atoms["u"] = "-"  # the HTTP Basic user name (a key prefix or tenant slug)
        return atoms
