import importlib
import importlib.util

from django.apps import AppConfig, apps


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from . import app_panels, inbound_cache, receivers

        receivers.connect()
        inbound_cache._connect_signals()
        app_panels.register()
        # Each ATS app under integrations registers its provider in its own ``provider`` module.
        for app_config in apps.get_app_configs():
            if app_config.name.startswith(self.name + "."):
                module = f"{app_config.name}.provider"
                if importlib.util.find_spec(module) is not None:
                    importlib.import_module(module)
