"""The compiled build of gochan's hot modules (mypyc), when the install could compile it.

``setup.py`` compiles copies of ``gochan/_waiter.py``, ``_registry.py``, ``_chan.py``,
``_select.py`` and ``_aio.py`` into this package as ``gochan._native._chan`` and so
on, plus ``_about`` (what compiled them). Nothing here is imported directly:
``gochan/_build.py`` installs the compiled modules under the pure modules' names
at import, unless ``GOCHAN_PURE=1``. In a pure install this package holds only
this file.
"""
