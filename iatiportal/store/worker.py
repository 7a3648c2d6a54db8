"""Entry point of a parsing worker: ``python -m iatiportal.store.worker`` (see produce.py).

A module of its own so that what the worker pickles is named after ``produce``, not
``__main__``.
"""

from iatiportal.store.produce import worker_main

worker_main()
