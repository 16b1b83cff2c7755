"""Fixing: fixes come from the rules (pure edits on a record's JSON paths); this package applies
them in rounds (`apply`), writes files back in their own format (`writers`, `jsontext`), shows
diffs (`diff`) and runs the whole for `thinklint check --fix/--diff` (`run`)."""
