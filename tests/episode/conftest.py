# The prescription fixtures (a consultation in progress with Zhang Lin, writing and signing)
# serve the episode tests too.
from tests.prescriptions.conftest import formulary, line, room, write  # noqa: F401
