"`python -m false_labels ...` runs the `false-labels` command."
import sys
from false_labels.cli import main

if __name__ == "__main__": sys.exit(main())
