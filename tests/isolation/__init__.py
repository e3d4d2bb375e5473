"""The isolation property test's reference rules, one module per domain (<domain>.py).

The model (tests/reference_model.py) is loaded first: it joins the domains' RULES, which
take their rules from it.
"""

from tests import reference_model as reference_model
