"""Run the tap as `python -m tap_cloudcommands`."""

from tap_cloudcommands.tap import main

main()
