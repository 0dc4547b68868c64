"""`python -m kms_connect` runs the same entry point as the console script."""

from kms_connect.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
