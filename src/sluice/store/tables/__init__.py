"""Every control-plane table. Each room of the code base adds its own module here.

Modules are imported automatically, so ``Base.metadata`` is always complete
(Alembic autogenerate and the schema-drift test rely on it).
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
