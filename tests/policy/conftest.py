"""The pack's modules import as the CLI imports them: from policy/ on sys.path."""

import sys

from tests.policy.support import POLICY_DIR

if str(POLICY_DIR) not in sys.path:
    sys.path.insert(0, str(POLICY_DIR))
