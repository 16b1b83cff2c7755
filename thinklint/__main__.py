from __future__ import annotations

from thinklint.cli import main

if __name__ == "__main__":
    main()
