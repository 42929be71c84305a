#!/usr/bin/env python3
"""zenml-platform command line: `python cli.py --help` (also installed as the `zenml-platform` console script)."""

from cli_app.main import main

if __name__ == "__main__":
    main()
