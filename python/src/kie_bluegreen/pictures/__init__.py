"""Pictures of the routing: the design note's Canary-0..3 drawn from a command's JSON result.

diagram.py reads the result into rules, destinations and arrows (pure); svg.py and mermaid.py
draw them; page.py makes the self-contained HTML report (one result, or a build's timeline);
command.py holds `kie-bluegreen report` and the `--output html|mermaid` renderings.
"""
