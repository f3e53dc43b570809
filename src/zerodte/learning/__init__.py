"""QThink: the learning loop over closed trades (docs/learning.md).

Modules (import them directly):

* :mod:`~zerodte.learning.regret` -- the seven regret scores and their formulas
* :mod:`~zerodte.learning.labels` -- labels, penalty points, setup archetypes
* :mod:`~zerodte.learning.assess` -- outcome assessment and agent attribution of a run
* :mod:`~zerodte.learning.run_inputs` -- a run's recorded inputs rebuilt from its directory
* :mod:`~zerodte.learning.journal` -- the per-run journals and the memory triggers
* :mod:`~zerodte.learning.reinforce` -- agent weights and time-block penalties, versioned
* :mod:`~zerodte.learning.loop` -- what ``zerodte learn regret | apply | report`` call
* :mod:`~zerodte.learning.effect` -- the measured effect of the weights on the consensus
"""
