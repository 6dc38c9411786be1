"""Fixed, test-only credentials the emulators accept by default.

They open nothing real: the emulators listen on 127.0.0.1 only.
"""

from __future__ import annotations

EMULATOR_TAT_SECRET_ID = "AKIDEMULATOR0000000000000000000000"
EMULATOR_TAT_SECRET_KEY = "emulator-secret-key"
EMULATOR_AWS_ACCESS_KEY_ID = "AKIAEMULATOR00000000"
EMULATOR_AWS_SECRET_ACCESS_KEY = "emulator-aws-secret-access-key-0000000000"
# The account of the default keys above (AWS), and the main account UIN of the
# default Tencent SecretId; added accounts get their own (add_account).
EMULATOR_AWS_ACCOUNT_ID = "123456789012"
EMULATOR_TENCENT_ACCOUNT_ID = "100000000001"
