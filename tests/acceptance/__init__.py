"""The seeds' own scenarios end to end: the mini-exercise, the section-8 playbook, the checklist."""
