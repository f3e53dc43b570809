"""The Q-scorer: ghost rewards, offline Q-regression, the ``q_scorer`` controller, evaluation.

Modules are imported directly (``zerodte.qscorer.ghosts``, ``.dataset``, ``.train``,
``.controller``, ``.evaluate``, ``.compare``, ``.optimize``, ``.pipeline``) so that the
controller can be used without importing torch. Importing ``zerodte.qscorer.controller``
registers ``q_scorer`` with :mod:`zerodte.policy.controllers.registry`, and so does
:func:`zerodte.qscorer.registration.register`, without importing the controller until it is
built. See docs/qscorer.md.
"""
